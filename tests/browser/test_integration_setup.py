"""The marketer's whole walk through TikTok web setup, in Chromium against the live server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from integrations.models import Integration, Pixel
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import ReceivedEvent
from tests import factories
from tests.browser.conftest import log_in, screenshot

PIXEL = "CQ8RT3JC77U4D5MLS2A0"
TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"


@pytest.fixture
def marketer_page(page, app, marketer, tiktok_sandbox):
    state.issue_token(sources=[PIXEL], token=TOKEN)
    log_in(page, marketer.username, factories.PASSWORD)
    return page


def test_marketer_sets_up_tiktok_web_end_to_end(marketer_page, app):
    page = marketer_page
    # Partner Marketplace → search → partner page → Set up integration
    page.goto(f"/apps/{app.app_id}/marketplace/")
    page.get_by_label("Search partners").fill("tiktokweb_int")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="TikTok For Business - Advanced SRN").click()
    page.get_by_role("button", name="Set up integration").click()
    expect(page.get_by_role("heading", name="TikTok For Business - Advanced SRN")).to_be_visible()
    expect(page.locator(".tabs [aria-current=page]")).to_have_text(re.compile("Integration"))

    # Integration tab: activate, pixel, token, postbacks, a Purchase row with the wrong values
    page.get_by_role("checkbox", name="Activate partner").check()
    page.get_by_label("Pixel ID").fill(f"  {PIXEL} ")
    page.get_by_label("Access token").fill(TOKEN)
    page.get_by_role("checkbox", name="In-app event postbacks").check()
    page.get_by_role("button", name="Add event").click()
    row = page.locator("tr.mapping-row").last
    row.get_by_label("App event").fill("purchase")
    row.get_by_label("TikTok event").fill("Purchase")
    row.get_by_label("Including").select_option("values")
    page.get_by_role("button", name="Save integration").click()

    row = page.locator("tr.mapping-row").last
    expect(row.locator(".error")).to_contain_text("Purchase must include values and revenue")
    expect(row.get_by_label("App event")).to_have_value("purchase")
    expect(page.get_by_label("Pixel ID")).to_have_value(re.compile(PIXEL))
    expect(page.locator("#token-dropped")).to_be_visible()
    screenshot(page, "setup-mapping-error")
    assert not Integration.objects.get(app=app).is_active

    # Fix the row, paste the token again, save
    row.get_by_label("Including").select_option("values_and_revenue")
    page.get_by_label("Access token").fill(TOKEN)
    page.get_by_role("button", name="Save integration").click()
    expect(page.get_by_role("status").first).to_contain_text("Integration saved.")

    # Reload: the token is masked, never shown
    page.reload()
    expect(page.locator("#token-saved")).to_contain_text("••••f7a9")
    assert TOKEN not in page.content()
    integration = Integration.objects.get(app=app)
    assert integration.is_active and integration.in_app_postbacks_enabled
    assert Pixel.objects.get(integration=integration).access_token == TOKEN
    assert integration.mappings.get().including == "values_and_revenue"
    screenshot(page, "setup-integration-saved")

    # Send a test event to the TikTok sandbox and read its answer
    page.get_by_label("Test event code").fill("TEST12345")
    page.get_by_role("button", name="Send test event").click()
    result = page.locator("#test-result")
    expect(result).to_contain_text("TikTok accepted the test event")
    expect(result).to_contain_text(re.compile(r"[0-9]{14}[0-9A-F]{20}"))
    expect(page.locator("#test-event-json")).to_contain_text('"test_event_code": "TEST12345"')
    assert ReceivedEvent.objects.get().test_event_code == "TEST12345"
    screenshot(page, "setup-test-event")

    # Attribution link: copy the URL with TikTok's macros
    page.get_by_role("navigation", name="Setup steps").get_by_role(
        "link", name="Attribution link"
    ).click()
    landing = page.locator("#landing-url")
    expect(landing).to_contain_text("pid=tiktokweb_int&c=__CAMPAIGN_NAME__")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy = page.locator("button.copy[data-copy-target=landing-url]")
    copy.click()
    # The button says so once the clipboard holds the text (the write is asynchronous: read
    # before it finished, a loaded machine gave an empty clipboard).
    expect(copy).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == landing.text_content().strip()
    assert copied.startswith("https://shop.example.com/?pid=tiktokweb_int")
    screenshot(page, "setup-attribution-link")


def test_a_rejected_token_shows_the_fix(marketer_page, app):
    integration = factories.make_integration(app, is_active=True)
    factories.make_pixel(integration, pixel_code=PIXEL, access_token="x" * 40)
    page = marketer_page
    page.goto(f"/apps/{app.app_id}/integrations/{integration.pk}/integration/")
    page.get_by_label("Test event code").fill("TEST12345")
    page.get_by_role("button", name="Send test event").click()
    result = page.locator("#test-result")
    expect(result).to_contain_text("40105")
    expect(result).to_contain_text("Generate a new token")


def test_leaving_with_unsaved_changes_asks_first(marketer_page, app):
    integration = factories.make_integration(app)
    page = marketer_page
    page.goto(f"/apps/{app.app_id}/integrations/{integration.pk}/integration/")
    page.get_by_label("Pixel ID").fill("ABC123")
    expect(page.locator("#unsaved-note")).to_be_visible()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.close(run_before_unload=True)
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"]


def test_conditions_are_edited_as_rows_and_saved(marketer_page, app):
    integration = factories.make_integration(app)
    page = marketer_page
    page.goto(f"/apps/{app.app_id}/integrations/{integration.pk}/integration/")
    page.get_by_role("button", name="Add event").click()
    row = page.locator("tr.mapping-row").last
    row.get_by_label("App event").fill("subscribe")
    row.get_by_label("TikTok event").fill("Subscribe")
    row.get_by_role("button", name="+ Condition").click()
    row.get_by_label("Field of the event value").fill("plan")
    row.get_by_label("Value to compare with").fill("pro")
    row.get_by_label("TikTok event").fill("SubscribePro")
    expect(row.locator(".warning")).to_contain_text("cannot be used for campaign optimisation")
    row.get_by_label("TikTok event").fill("Subscribe")
    page.get_by_role("button", name="Save integration").click()
    expect(page.get_by_role("status").first).to_contain_text("Integration saved.")
    assert integration.mappings.get().conditions == [{"field": "plan", "op": "eq", "value": "pro"}]


def test_load_default_mapping_keeps_what_the_marketer_typed(page, app, marketer):
    integration = factories.make_integration(app)
    log_in(page, marketer.username, factories.PASSWORD)
    page.goto(f"/apps/{app.app_id}/integrations/{integration.pk}/integration/")
    page.get_by_label("Pixel ID").fill(PIXEL)
    page.get_by_role("checkbox", name="Limit TikTok's use of personal information (CCPA)").check()
    page.get_by_role("button", name="Load default mapping").click()

    expect(page.get_by_text("Nothing is saved until you press Save integration.")).to_be_visible()
    expect(page.get_by_label("Pixel ID")).to_have_value(PIXEL)
    expect(
        page.get_by_role("checkbox", name="Limit TikTok's use of personal information (CCPA)")
    ).to_be_checked()
    expect(page.locator("tr.mapping-row")).to_have_count(18)
    expect(page.locator("#unsaved-note")).to_be_visible()
    assert not integration.mappings.exists()


def test_enter_in_a_field_saves_instead_of_loading_the_default_mapping(marketer_page, app):
    integration = factories.make_integration(app)
    page = marketer_page
    page.goto(f"/apps/{app.app_id}/integrations/{integration.pk}/integration/")
    page.get_by_label("Pixel ID").fill(PIXEL)
    page.get_by_label("Pixel ID").press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("Integration saved.")
    assert Pixel.objects.get(integration=integration).pixel_code == PIXEL
    assert not integration.mappings.exists()
