"""The marketer connects TikTok for Business in Chromium against the sandbox: OAuth consent,
advertisers, Save cost, the 7-day pull, the All Cost report; and the ways a connect fails."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import override_settings
from playwright.sync_api import expect
from social_django.models import UserSocialAuth

from integrations.models import CostConnection, CostPull
from integrations.tiktok.sandbox import marketing
from reporting.models import CostRecord
from tests import factories
from tests.browser.conftest import log_in, screenshot

APP_SECRET = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"


@pytest.fixture
def cost_page(page, app, marketer, tiktok_sandbox, live_server):
    integration = factories.make_integration(app, "tiktokglobal_int")
    with override_settings(
        TIKTOK_APP_ID="7301234567890123457",
        TIKTOK_APP_SECRET=APP_SECRET,
        COST_RETRY_BACKOFF=[0],
        PUBLIC_BASE_URL=live_server.url,  # TikTok sends the browser back here
    ):
        log_in(page, marketer.username, factories.PASSWORD)
        page.goto(f"/apps/{app.app_id}/integrations/{integration.pk}/cost/")
        yield page, integration


def test_marketer_connects_tiktok_and_sees_a_week_of_cost(cost_page, app, caplog):
    caplog.set_level(logging.DEBUG)
    page, integration = cost_page
    callbacks = []
    page.on(
        "request",
        lambda r: (
            callbacks.append(r.url) if urlparse(r.url).path.startswith("/oauth/complete/") else None
        ),
    )
    page.get_by_role("checkbox", name="Get cost data").check()
    page.get_by_role("button", name="Log in to TikTok For Business").click()

    # TikTok's consent page (the sandbox): three accounts ticked, the bulk one not
    expect(page.get_by_role("heading", name=re.compile("wants to access"))).to_be_visible()
    page.get_by_role("checkbox", name=re.compile("Trailhead Shop Japan")).uncheck()
    screenshot(page, "cost-consent")
    page.get_by_role("button", name="Approve").click()

    # Back on the Cost tab with the connection and its advertisers
    expect(page.get_by_role("status").first).to_contain_text("Connected")
    card = page.locator(".cost-connection")
    expect(card).to_contain_text("Trailhead Shop UK")
    expect(card).to_contain_text("Europe/London")
    expect(card).not_to_contain_text("Trailhead Shop Japan")
    connection = CostConnection.objects.get(integration=integration)
    token = connection.access_token.reveal()
    assert token and token not in page.content()
    expect(card.locator(".token-hint")).to_have_text("••••" + token[-4:])
    social = UserSocialAuth.objects.get(provider="tiktok-business")
    assert token not in str(social.extra_data)

    page.get_by_role("checkbox", name="Trailhead Shop UK").check()
    page.get_by_role("checkbox", name="Trailhead Shop US").check()
    page.get_by_role("checkbox", name="Get cost data").check()
    page.get_by_role("button", name="Save cost").click()
    expect(page.get_by_role("status").first).to_contain_text("Pulling the last 7 days")
    expect(page.locator(".pulls")).to_contain_text("Succeeded")
    screenshot(page, "cost-connected")
    pull = CostPull.objects.get()
    assert pull.status == CostPull.Status.SUCCEEDED
    assert pull.rows_read > 0

    # All Cost report: 7 days of the two advertisers, totals per currency equal TikTok's
    page.get_by_role("link", name="Open the All Cost report").click()
    expect(page.get_by_role("heading", name="All Cost")).to_be_visible()
    # Each advertiser's week is in its own timezone; widen the range to hold both weeks.
    days = sorted(CostRecord.objects.values_list("stat_date", flat=True).distinct())
    page.get_by_label("From", exact=True).fill(days[0].isoformat())
    page.get_by_label("To", exact=True).fill(days[-1].isoformat())
    page.get_by_role("button", name="Filter").click()
    totals = page.locator("#cost-totals")
    for advertiser_id in ("7012345678901234567", "7012345678901234568"):
        sandbox = marketing.ADVERTISERS[advertiser_id]
        today = sandbox.local_today()
        expected = marketing.totals(advertiser_id, today - timedelta(days=6), today)
        row = totals.locator("tr", has_text=sandbox.currency)
        expect(row).to_contain_text(f"{expected.spend:,.2f}")  # thousands separated
    expect(page.locator("#cost-rows")).to_contain_text("Ad group 1.1")
    screenshot(page, "cost-report")
    assert CostRecord.objects.filter(media_source="tiktokglobal_int").count() > 0

    # A reused authorization code is refused with a clear message
    old_code = parse_qs(urlparse(callbacks[0]).query)["auth_code"][0]
    page.goto(f"/apps/{app.app_id}/integrations/{integration.pk}/cost/")
    page.get_by_role("button", name="Log in to TikTok For Business").click()
    fresh_state = parse_qs(urlparse(page.url).query)["state"][0]
    page.goto(f"/oauth/complete/tiktok-business/?auth_code={old_code}&state={fresh_state}")
    expect(page.get_by_role("status").first).to_contain_text("already used or has expired")
    assert CostConnection.objects.filter(integration=integration).count() == 1
    assert token not in caplog.text


def test_an_unknown_code_is_refused_with_tiktoks_reason(cost_page):
    page, integration = cost_page
    page.get_by_role("button", name="Log in to TikTok For Business").click()
    fresh_state = parse_qs(urlparse(page.url).query)["state"][0]
    page.goto(f"/oauth/complete/tiktok-business/?code=not-a-code&state={fresh_state}")
    expect(page.get_by_role("status").first).to_contain_text("TikTok refused the authorization")
    expect(page).to_have_url(re.compile(r"/cost/$"))
    assert not CostConnection.objects.exists()


def test_declining_on_tiktok_changes_nothing(cost_page):
    page, integration = cost_page
    page.get_by_role("button", name="Log in to TikTok For Business").click()
    page.get_by_role("button", name="Decline").click()
    expect(page.get_by_role("status").first).to_contain_text("You declined")
    expect(page).to_have_url(re.compile(r"/cost/$"))
    assert not CostConnection.objects.exists()


def test_a_callback_with_a_wrong_state_is_refused(cost_page):
    page, integration = cost_page
    page.get_by_role("button", name="Log in to TikTok For Business").click()
    page.goto("/oauth/complete/tiktok-business/?auth_code=abc&state=forged")
    expect(page.get_by_role("status").first).to_contain_text("did not match")
    assert not CostConnection.objects.exists()


def test_a_broken_connection_asks_to_reconnect(cost_page, marketer):
    page, integration = cost_page
    connection = CostConnection.objects.create(
        integration=integration,
        label="Agency account",
        access_token="x" * 40,
        status=CostConnection.Status.BROKEN,
        last_error="40105: Access token is incorrect or has been revoked.",
    )
    page.reload()
    card = page.locator(f"#connection-card-{connection.pk}")
    expect(card.locator(".reconnect")).to_contain_text("Reconnect")
    expect(card).to_contain_text("40105")
    expect(card.get_by_role("button", name="Pull now")).to_have_count(0)
    assert "x" * 40 not in page.content()
    screenshot(page, "cost-reconnect")
