"""Every main page fits a 1366 px wide window: no sideways scrolling of the page itself; wide
tables scroll inside their card with the first column kept in view."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from integrations.models import App, Integration
from tests.browser.conftest import log_in, screenshot

WIDTH = 1366


@pytest.fixture
def demo_page(page, transactional_db):
    call_command("seed_demo", "--days", "3", stdout=io.StringIO())
    page.set_viewport_size({"width": WIDTH, "height": 800})
    log_in(page, "demo-admin", "signalboard-demo")
    return page


def page_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize(
    "path",
    [
        "/apps/{app}/reports/overview/",
        "/apps/{app}/reports/cost/",
        "/apps/{app}/reports/raw-data/",
        "/apps/{app}/reports/protect360/",
        "/apps/{app}/integrations/{integration}/integration/",
        "/apps/{app}/team/",
        "/admin/",
    ],
)
def test_the_page_fits_1366_pixels(demo_page, path):
    app = App.objects.get(app_id="web.trailhead-outfitters")
    integration = Integration.objects.get(app=app, partner__media_source="tiktokweb_int")
    demo_page.goto(path.format(app=app.app_id, integration=integration.pk))
    expect(demo_page.locator("h1")).to_be_visible()
    assert page_overflow(demo_page) <= 0, f"{path} scrolls sideways"
    name = path.strip("/").replace("/", "-").replace("{", "").replace("}", "")
    screenshot(demo_page, f"1366-{name}")


def test_the_overviews_columns_are_all_reachable_with_the_first_column_in_view(demo_page):
    app = App.objects.get(app_id="web.trailhead-outfitters")
    demo_page.goto(f"/apps/{app.app_id}/reports/overview/")
    headers = demo_page.locator("#overview-rows thead th")
    for label in ["Spend", "Installs", "CPI", "IPM", "CPM", "CPC", "CTR", "CTI", "ROAS"]:
        expect(headers.filter(has_text=label).first).to_be_attached()
    first = demo_page.locator("#overview-rows tbody tr td").first
    expect(first).to_be_visible()
