"""Every page that lists an app's integrations, for each role: who may open it, and whose
integrations they see. A partner user sees its own partner's integration only: another
partner's name or state never appears, not even in an event's "Why?" explanation."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from events.models import Postback
from integrations.models import Partner
from tests import factories

OWN = "TikTok For Business - Advanced SRN"  # tiktokweb_int, Dave's partner
RIVAL = "Rival Ads Network"
COST = "TikTok For Business - Web cost"  # tiktokglobal_int
EVERYONE = {OWN, RIVAL, COST}
PERSONAS = ["admin_user", "marketer", "analyst", "partner_user", "outsider"]


@pytest.fixture
def cast(app, admin_user, marketer, analyst, partner_user, outsider):
    """Three integrations on the app, each with a postback of one event of Dave's media source,
    and Dave granted everything a partner can be granted on these pages."""
    rival = Partner.objects.create(
        media_source="rivalads_int", name=RIVAL, supports_web=True, supports_events_api=True
    )
    own = factories.make_integration(app, "tiktokweb_int", is_active=True)
    other = factories.make_integration(app, rival.media_source, is_active=True)
    cost = factories.make_integration(app, "tiktokglobal_int")
    event = factories.make_event(app, event_id="o-1", media_source="tiktokweb_int")
    for integration in (own, other):
        factories.make_mapping(integration, users_from="all_sources")
        factories.make_postback(integration, event, status=Postback.Status.DELIVERED)
    factories.grant(
        app,
        can_configure_integration=True,
        can_configure_postbacks=True,
        can_view_in_app_events=True,
    )
    return {"own": own, "rival": other, "cost": cost}


def pages(app, cast):
    own = cast["own"].pk
    return {
        "app page": reverse("integrations:app-detail", args=[app.app_id]),
        "active integrations": reverse("integrations:active", args=[app.app_id]),
        "marketplace": reverse("integrations:marketplace", args=[app.app_id]),
        "partner page": reverse("integrations:partner", args=[app.app_id, "tiktokweb_int"]),
        "setup": reverse("integrations:setup", args=[app.app_id, own, "integration"]),
        "deliveries": reverse("events:deliveries", args=[app.app_id, own]),
        "event": reverse("events:event", args=[app.app_id, "o-1"]),
        "event, why": reverse("events:event", args=[app.app_id, "o-1"]) + "?why=1",
    }


# page → persona → (status, the partners whose names the page shows)
MEMBERS_AND_PARTNER = {
    "admin_user": (200, EVERYONE),
    "marketer": (200, EVERYONE),
    "analyst": (200, EVERYONE),
    "partner_user": (200, {OWN}),
    "outsider": (404, set()),
}
ONE_INTEGRATION = {
    "admin_user": (200, {OWN}),
    "marketer": (200, {OWN}),
    "analyst": (403, set()),
    "partner_user": (200, {OWN}),
    "outsider": (404, set()),
}
SETTING_UP = {
    "admin_user": (200, EVERYONE),
    "marketer": (200, EVERYONE),
    "analyst": (403, set()),
    "partner_user": (403, set()),
    "outsider": (404, set()),
}
# The postbacks table lists the partners sent to; the cost partner takes no events.
EVENT = MEMBERS_AND_PARTNER | {
    "admin_user": (200, {OWN, RIVAL}),
    "marketer": (200, {OWN, RIVAL}),
    "analyst": (200, {OWN, RIVAL}),
}
TABLE = {
    "app page": MEMBERS_AND_PARTNER,
    "active integrations": MEMBERS_AND_PARTNER,
    "marketplace": SETTING_UP,
    "partner page": SETTING_UP | {"admin_user": (200, {OWN}), "marketer": (200, {OWN})},
    "setup": ONE_INTEGRATION,
    "deliveries": ONE_INTEGRATION,
    "event": EVENT,
    "event, why": MEMBERS_AND_PARTNER,
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", list(TABLE))
def test_each_role_sees_exactly_its_integrations(client, app, cast, page, persona, request):
    status, shown = TABLE[page][persona]
    client.force_login(request.getfixturevalue(persona))
    response = client.get(pages(app, cast)[page])
    assert response.status_code == status
    body = response.content.decode()
    for name in EVERYONE:
        assert (name in body) == (name in shown), f"{name!r} on the {page} as {persona}"


def test_the_partner_user_reads_why_of_its_own_integration_only(client, app, cast, partner_user):
    client.force_login(partner_user)
    body = client.get(pages(app, cast)["event, why"]).content.decode()
    reasons = re.findall(r"<li><strong>(.*?)</strong>", body)
    assert reasons == [OWN]
    assert "takes no event postbacks" not in body  # the cost partner's state


def test_a_partner_without_an_integration_is_not_told_the_app_has_none(
    client, app, cast, partner_user
):
    why = pages(app, cast)["event, why"]
    cast["own"].delete()
    client.force_login(partner_user)
    body = client.get(why).content.decode()
    assert "The app has no integrations" not in body
    assert "Your partner has no integration on this app." in body
    assert RIVAL not in body


@pytest.mark.parametrize(
    ("persona", "count"),
    [("admin_user", 3), ("marketer", 3), ("analyst", 3), ("partner_user", 1), ("outsider", None)],
)
def test_the_app_list_counts_the_integrations_each_role_sees(
    client, app, cast, persona, count, request
):
    client.force_login(request.getfixturevalue(persona))
    body = client.get(reverse("integrations:app-list")).content.decode()
    counts = re.findall(r'<td class="num">(\d+)</td>', body)
    assert counts == ([] if count is None else [str(count)])


def test_a_partner_user_who_is_also_a_member_elsewhere_counts_all_there(
    client, app, cast, partner_user
):
    shop = factories.make_app(name="Dave's own shop")
    factories.make_membership(partner_user, shop, "marketer")
    factories.make_integration(shop, "tiktokweb_int")
    factories.make_integration(shop, "rivalads_int")
    client.force_login(partner_user)
    body = client.get(reverse("integrations:app-list")).content.decode()
    rows = re.findall(r'">([^<]+)</a></td>.*?<td class="num">(\d+)</td>', body, re.DOTALL)
    assert dict(rows) == {"Trailhead shop": "1", "Dave&#x27;s own shop": "2"}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("url_name", ["reporting:raw-data", "reporting:overview"])
def test_report_filters_offer_each_role_only_its_media_sources(
    client, app, cast, url_name, persona, request
):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse(url_name, args=[app.app_id]))
    assert response.status_code == (404 if persona == "outsider" else 200)
    body = response.content.decode()
    assert ("rivalads_int" in body) == (persona in {"admin_user", "marketer", "analyst"})
