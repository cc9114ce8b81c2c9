"""The Overview in the browser: an analyst opens it, drills into a campaign, reads the chart."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone
from playwright.sync_api import expect

from reporting.models import CostRecord
from tests import factories
from tests.browser.conftest import log_in, screenshot


def test_an_analyst_drills_into_a_campaign_and_sees_the_chart(page, app, analyst):
    now = timezone.now()
    today = now.astimezone(ZoneInfo(app.timezone)).date()
    for adset_id, adset in (("1900000001", "Broad"), ("1900000002", "Lookalike")):
        CostRecord.objects.create(
            app=app,
            media_source="tiktokweb_int",
            stat_date=today,
            advertiser_id="7012345678901234567",
            campaign_id="1800000001",
            campaign="Spring sale",
            adset_id=adset_id,
            adset=adset,
            ad_id=f"2{adset_id}",
            ad="Video",
            currency="USD",
            spend=Decimal("20.00"),
            impressions=2000,
            clicks=40,
            pulled_at=now,
        )
        factories.make_install(
            app,
            media_source="tiktokweb_int",
            campaign="Spring sale",
            campaign_id="1800000001",
            adset=adset,
            adset_id=adset_id,
            installed_at=now - timedelta(minutes=5),
        )
    log_in(page, analyst.username, factories.PASSWORD)
    page.goto(f"/apps/{app.app_id}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    totals = page.locator("#overview-totals")
    expect(totals).to_contain_text("40.00")  # spend
    expect(totals).to_contain_text("20.00")  # CPI: 40 / 2 installs

    page.get_by_role("link", name="Spring sale").click()
    breadcrumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(breadcrumbs.get_by_role("link", name="All campaigns")).to_be_visible()
    expect(breadcrumbs).to_contain_text("Spring sale")
    expect(page.get_by_role("link", name="Lookalike")).to_be_visible()
    chart = page.get_by_role("img", name="Daily installs, spend and revenue")
    expect(chart).to_be_visible()
    expect(page.locator("#overview-chart rect.bar")).to_have_count(7)
    screenshot(page, "overview-drill-down")

    breadcrumbs.get_by_role("link", name="All campaigns").click()
    expect(page.get_by_role("link", name="Spring sale")).to_be_visible()
