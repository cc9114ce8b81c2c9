"""The operations admin keeps the rules of the setup pages: activation needs credentials, mapping
rows follow TikTok's revenue rules, a replaced token resumes deliveries, and every change lands
in the integration's history with secrets masked."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from integrations.models import AuditEntry, EventMapping, Integration, Pixel
from tests import factories

TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"


def form_data(page: Any) -> dict[str, Any]:
    """What the browser would post back unchanged: the main form and every inline formset."""
    data: dict[str, Any] = {}

    def add(form: Any) -> None:
        for bound in form:
            if getattr(bound.field.widget, "render_value", True) is False:
                continue  # a write-only secret input: a browser posts it blank
            value = bound.value()
            if value is None or value is False:
                continue
            data[bound.html_name] = "on" if value is True else value

    add(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        for form in formset.forms:
            add(form)
    return data


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


def change(client: Any, model: str, obj: Any, **edits: Any) -> Any:
    url = reverse(f"admin:integrations_{model}_change", args=[obj.pk])
    data = form_data(client.get(url))
    for name, value in edits.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(url, data)


def test_activating_without_a_pixel_is_refused(staff_client, app):
    integration = factories.make_integration(app)
    response = change(staff_client, "integration", integration, is_active="on")
    assert response.status_code == 200
    assert "To activate, add a pixel ID" in response.content.decode()
    integration.refresh_from_db()
    assert not integration.is_active


def test_a_purchase_row_without_revenue_is_refused(staff_client, app):
    integration = factories.make_integration(app)
    mapping = factories.make_mapping(integration, including="values_and_revenue")
    response = change(staff_client, "eventmapping", mapping, including="no_values")
    assert response.status_code == 200
    assert "must include values and revenue" in response.content.decode()
    mapping.refresh_from_db()
    assert mapping.including == "values_and_revenue"


def test_a_replaced_token_resumes_deliveries_and_is_masked_in_the_history(staff_client, app):
    integration = factories.make_integration(app, is_active=True)
    pixel = factories.make_pixel(integration)
    Integration.objects.filter(pk=integration.pk).update(
        needs_attention=True, attention_code=40105, attention_reason="TikTok refused (40105)."
    )
    response = change(staff_client, "pixel", pixel, access_token=TOKEN)
    assert response.status_code == 302
    integration.refresh_from_db()
    assert not integration.needs_attention
    entry = AuditEntry.objects.get(integration=integration, action="admin.changed")
    assert entry.changes["access_token"][1] == "••••f7a9"
    assert TOKEN not in str(AuditEntry.objects.values_list("changes", "details"))
    history = staff_client.get(
        reverse("integrations:setup", args=[app.app_id, integration.pk, "integration"])
    ).content.decode()
    assert "changed settings in the admin" in history


def test_an_admin_change_to_a_mapping_is_in_the_history(staff_client, app):
    integration = factories.make_integration(app)
    mapping = factories.make_mapping(integration, including="values_and_revenue")
    response = change(staff_client, "eventmapping", mapping, is_enabled=None)
    assert response.status_code == 302
    assert not EventMapping.objects.get(pk=mapping.pk).is_enabled
    entry = AuditEntry.objects.get(integration=integration, action="admin.changed")
    assert entry.changes["is_enabled"] == [True, False]


PIXEL = "CQ8RT3JC77U4D5MLS2A0"


def _active_web_integration(app):
    integration = factories.make_integration(app, is_active=True)
    factories.make_pixel(integration, pixel_code=PIXEL, access_token=TOKEN)
    return integration


def test_clearing_the_pixel_of_an_active_integration_in_its_inline_is_refused(staff_client, app):
    integration = _active_web_integration(app)
    response = change(staff_client, "integration", integration, **{"pixel-0-pixel_code": ""})
    assert response.status_code == 200
    assert "The active partner needs a pixel ID" in response.content.decode()
    assert Pixel.objects.get(integration=integration).pixel_code == PIXEL


def test_deleting_the_pixel_of_an_active_integration_in_its_inline_is_refused(staff_client, app):
    integration = _active_web_integration(app)
    response = change(staff_client, "integration", integration, **{"pixel-0-DELETE": "on"})
    assert response.status_code == 200
    assert "The active partner needs a pixel ID" in response.content.decode()
    assert Pixel.objects.filter(integration=integration).exists()


def test_switching_off_and_clearing_the_pixel_in_the_inline_is_allowed(staff_client, app):
    integration = _active_web_integration(app)
    response = change(
        staff_client, "integration", integration, is_active=None, **{"pixel-0-pixel_code": ""}
    )
    assert response.status_code == 302
    integration.refresh_from_db()
    assert not integration.is_active
    assert Pixel.objects.get(integration=integration).pixel_code == ""


def test_activating_with_the_pixel_typed_in_the_inline_is_allowed(staff_client, app):
    integration = factories.make_integration(app)
    factories.make_pixel(integration, pixel_code="", access_token=TOKEN)
    response = change(
        staff_client, "integration", integration, is_active="on", **{"pixel-0-pixel_code": PIXEL}
    )
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.is_active


def test_clearing_the_pixel_of_an_active_integration_on_the_pixel_page_is_refused(
    staff_client, app
):
    integration = _active_web_integration(app)
    pixel = Pixel.objects.get(integration=integration)
    response = change(staff_client, "pixel", pixel, pixel_code="")
    assert response.status_code == 200
    assert "The active partner needs a pixel ID" in response.content.decode()
    pixel.refresh_from_db()
    assert pixel.pixel_code == PIXEL


def test_clearing_the_app_id_of_an_active_app_integration_is_refused(staff_client, app):
    integration = factories.make_integration(
        app, "bytedanceglobal_int", is_active=True, tiktok_app_id="7301234567890123456"
    )
    factories.make_pixel(integration, pixel_code="", access_token=TOKEN)
    response = change(staff_client, "integration", integration, tiktok_app_id="")
    assert response.status_code == 200
    assert "The active partner needs a TikTok App ID" in response.content.decode()
    integration.refresh_from_db()
    assert integration.tiktok_app_id == "7301234567890123456"


def test_a_malformed_pixel_id_or_token_is_refused_with_the_integration_tabs_words(
    staff_client, app
):
    integration = _active_web_integration(app)
    pixel = Pixel.objects.get(integration=integration)
    response = change(staff_client, "pixel", pixel, pixel_code="CQ8-RT3", access_token="short")
    html = response.content.decode()
    assert "A pixel ID has only letters and digits, e.g. CQ8RT3JC77U4D5MLS2A0." in html
    assert "This does not look like an Events API access token." in html
    pixel.refresh_from_db()
    assert (pixel.pixel_code, pixel.access_token.reveal()) == (PIXEL, TOKEN)


def test_a_malformed_tiktok_app_id_is_refused_with_the_integration_tabs_words(staff_client, app):
    integration = factories.make_integration(app, "bytedanceglobal_int")
    response = change(staff_client, "integration", integration, tiktok_app_id="not-a-number")
    assert "A TikTok App ID is a number, e.g. 7301234567890123456." in response.content.decode()
    integration.refresh_from_db()
    assert integration.tiktok_app_id == ""


def test_an_admin_edit_of_an_app_saves_the_changed_fields_and_is_in_the_apps_history(
    staff_client, app
):
    response = change(staff_client, "app", app, name="Trailhead outdoor shop")
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.name == "Trailhead outdoor shop"
    entry = AuditEntry.objects.get(app=app, action="app.edited")
    assert entry.changes == {"name": ["Trailhead shop", "Trailhead outdoor shop"]}
