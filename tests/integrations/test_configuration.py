"""Setting up an integration: activation, credentials, CCPA, postbacks and their history."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from integrations.models import AuditEntry, EventMapping, Integration, Pixel
from integrations.services import links, mapping, setup
from integrations.services.mapping import MappingRow
from tests import factories

TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"


@pytest.fixture
def integration(app):
    return factories.make_integration(app)


def save_settings(integration, user, **overrides):
    arguments = {
        "is_active": False,
        "settings": {"ccpa_limited_data_use": False},
        "pixel_code": "CQ8RT3JC77U4D5MLS2A0",
        "new_access_token": TOKEN,
    }
    arguments.update(overrides)
    return setup.update_integration_settings(integration, acting_user=user, **arguments)


def test_set_up_creates_the_integration_inactive_once(app, marketer):
    partner = factories.partner("tiktokweb_int")
    first = setup.set_up_integration(app, partner, acting_user=marketer)
    second = setup.set_up_integration(app, partner, acting_user=marketer)
    assert first == second
    assert not first.is_active
    assert Integration.objects.filter(app=app).count() == 1


def test_it_refuses_to_activate_without_pixel_and_token(integration, marketer):
    with pytest.raises(ValidationError) as error:
        save_settings(integration, marketer, is_active=True, pixel_code="", new_access_token="")
    assert "a pixel ID and an Events API access token" in str(error.value)
    integration.refresh_from_db()
    assert not integration.is_active


def test_it_activates_with_a_valid_pixel_and_token(integration, marketer):
    saved = save_settings(integration, marketer, is_active=True, pixel_code="  CQ8RT3JC77  ")
    assert saved.is_active and saved.activated_at
    assert Pixel.objects.get(integration=integration).pixel_code == "CQ8RT3JC77"


def test_it_rejects_a_pixel_id_with_other_characters_and_changes_nothing(integration, marketer):
    with pytest.raises(ValidationError) as error:
        save_settings(integration, marketer, pixel_code="CQ8-RT3 JC77")
    assert "letters and digits" in error.value.message_dict["pixel_code"][0]
    assert not Pixel.objects.filter(integration=integration).exists()


def test_a_blank_token_keeps_the_saved_one(integration, marketer):
    save_settings(integration, marketer)
    save_settings(
        integration, marketer, new_access_token="", settings={"ccpa_limited_data_use": True}
    )
    assert Pixel.objects.get(integration=integration).access_token == TOKEN


def test_ccpa_is_saved(integration, marketer):
    saved = save_settings(integration, marketer, settings={"ccpa_limited_data_use": True})
    assert saved.ccpa_limited_data_use


def test_history_records_the_change_with_the_token_masked(integration, marketer):
    save_settings(integration, marketer)
    entry = AuditEntry.objects.get(integration=integration, action="integration.settings_saved")
    assert entry.actor == marketer
    assert entry.changes["access_token"] == ["", "••••f7a9"]
    assert entry.changes["pixel_code"] == ["", "CQ8RT3JC77U4D5MLS2A0"]
    assert TOKEN not in json.dumps(entry.changes)


def test_a_new_token_clears_needs_attention_so_deliveries_resume(integration, marketer):
    save_settings(integration, marketer)
    Integration.objects.filter(pk=integration.pk).update(
        needs_attention=True, attention_reason="Token revoked", attention_code=40105
    )
    saved = save_settings(integration, marketer, new_access_token="b" * 40)
    assert not saved.needs_attention
    assert saved.attention_reason == ""


def test_saving_the_same_token_again_does_not_clear_needs_attention(integration, marketer):
    save_settings(integration, marketer)
    Integration.objects.filter(pk=integration.pk).update(needs_attention=True)
    assert save_settings(integration, marketer).needs_attention


def test_an_app_partner_needs_a_tiktok_app_id_to_activate(app, marketer):
    ios = factories.make_app(app_id="id1453847291", platform="ios", store_id="1453847291")
    factories.make_membership(marketer, ios, "marketer")
    integration = factories.make_integration(ios, "bytedanceglobal_int")
    with pytest.raises(ValidationError, match="a TikTok App ID"):
        save_settings(integration, marketer, is_active=True, pixel_code=None)
    saved = save_settings(
        integration,
        marketer,
        is_active=True,
        pixel_code=None,
        settings={"tiktok_app_id": "7301234567890123456", "install_postbacks": "all_sources"},
    )
    assert saved.is_active and saved.install_postbacks == "all_sources"


def save_postbacks(integration, user, rows, **settings):
    values = {
        "in_app_postbacks_enabled": True,
        "postback_window_value": None,
        "postback_window_unit": "lifetime",
    }
    values.update(settings)
    return setup.update_postback_settings(integration, acting_user=user, settings=values, rows=rows)


def test_it_saves_the_window_and_mapping(integration, marketer):
    rows = [
        MappingRow("purchase", "Purchase", including="values_and_revenue"),
        MappingRow("sign_up", "CompleteRegistration", users_from="all_sources"),
    ]
    saved = save_postbacks(
        integration, marketer, rows, postback_window_value=7, postback_window_unit="days"
    )
    assert (saved.postback_window_value, saved.postback_window_unit) == (7, "days")
    assert list(
        EventMapping.objects.filter(integration=integration).values_list(
            "app_event_name", "partner_event_name", "users_from"
        )
    ) == [
        ("purchase", "Purchase", "this_partner"),
        ("sign_up", "CompleteRegistration", "all_sources"),
    ]


@pytest.mark.parametrize(("value", "unit"), [(None, "days"), (0, "hours"), (400, "days")])
def test_it_rejects_a_window_out_of_range(integration, marketer, value, unit):
    with pytest.raises(ValidationError, match="Enter 1 to"):
        save_postbacks(
            integration, marketer, [], postback_window_value=value, postback_window_unit=unit
        )


def test_lifetime_clears_the_window_value(integration, marketer):
    saved = save_postbacks(integration, marketer, [], postback_window_value=5)
    assert saved.postback_window_value is None


def test_a_purchase_row_without_revenue_is_refused_and_nothing_changes(integration, marketer):
    factories.make_mapping(
        integration, app_event_name="view_item", partner_event_name="ViewContent"
    )
    rows = [MappingRow("purchase", "Purchase", including="values")]
    with pytest.raises(mapping.MappingRowsInvalid) as error:
        save_postbacks(integration, marketer, rows)
    assert "must include values and revenue" in error.value.row_errors[0]["including"]
    assert list(integration.mappings.values_list("app_event_name", flat=True)) == ["view_item"]
    integration.refresh_from_db()
    assert not integration.in_app_postbacks_enabled


def test_only_purchase_may_carry_revenue_on_tiktok_web(integration, marketer):
    rows = [MappingRow("add_to_cart", "AddToCart", including="values_and_revenue")]
    with pytest.raises(mapping.MappingRowsInvalid) as error:
        save_postbacks(integration, marketer, rows)
    assert "Only Purchase may include revenue" in error.value.row_errors[0]["including"]


def test_duplicate_rows_are_refused_with_the_row_they_repeat(integration, marketer):
    rows = [MappingRow("sign_up", "CompleteRegistration")] * 2
    with pytest.raises(mapping.MappingRowsInvalid) as error:
        save_postbacks(integration, marketer, rows)
    assert error.value.row_errors == {
        1: {"partner_event_name": "Row 1 already maps sign_up to CompleteRegistration."}
    }


def test_custom_event_names_are_allowed(integration, marketer):
    save_postbacks(integration, marketer, [MappingRow("level_up", "ReachedLevel10")])
    assert integration.mappings.get().partner_event_name == "ReachedLevel10"


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ([{"field": "", "op": "eq", "value": "pro"}], "name the field"),
        ([{"field": "plan", "op": "like", "value": "pro"}], "choose an operator"),
        ([{"field": "plan", "op": "eq", "value": ""}], "enter a value"),
        ([{"field": "amount", "op": "gt", "value": "ten"}], "needs a number"),
    ],
)
def test_incomplete_conditions_are_refused(integration, marketer, conditions, message):
    with pytest.raises(mapping.MappingRowsInvalid) as error:
        save_postbacks(
            integration, marketer, [MappingRow("sign_up", "Lead", conditions=conditions)]
        )
    assert message in error.value.row_errors[0]["conditions"]


def test_conditions_are_saved(integration, marketer):
    conditions = [
        {"field": "plan", "op": "eq", "value": "pro"},
        {"field": "amount", "op": "gte", "value": "10"},
    ]
    save_postbacks(
        integration, marketer, [MappingRow("subscribe", "Subscribe", conditions=conditions)]
    )
    assert integration.mappings.get().conditions == conditions


def test_the_history_lists_added_and_removed_rows(integration, marketer):
    save_postbacks(integration, marketer, [MappingRow("sign_up", "CompleteRegistration")])
    save_postbacks(integration, marketer, [MappingRow("register", "CompleteRegistration")])
    entry = AuditEntry.objects.filter(action="integration.postbacks_saved").first()
    removed, added = entry.changes["mapping"]
    assert removed == ["sign_up → CompleteRegistration [this_partner, no_values]"]
    assert added == ["register → CompleteRegistration [this_partner, no_values]"]


def test_default_mapping_turns_primary_rows_on_and_more_events_off(integration):
    rows = {row.app_event_name: row for row, _ in mapping.default_mapping_rows(integration)}
    assert len(rows) == 18  # with the four subscription events (trial, start, conversion, renewal)
    assert rows["purchase"].is_enabled and rows["purchase"].including == "values_and_revenue"
    assert not rows["search"].is_enabled


def test_default_mapping_passes_the_partners_rules(integration, marketer):
    rows = [row for row, _ in mapping.default_mapping_rows(integration)]
    saved = save_postbacks(integration, marketer, rows)
    assert saved.mappings.count() == len(rows)


def test_the_attribution_link_is_saved_with_its_lookbacks(integration, marketer):
    links.update_attribution_link(
        integration,
        acting_user=marketer,
        link_base_url="https://shop.example.com/landing",
        link_parameters=[["pid", "tiktokweb_int"], ["c", "__CAMPAIGN_NAME__"]],
        click_lookback_days=14,
        view_lookback_hours=12,
    )
    integration.refresh_from_db()
    assert integration.link_parameters == [["pid", "tiktokweb_int"], ["c", "__CAMPAIGN_NAME__"]]
    assert (integration.click_lookback_days, integration.view_lookback_hours) == (14, 12)


def test_an_app_partner_cannot_be_activated_on_a_website(app, marketer):
    integration = factories.make_integration(
        app, "bytedanceglobal_int", tiktok_app_id="7301234567890123456"
    )
    factories.make_pixel(integration, pixel_code="")
    with pytest.raises(ValidationError, match="is a website: set up TikTok's web partner"):
        save_settings(integration, marketer, is_active=True, pixel_code=None)
    integration.refresh_from_db()
    assert not integration.is_active
