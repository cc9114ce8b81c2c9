"""The marketplace, Active Integrations and the setup tabs, as each role meets them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.models import AuditEntry, Integration, Pixel
from tests import factories

TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"
TABS = ["integration", "attribution-link", "permissions"]


@pytest.fixture
def integration(app):
    integration = factories.make_integration(app)
    factories.make_pixel(integration, access_token=TOKEN)
    return integration


def tab_url(integration, tab):
    return reverse("integrations:setup", args=[integration.app.app_id, integration.pk, tab])


def settings_post(**overrides):
    data = {
        "settings-is_active": "on",
        "settings-pixel_code": "CQ8RT3JC77U4D5MLS2A0",
        "settings-access_token": "",
        "postbacks-in_app_postbacks_enabled": "on",
        "postbacks-postback_window_value": "",
        "postbacks-postback_window_unit": "lifetime",
        "mapping-TOTAL_FORMS": "1",
        "mapping-INITIAL_FORMS": "0",
        "mapping-0-app_event_name": "purchase",
        "mapping-0-partner_event_name": "Purchase",
        "mapping-0-users_from": "this_partner",
        "mapping-0-including": "values_and_revenue",
        "mapping-0-conditions": "[]",
        "mapping-0-is_enabled": "on",
    }
    data.update(overrides)
    return data


# persona → expected status per tab
ACCESS = {
    "admin_user": {"integration": 200, "attribution-link": 200, "permissions": 200},
    "marketer": {"integration": 200, "attribution-link": 200, "permissions": 403},
    "analyst": {"integration": 403, "attribution-link": 403, "permissions": 403},
    "partner_user": {"integration": 403, "attribution-link": 403, "permissions": 403},
    "outsider": {"integration": 404, "attribution-link": 404, "permissions": 404},
}


@pytest.mark.parametrize("persona", list(ACCESS))
@pytest.mark.parametrize("tab", TABS)
def test_each_role_gets_exactly_its_tabs(client, integration, persona, tab, request):
    if persona == "partner_user":
        factories.grant(integration.app)  # visible app, but no grant
    client.force_login(request.getfixturevalue(persona))
    assert client.get(tab_url(integration, tab)).status_code == ACCESS[persona][tab]


@pytest.mark.parametrize("persona", ["analyst", "partner_user"])
def test_refused_roles_cannot_save_either(client, integration, persona, request):
    if persona == "partner_user":
        factories.grant(integration.app)
    client.force_login(request.getfixturevalue(persona))
    response = client.post(tab_url(integration, "integration"), settings_post())
    assert response.status_code == 403
    integration.refresh_from_db()
    assert not integration.is_active


def partner_results(client, app, **query) -> str:
    """The result list of the marketplace page (the search form's placeholder names a partner
    too, so only the list counts)."""
    page = client.get(reverse("integrations:marketplace", args=[app.app_id]), query)
    body = page.content.decode()
    start = body.index('id="partner-results"')
    return body[start : body.index("</ul>", start)]


def test_marketplace_finds_tiktok_by_name_and_by_media_source(client, app, marketer):
    client.force_login(marketer)
    by_name = partner_results(client, app, q="TikTok For Business - Advanced SRN")
    assert "tiktokweb_int" in by_name and "bytedanceglobal_int" not in by_name
    by_id = partner_results(client, app, q="tiktokweb_int")
    assert "TikTok For Business - Advanced SRN" in by_id
    assert "bytedanceglobal_int" not in by_id


def test_marketplace_filters_by_capability(client, app, marketer):
    client.force_login(marketer)
    body = partner_results(client, app, capability=["cost", "app"])
    assert "bytedanceglobal_int" in body
    assert "tiktokweb_int" not in body and "tiktokglobal_int" not in body


def test_set_up_integration_creates_it_inactive_and_opens_its_setup(client, app, marketer):
    client.force_login(marketer)
    response = client.post(reverse("integrations:set-up", args=[app.app_id, "tiktokweb_int"]))
    integration = Integration.objects.get(app=app)
    assert not integration.is_active
    assert response["Location"] == reverse(
        "integrations:setup-start", args=[app.app_id, integration.pk]
    )
    assert client.get(response["Location"])["Location"] == tab_url(integration, "integration")


def test_saving_redirects_and_the_token_is_only_ever_masked(client, integration, marketer):
    client.force_login(marketer)
    response = client.post(
        tab_url(integration, "integration"),
        settings_post(**{"settings-access_token": "c" * 36 + "wxyz"}),
    )
    assert response.status_code == 302
    page = client.get(tab_url(integration, "integration")).content.decode()
    assert "c" * 36 not in page
    assert "••••wxyz" in page
    assert Pixel.objects.get(integration=integration).access_token == "c" * 36 + "wxyz"


def test_an_invalid_save_keeps_what_was_typed_and_marks_the_row(client, integration, marketer):
    client.force_login(marketer)
    response = client.post(
        tab_url(integration, "integration"),
        settings_post(
            **{
                "settings-pixel_code": "CQ8RT3JC77",
                "mapping-0-including": "values",
                "mapping-0-app_event_name": "order_completed",
            }
        ),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "must include values and revenue" in page
    assert 'value="order_completed"' in page
    assert 'value="CQ8RT3JC77"' in page
    assert not integration.mappings.exists()
    assert Pixel.objects.get(integration=integration).pixel_code == "CQ8RT3JC77U4D5MLS2A0"


def test_activation_without_credentials_is_explained_next_to_the_toggle(client, app, marketer):
    integration = factories.make_integration(app)
    client.force_login(marketer)
    response = client.post(
        tab_url(integration, "integration"), settings_post(**{"settings-pixel_code": ""})
    )
    assert response.status_code == 400
    assert "To activate, add a pixel ID and an Events API access token first." in (
        response.content.decode()
    )


def test_the_history_panel_shows_who_changed_what(client, integration, marketer):
    client.force_login(marketer)
    client.post(tab_url(integration, "integration"), settings_post())
    page = client.get(tab_url(integration, "integration")).content.decode()
    assert "bob-marketer" in page
    assert "saved the in-app event postbacks" in page


def test_a_partner_granted_configure_integration_edits_settings_but_not_the_mapping(
    client, integration, partner_user
):
    factories.grant(integration.app, can_configure_integration=True)
    factories.make_mapping(integration, app_event_name="sign_up", partner_event_name="Lead")
    client.force_login(partner_user)
    page = client.get(tab_url(integration, "integration")).content.decode()
    assert "You may view the postback mapping but not change it." in page
    response = client.post(
        tab_url(integration, "integration"),
        settings_post(**{"settings-ccpa_limited_data_use": "on"}),
    )
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.ccpa_limited_data_use
    assert list(integration.mappings.values_list("app_event_name", flat=True)) == ["sign_up"]
    # "Load default mapping" is not theirs either: the press saves their settings, no rows.
    client.post(tab_url(integration, "integration"), settings_post(load_default_mapping="1"))
    assert list(integration.mappings.values_list("app_event_name", flat=True)) == ["sign_up"]


def test_permissions_tab_saves_grants(client, integration, admin_user, partner_user):
    client.force_login(admin_user)
    member = partner_user.partner_user
    response = client.post(
        tab_url(integration, "permissions"),
        {
            "acts_as": "both",
            "partner__can_view_in_app_events": "on",
            f"member_{member.pk}__custom": "on",
            f"member_{member.pk}__can_configure_integration": "on",
        },
    )
    assert response.status_code == 302
    own = member.permissions.get()
    assert own.can_configure_integration and not own.can_view_in_app_events
    assert AuditEntry.objects.filter(action="partner.permissions_saved").exists()


def test_attribution_link_tab_saves_parameters(client, integration, marketer):
    client.force_login(marketer)
    response = client.post(
        tab_url(integration, "attribution-link"),
        {
            "link_base_url": "https://shop.example.com/spring",
            "click_lookback_days": "7",
            "param-TOTAL_FORMS": "2",
            "param-INITIAL_FORMS": "0",
            "param-0-key": "pid",
            "param-0-value": "tiktokweb_int",
            "param-1-key": "c",
            "param-1-value": "__CAMPAIGN_NAME__",
        },
    )
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.link_parameters == [["pid", "tiktokweb_int"], ["c", "__CAMPAIGN_NAME__"]]
    page = client.get(tab_url(integration, "attribution-link")).content.decode()
    assert "https://shop.example.com/spring?pid=tiktokweb_int&amp;c=__CAMPAIGN_NAME__" in page


def test_active_integrations_shows_why_one_needs_attention(client, integration, analyst):
    Integration.objects.filter(pk=integration.pk).update(
        needs_attention=True, attention_reason="TikTok rejected the access token (40105)."
    )
    client.force_login(analyst)
    page = client.get(
        reverse("integrations:active", args=[integration.app.app_id])
    ).content.decode()
    assert "Needs attention" in page
    assert "TikTok rejected the access token (40105)." in page


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (40105, "Generate a new token in TikTok Events Manager"),
        (40001, "Generate the token from the same pixel"),
    ],
)
def test_a_paused_integration_says_how_to_fix_its_own_error(
    client, integration, marketer, code, fix
):
    Integration.objects.filter(pk=integration.pk).update(
        needs_attention=True, attention_code=code, attention_reason=f"TikTok refused ({code})."
    )
    client.force_login(marketer)
    app_id = integration.app.app_id
    active = client.get(reverse("integrations:active", args=[app_id])).content.decode()
    setup = client.get(
        reverse("integrations:setup", args=[app_id, integration.pk, "integration"])
    ).content.decode()
    assert fix in active
    assert fix in setup
