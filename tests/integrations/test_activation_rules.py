"""Activation rules on the Integration tab: a cost-only partner activates with nothing else to
fill in, and an active integration cannot be saved without what forwarding needs."""

from __future__ import annotations

from django.urls import reverse

from integrations.models import AuditEntry, Partner, Pixel
from tests import factories
from tests.integrations.test_setup_pages import settings_post

TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"
PIXEL = "CQ8RT3JC77U4D5MLS2A0"


def tab_url(integration):
    return reverse(
        "integrations:setup", args=[integration.app.app_id, integration.pk, "integration"]
    )


def test_a_cost_only_partner_activates_from_the_integration_tab(client, app, marketer):
    integration = factories.make_integration(app, "tiktokglobal_int")
    client.force_login(marketer)
    page = client.get(tab_url(integration)).content.decode()
    assert "Pixel ID" not in page and "Access token" not in page
    assert "In-app event postbacks" not in page
    response = client.post(tab_url(integration), {"settings-is_active": "on"})
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.is_active and integration.activated_at is not None
    assert AuditEntry.objects.filter(integration=integration).exists()


def test_an_app_partner_without_the_events_api_keeps_its_hidden_settings(client, app, marketer):
    """Partners are rows: an app partner that only reports cost shows no Events API section,
    so saving its tab must leave the App ID and view-through it cannot show alone."""
    Partner.objects.create(
        media_source="tiktokappcost_int",
        name="TikTok app cost",
        event_source="app",
        supports_app=True,
        supports_cost=True,
        supports_view_through=True,
        supports_install_postbacks=True,
    )
    integration = factories.make_integration(
        app, "tiktokappcost_int", tiktok_app_id="7301234567890123456", view_through_enabled=True
    )
    client.force_login(marketer)
    assert "TikTok App ID" not in client.get(tab_url(integration)).content.decode()
    response = client.post(tab_url(integration), {"settings-is_active": "on"})
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.is_active
    assert integration.tiktok_app_id == "7301234567890123456"
    assert integration.view_through_enabled
    entry = AuditEntry.objects.get(integration=integration)
    assert set(entry.changes) == {"is_active"}


def _active_web_integration(app):
    integration = factories.make_integration(app, is_active=True)
    factories.make_pixel(integration, pixel_code=PIXEL, access_token=TOKEN)
    return integration


def test_clearing_the_pixel_of_an_active_integration_is_refused(client, app, marketer):
    integration = _active_web_integration(app)
    client.force_login(marketer)
    response = client.post(tab_url(integration), settings_post(**{"settings-pixel_code": ""}))
    assert response.status_code == 400
    errors = response.context["settings_form"].errors
    assert "The active partner needs a pixel ID" in errors["pixel_code"][0]
    assert Pixel.objects.get(integration=integration).pixel_code == PIXEL
    integration.refresh_from_db()
    assert integration.is_active


def test_clearing_the_pixel_while_switching_off_is_allowed(client, app, marketer):
    integration = _active_web_integration(app)
    client.force_login(marketer)
    data = settings_post(**{"settings-pixel_code": ""})
    del data["settings-is_active"]
    response = client.post(tab_url(integration), data)
    assert response.status_code == 302
    integration.refresh_from_db()
    assert not integration.is_active


def test_clearing_the_app_id_of_an_active_app_integration_is_refused(client, app, marketer):
    integration = factories.make_integration(
        app, "bytedanceglobal_int", is_active=True, tiktok_app_id="7301234567890123456"
    )
    factories.make_pixel(integration, pixel_code="", access_token=TOKEN)
    client.force_login(marketer)
    response = client.post(
        tab_url(integration),
        settings_post(
            **{
                "settings-tiktok_app_id": "",
                "settings-install_postbacks": "this_partner",
                "mapping-TOTAL_FORMS": "0",
            }
        ),
    )
    assert response.status_code == 400
    errors = response.context["settings_form"].errors
    assert "The active partner needs a TikTok App ID" in errors["tiktok_app_id"][0]
    integration.refresh_from_db()
    assert integration.tiktok_app_id == "7301234567890123456"


def test_load_default_mapping_keeps_what_was_typed_and_saves_nothing(client, app, marketer):
    integration = _active_web_integration(app)
    client.force_login(marketer)
    typed = settings_post(
        **{
            "settings-pixel_code": "D1FFERENTP1XEL000000",
            "settings-ccpa_limited_data_use": "on",
            "mapping-0-app_event_name": "checkout_done",
            "load_default_mapping": "1",
        }
    )
    response = client.post(tab_url(integration), typed)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="D1FFERENTP1XEL000000"' in html
    assert response.context["settings_form"]["ccpa_limited_data_use"].value() is True
    rows = response.context["mapping_formset"].forms
    assert rows[0]["app_event_name"].value() == "checkout_done"
    assert len(rows) == 19  # the typed row and the 18 defaults (4 of them subscription events)
    assert "Nothing is saved until you press Save integration." in html
    assert "data-start-dirty" in html
    integration.refresh_from_db()
    assert not integration.ccpa_limited_data_use
    assert not integration.mappings.exists()
    assert Pixel.objects.get(integration=integration).pixel_code == PIXEL

    data = response.context["mapping_formset"].data.copy()
    del data["load_default_mapping"]
    assert client.post(tab_url(integration), data).status_code == 302
    assert integration.mappings.count() == 19
    assert integration.mappings.filter(is_enabled=True).count() == 11  # 8 + 3 subscription rows


def test_load_default_mapping_twice_adds_nothing_more(client, app, marketer):
    integration = _active_web_integration(app)
    client.force_login(marketer)
    first = client.post(tab_url(integration), settings_post(load_default_mapping="1"))
    again_data = first.context["mapping_formset"].data.copy()
    again = client.post(tab_url(integration), again_data)
    assert "Every default row is already in the table." in again.content.decode()
    assert len(again.context["mapping_formset"].forms) == len(
        first.context["mapping_formset"].forms
    )
