"""The Integration tab's "View-through attribution" switch, from the page to the install: an
install whose only touchpoint is an impression is organic with the switch off and attributed to
the impression with it on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import Install
from integrations.models import Role
from tests import factories

IDFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"


def integration_tab_post(**overrides):
    data = {
        "settings-tiktok_app_id": "7301234567890123456",
        "settings-access_token": "",
        "settings-install_postbacks": "this_partner",
        "postbacks-postback_window_value": "",
        "postbacks-postback_window_unit": "lifetime",
        "mapping-TOTAL_FORMS": "0",
        "mapping-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("is_switched_on", "media_source", "touch_type"),
    [(False, "organic", ""), (True, "bytedanceglobal_int", "impression")],
    ids=["off: organic", "on: the impression wins"],
)
def test_the_switch_decides_whether_an_impression_wins_the_install(
    client, ios_app, is_switched_on, media_source, touch_type
):
    # The integration starts the other way round, so only the page's save can set the switch.
    integration = factories.make_integration(
        ios_app.app, "bytedanceglobal_int", view_through_enabled=not is_switched_on
    )
    marketer = factories.make_user()
    factories.make_membership(marketer, ios_app.app, Role.MARKETER)
    client.force_login(marketer)
    url = reverse("integrations:setup", args=[ios_app.app.app_id, integration.pk, "integration"])
    switch = {"settings-view_through_enabled": "on"} if is_switched_on else {}
    response = client.post(url, integration_tab_post(**switch))
    assert response.status_code == 302, response.content.decode()
    assert ("checked" in _switch_html(client.get(url).content.decode())) is is_switched_on

    factories.make_touchpoint(
        ios_app.app,
        kind="impression",
        media_source="bytedanceglobal_int",
        campaign="APP_Awareness",
        idfa=IDFA,
        occurred_at=timezone.now() - timedelta(hours=3),
    )
    body = ios_app.install({"device_id": "af-1", "idfa": IDFA}).json()
    assert (body["attribution"]["media_source"], body["attribution"]["touch_type"]) == (
        media_source,
        touch_type,
    )
    assert Install.objects.get().media_source == media_source


def _switch_html(page: str) -> str:
    start = page.index('name="settings-view_through_enabled"')
    return page[page.rindex("<input", 0, start) : page.index(">", start)]
