"""The web SDK on the demo landing page, in Debian's Chromium against the live server."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from events.models import InAppEvent, Install, Touchpoint
from tests.browser.conftest import screenshot

TTCLID = "E.C.P.browserTest123"
LANDING = (
    "/demo/landing/?pid=tiktokweb_int&c=WEB_Spring_Sale&af_c_id=1780000000010000000"
    f"&ttclid={TTCLID}"
)


@pytest.fixture
def demo(transactional_db: None) -> None:
    call_command("seed_demo", "--days", "1", "--quiet", stdout=io.StringIO())


def test_a_purchase_on_the_landing_page_is_attributed_to_the_tiktok_click(page, demo):
    page.goto(LANDING)
    expect(page.locator("#visit-status")).to_contain_text("attributed to tiktokweb_int")
    page.get_by_role("button", name="Buy now").click()
    expect(page.locator("#order-status")).to_contain_text("attributed to tiktokweb_int")
    screenshot(page, "web-sdk-demo-purchase")

    web_user_id = page.evaluate("window.signalboard.webUserId()")
    event = InAppEvent.objects.get(web_user_id=web_user_id, event_name="purchase")
    assert event.media_source == "tiktokweb_int"
    assert event.ttclid == TTCLID
    assert event.campaign == "WEB_Spring_Sale"
    assert event.revenue == Decimal("29.99")
    # SHA-256 of jane.doe@example.com, as in the TikTok spec's example (§1.8).
    assert event.email_sha256 == "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"


def test_the_visit_records_the_click_and_the_first_visit(page, demo):
    page.goto(LANDING)
    expect(page.locator("#visit-status")).to_contain_text("attributed to tiktokweb_int")
    web_user_id = page.evaluate("window.signalboard.webUserId()")
    touchpoint = Touchpoint.objects.get(web_user_id=web_user_id)
    assert (touchpoint.kind, touchpoint.ttclid, touchpoint.campaign_id) == (
        "click",
        TTCLID,
        "1780000000010000000",
    )
    install = Install.objects.get(device_id=web_user_id)
    assert (install.media_source, install.touchpoint_id) == ("tiktokweb_int", touchpoint.pk)


def test_a_returning_visitor_keeps_the_same_web_user_id(page, demo):
    page.goto(LANDING)
    expect(page.locator("#visit-status")).to_contain_text("attributed")
    first = page.evaluate("window.signalboard.webUserId()")
    page.goto("/demo/landing/")
    expect(page.locator("#visit-status")).to_contain_text("Welcome back")
    assert page.evaluate("window.signalboard.webUserId()") == first
    assert Install.objects.filter(device_id=first).count() == 1


def wait_for(condition, timeout: float = 10.0) -> None:
    """Poll the database until `condition()` holds; the browser sends in the background."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_an_event_sent_while_the_network_fails_is_retried_and_stored_once(page, demo):
    failures = []

    def fail_first_attempt(route):
        if not failures:
            failures.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/api/v1/sdk/*/events", fail_first_attempt)
    page.goto(LANDING)
    expect(page.locator("#visit-status")).to_contain_text("attributed")
    page.get_by_role("button", name="Buy now").click()
    expect(page.locator("#order-status")).to_contain_text("attributed to tiktokweb_int")
    assert len(failures) == 1
    web_user_id = page.evaluate("window.signalboard.webUserId()")
    assert InAppEvent.objects.filter(web_user_id=web_user_id).count() == 1


def test_an_event_tracked_just_before_leaving_the_page_still_arrives(page, demo):
    page.goto(LANDING)
    expect(page.locator("#visit-status")).to_contain_text("attributed")
    web_user_id = page.evaluate("window.signalboard.webUserId()")
    page.evaluate(
        "signalboard.track('sign_up', {event_id: 'leaving-1'}); location.href = '/admin/login/'"
    )
    page.wait_for_url("**/admin/login/**")
    wait_for(lambda: InAppEvent.objects.filter(event_id="leaving-1").exists())
    event = InAppEvent.objects.get(event_id="leaving-1")
    assert (event.web_user_id, event.media_source) == (web_user_id, "tiktokweb_int")


def test_a_purchase_carries_the_tiktok_pixels_ttp_cookie(page, demo, live_server):
    ttp = "2Nq7vKx1Yb0c3Zr8Tt5Ww9Pp4Ll"
    page.context.add_cookies([{"name": "_ttp", "value": ttp, "url": live_server.url}])
    page.goto(LANDING)
    page.get_by_role("button", name="Buy now").click()
    expect(page.locator("#order-status")).to_contain_text("attributed to tiktokweb_int")
    web_user_id = page.evaluate("window.signalboard.webUserId()")
    assert InAppEvent.objects.get(web_user_id=web_user_id, event_name="purchase").ttp == ttp
