from __future__ import annotations

import io

from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot


def test_demo_marketer_logs_in_and_sees_the_apps_list(page, transactional_db):
    call_command("seed_demo", "--days", "1", stdout=io.StringIO())
    log_in(page, "demo-marketer", "signalboard-demo")
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    apps = page.locator("#app-list tbody tr")
    expect(apps).to_have_count(2)
    expect(page.locator("#app-list")).to_contain_text("Trailhead Outfitters (web)")
    screenshot(page, "apps-list")
    page.get_by_role("link", name="Trailhead Outfitters (web)").click()
    expect(page.get_by_role("heading", name="Trailhead Outfitters (web)")).to_be_visible()


def test_a_wrong_password_is_refused_with_a_message(page, transactional_db):
    call_command("seed_demo", "--days", "1", stdout=io.StringIO())
    log_in(page, "demo-marketer", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("did not match")
