"""Web-to-app end to end in Debian's Chromium: a marketer builds the web-to-app link and a
landing page; an iPhone opens the page from a TikTok ad (macros filled in), taps the App Store
button, installs the app from the same IP; the app's trial and purchase reach the website's
TikTok pixel over real HTTP with the ad's ttclid, and Raw data and the Overview show them under
the web campaign. The page passes axe-core's accessibility rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from playwright.sync_api import expect

from events.models import InAppEvent, Install, Touchpoint
from events.services.delivery import deliver_due_postbacks
from integrations.models import LandingPage, Role
from integrations.services.apps import create_app
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import ReceivedEvent
from tests import factories
from tests.browser.conftest import log_in, screenshot
from tests.events.conftest import IPHONE_SAFARI

PIXEL = "CQ8RT3JC77U4D5MLS2A0"
TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"
PHONE_IP = "198.51.100.77"  # the load balancer passes it in X-Forwarded-For
TTCLID = "E.C.P.w2aBrowser"
AD_QUERY = (
    f"pid=tiktokweb_int&ttclid={TTCLID}&c=W2A_Spring_iOS&af_c_id=1780000000077"
    "&af_adset=Runners_US&af_adset_id=1790000000077&af_ad=Video_A&af_ad_id=1800000000077"
)
IMAGE = Path(__file__).resolve().parent / "runner.png"


@pytest.fixture
def web_to_app(transactional_db):
    website, _ = create_app(acting_user=None, app_id="web.runclub", name="Run Club web",
                            platform="web", website_url="https://run.example.com/",
                            domains=["https://run.example.com"])  # fmt: skip
    iphone_app, key = create_app(acting_user=None, app_id="id1453847291", name="Run Club",
                                 platform="ios", store_id="1453847291")  # fmt: skip
    web = factories.make_integration(
        website, "tiktokweb_int", is_active=True, in_app_postbacks_enabled=True
    )
    factories.make_pixel(web, pixel_code=PIXEL, access_token=TOKEN)
    factories.make_mapping(web, app_event_name="start_trial", partner_event_name="StartTrial")
    factories.make_mapping(web, app_event_name="purchase", partner_event_name="Purchase",
                           including="values_and_revenue")  # fmt: skip
    marketer = factories.make_user("mia-marketer")
    factories.make_membership(marketer, website, Role.ADMIN)
    factories.make_membership(marketer, iphone_app, Role.ADMIN)
    return website, iphone_app, key, web, marketer


def test_a_web_ad_to_a_landing_page_to_the_app_store_sends_the_apps_events_to_the_pixel(
    browser, page, live_server, tiktok_sandbox, web_to_app
):
    website, iphone_app, key, web, marketer = web_to_app
    state.issue_token(sources=[PIXEL], token=TOKEN)
    log_in(page, marketer.username, factories.PASSWORD)

    # The website links its iPhone app; its Attribution link tab gives the web-to-app link.
    page.goto(f"/apps/{website.app_id}/settings/")
    page.get_by_label("Linked iOS app").select_option(label=str(iphone_app))
    page.get_by_role("button", name="Save app").click()
    expect(page.get_by_text("App saved.")).to_be_visible()
    page.goto(f"/apps/{website.app_id}/integrations/{web.pk}/attribution-link/")
    page.get_by_label("App via store (web-to-app)").check()
    expect(page.locator("#web-link-heading")).to_be_hidden()
    smart_link = page.locator("#web-to-app-link")
    expect(smart_link).to_contain_text("/tiktokweb_int/app?ttclid=__CALLBACK_PARAM__")
    expect(page.get_by_text("Name web-to-app campaigns so they say so")).to_be_visible()

    # A landing page, built in the browser, published.
    page.goto(f"/apps/{website.app_id}/landing-pages/")
    page.get_by_label("Slug").fill("run-spring")
    page.get_by_label("Headline").fill("Run further this spring")
    page.get_by_label("Text").fill("Training plans for every pace.\n\nFree for seven days.")
    page.get_by_label("Image", exact=True).set_input_files(str(IMAGE))
    page.get_by_label("Image description").fill("A runner on a coastal path at dawn")
    page.get_by_label("Published").check()
    page.get_by_role("button", name="Save page").click()
    expect(page.get_by_text("/p/run-spring/ published.")).to_be_visible()
    expect(page.locator("#landing-preview")).to_contain_text("Run further this spring")
    screenshot(page, "landing-page-builder")

    # An iPhone opens the page from the ad; a load balancer forwards its address.
    with override_settings(NUM_PROXIES=1):
        phone = browser.new_context(
            base_url=live_server.url,
            user_agent=IPHONE_SAFARI,
            extra_http_headers={"X-Forwarded-For": PHONE_IP},
            viewport={"width": 390, "height": 844},
        )
        phone.route("https://apps.apple.com/**", lambda route: route.fulfill(
            status=200, content_type="text/html", body="<title>App Store</title>"))  # fmt: skip
        visitor = phone.new_page()
        visitor.goto(f"/p/run-spring/?{AD_QUERY}")
        expect(visitor.get_by_role("heading", name="Run further this spring")).to_be_visible()
        _no_accessibility_violations(visitor)
        screenshot(visitor, "landing-page-iphone")
        visitor.get_by_role("link", name="Download on the App Store").click()
        visitor.wait_for_url("https://apps.apple.com/app/id1453847291")
        phone.close()

    click = Touchpoint.objects.get(app=iphone_app)
    assert (click.ttclid, click.campaign, click.ip) == (TTCLID, "W2A_Spring_iOS", PHONE_IP)

    # The app reports its install and two events through the API.
    api = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    now = timezone.now().isoformat()
    install = {
        "device_id": "runner-77",
        "ip": PHONE_IP,
        "user_agent": "RunClub/4.12 CFNetwork/1494.0.7 Darwin/23.3.0",
        "installed_at": now,
    }
    events = {"events": [
        {"event_id": "trial-77", "event_name": "start_trial", "device_id": "runner-77",
         "event_time": now},
        {"event_id": "buy-77", "event_name": "purchase", "device_id": "runner-77",
         "event_time": now, "revenue": 59.99, "currency": "USD"},
    ]}  # fmt: skip
    for path, body in (("installs", install), ("events/batch", events)):
        response = api.post(f"/api/v1/apps/{iphone_app.app_id}/{path}", json.dumps(body),
                            content_type="application/json", **headers)  # fmt: skip
        assert response.status_code in (200, 201, 202), response.content
    assert Install.objects.get(device_id="runner-77").campaign == "W2A_Spring_iOS"
    deliver_due_postbacks()
    received = {event.event: event for event in ReceivedEvent.objects.all()}
    assert set(received) == {"StartTrial", "Purchase"}
    for event in received.values():
        assert (event.event_source, event.event_source_id) == ("web", PIXEL)
        assert event.payload["user"]["ttclid"] == TTCLID
        assert event.payload["user"]["ip"] == PHONE_IP
    assert received["Purchase"].payload["properties"]["value"] == 59.99
    assert InAppEvent.objects.filter(campaign="W2A_Spring_iOS").count() == 2

    # Raw data and the Overview show them under the web campaign.
    page.goto(f"/apps/{iphone_app.app_id}/reports/raw-data/")
    page.get_by_label("Report").select_option(label="In-app events")
    page.get_by_label("tiktokweb_int").check()
    page.get_by_role("button", name="Show report").click()
    expect(page.locator("#row-count")).to_have_text("2")
    expect(page.locator("#raw-data-preview")).to_contain_text("W2A_Spring_iOS")
    page.goto(f"/apps/{iphone_app.app_id}/reports/overview/")
    row = page.locator("tr", has_text="W2A_Spring_iOS")
    expect(row).to_contain_text("59.99")
    screenshot(page, "web-to-app-overview")
    assert LandingPage.objects.get().is_published


def _no_accessibility_violations(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_the_landing_page_works_without_javascript(browser, live_server, web_to_app):
    website, iphone_app, _key, _web, marketer = web_to_app
    website.ios_app = iphone_app
    website.save(update_fields=["ios_app"])
    from integrations.services.landing_pages import save_landing_page

    save_landing_page(website, None, acting_user=marketer, fields={
        "slug": "no-js", "headline": "Plain links", "media_source": "tiktokweb_int",
        "show_app_store": True, "is_published": True,
    })  # fmt: skip
    phone = browser.new_context(
        base_url=live_server.url, user_agent=IPHONE_SAFARI, java_script_enabled=False
    )
    phone.route("https://apps.apple.com/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<title>App Store</title>"))  # fmt: skip
    visitor = phone.new_page()
    visitor.goto(f"/p/no-js/?{AD_QUERY}")
    visitor.get_by_role("link", name="Download on the App Store").click()
    visitor.wait_for_url("https://apps.apple.com/app/id1453847291")
    phone.close()
    assert Touchpoint.objects.get(app=iphone_app).ttclid == TTCLID
