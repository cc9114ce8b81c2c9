"""The partner catalog is present in every freshly migrated database."""

from __future__ import annotations

import pytest

from integrations.catalog import PARTNERS, load_catalog
from integrations.models import Partner, PartnerDefaultMapping, PartnerEvent

pytestmark = pytest.mark.django_db


def test_the_three_tiktok_partners_exist_after_migrate():
    assert set(Partner.objects.values_list("media_source", flat=True)) >= {
        "tiktokweb_int",
        "bytedanceglobal_int",
        "tiktokglobal_int",
    }


def test_tiktok_web_is_a_web_events_partner_without_reengagement():
    web = Partner.objects.get(media_source="tiktokweb_int")
    assert web.name == "TikTok For Business - Advanced SRN"
    assert web.supports_web and web.supports_events_api
    assert not web.supports_reengagement_postbacks
    assert web.event_source == "web"


def test_only_purchase_may_carry_revenue_for_tiktok_web():
    events = PartnerEvent.objects.filter(partner__media_source="tiktokweb_int")
    assert list(events.filter(allows_revenue=True).values_list("name", flat=True)) == ["Purchase"]
    assert events.get(name="Purchase").requires_revenue


def test_current_web_names_come_before_legacy_ones_which_name_their_replacement():
    names = list(
        PartnerEvent.objects.filter(partner__media_source="tiktokweb_int").values_list(
            "name", "is_legacy"
        )
    )
    first_legacy = next(i for i, (_, legacy) in enumerate(names) if legacy)
    assert all(legacy for _, legacy in names[first_legacy:])
    assert (
        PartnerEvent.objects.get(
            partner__media_source="tiktokweb_int", name="CompletePayment"
        ).replacement
        == "Purchase"
    )


def test_app_events_use_appsflyer_identifiers_and_tiktok_api_names():
    events = PartnerEvent.objects.filter(partner__media_source="bytedanceglobal_int")
    assert events.count() == 27
    assert events.get(name="Pay").api_name == "Purchase"
    assert events.get(name="Launch_app").api_name == "LaunchAPP"
    assert events.get(name="InApp_ad_impr").api_name == "InAppADImpr"


def test_app_partner_has_install_postbacks_view_through_cost_and_ad_revenue():
    app_partner = Partner.objects.get(media_source="bytedanceglobal_int")
    assert app_partner.supports_install_postbacks
    assert app_partner.supports_view_through
    assert app_partner.supports_cost
    assert app_partner.supports_ad_revenue


def test_default_web_mapping_has_primary_rows_and_more_events():
    rows = PartnerDefaultMapping.objects.filter(partner__media_source="tiktokweb_int")
    primary = set(rows.filter(is_primary=True).values_list("app_event_name", "partner_event_name"))
    assert ("purchase", "Purchase") in primary
    assert ("install", "Download") in primary
    assert ("register", "CompleteRegistration") in primary
    more = set(rows.filter(is_primary=False).values_list("app_event_name", "partner_event_name"))
    assert ("view_item", "ViewContent") in more
    assert ("search", "Search") in more


def test_loading_the_catalog_again_changes_no_counts():
    before = (Partner.objects.count(), PartnerEvent.objects.count())
    load_catalog(Partner, PartnerEvent, PartnerDefaultMapping)
    assert (Partner.objects.count(), PartnerEvent.objects.count()) == before
    assert Partner.objects.count() == len(PARTNERS)
