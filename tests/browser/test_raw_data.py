"""The analyst's seed flow in the browser: filter raw data by media_source = tiktokweb_int,
preview, export, and get the same file through the Pull API with a token made on the profile."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import requests
from django.utils import timezone
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import log_in, screenshot


def test_an_analyst_filters_previews_exports_and_pulls_the_same_file(
    page, live_server, app, analyst
):
    moment = timezone.now() - timedelta(hours=2)
    factories.make_event(
        app,
        event_time=moment,
        media_source="tiktokweb_int",
        campaign="Spring",
        ttclid="E.C.P.browser",
        revenue=Decimal("42.5"),
        currency="USD",
    )
    factories.make_event(app, event_time=moment, media_source="organic", event_name="view")

    log_in(page, analyst.username, factories.PASSWORD)
    page.goto(f"/apps/{app.app_id}/reports/raw-data/")
    page.get_by_label("tiktokweb_int").check()
    page.get_by_text("Additional fields").click()
    page.get_by_label("TikTok Click ID").check()
    page.get_by_role("button", name="Show report").click()
    expect(page.locator("#row-count")).to_have_text("1")
    preview = page.locator("#raw-data-preview")
    expect(preview).to_contain_text("E.C.P.browser")
    expect(preview).to_contain_text("42.5")
    expect(preview).not_to_contain_text("organic")
    screenshot(page, "raw-data-preview")

    with page.expect_download() as download_info:
        page.locator("#export-csv").click()
    exported = Path(download_info.value.path()).read_bytes()
    assert exported.count(b"\n") == 2
    api_url = page.locator("#pull-api-url").inner_text()

    page.get_by_role("link", name="API tokens").first.click()
    page.get_by_label("Name").fill("Notebook")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token-value").inner_text()
    pulled = requests.get(api_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert pulled.status_code == 200
    assert pulled.content == exported
