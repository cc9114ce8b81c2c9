"""An admin sets up alerts in the browser; when TikTok (the sandbox, over real HTTP) refuses
the pixel's token, deliveries pause and the alert reaches the mail outbox and a local webhook."""

from __future__ import annotations

import http.server
import json
import threading

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from events.models import Postback
from events.services.delivery import deliver_due_postbacks
from integrations.models import AppMembership, Role
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import Fault
from reporting import alerts
from tests import factories
from tests.browser.conftest import log_in, screenshot

PIXEL = "CQ8RT3JC77U4D5MLS2A0"
TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T1/B2/hook", received
    server.shutdown()


def test_a_revoked_token_pauses_deliveries_and_the_alert_arrives(
    page, tiktok_sandbox, transactional_db, webhook
):
    url, received = webhook
    app = factories.make_app(app_id="web.trailhead", name="Trailhead shop")
    admin = factories.make_user("ada")
    AppMembership.objects.create(user=admin, app=app, role=Role.ADMIN)
    integration = factories.make_integration(app, is_active=True, in_app_postbacks_enabled=True)
    factories.make_pixel(integration, pixel_code=PIXEL, access_token=TOKEN)
    state.issue_token(sources=[PIXEL], token=TOKEN)

    log_in(page, "ada", factories.PASSWORD)
    page.goto(f"/apps/{app.app_id}/alerts/")
    page.get_by_label("Deliveries paused: TikTok refused the credentials").check()
    page.get_by_label("Email to").fill("ops@example.com")
    page.get_by_label("Webhook URL").fill(url)
    page.get_by_role("button", name="Save alerts").click()
    expect(page.get_by_text("Alert settings saved.")).to_be_visible()
    expect(page.locator("#webhook-hint")).to_contain_text("••••")

    state.add_fault(PIXEL, Fault.Kind.REVOKED_TOKEN, remaining=5)
    factories.make_postback(integration, factories.make_event(app), next_attempt_at=timezone.now())
    deliver_due_postbacks()
    integration.refresh_from_db()
    assert integration.needs_attention
    assert Postback.objects.get().status != Postback.Status.DELIVERED

    assert alerts.check_all_apps() == 1
    [email] = mail.outbox
    assert email.to == ["ops@example.com"] and "Deliveries to TikTok" in email.body
    [hook] = received
    assert "Deliveries to TikTok" in hook["text"] and "Fix it here" in hook["text"]
    page.goto(f"/apps/{app.app_id}/alerts/")
    expect(page.locator("#open-alerts")).to_contain_text("Deliveries paused")
    screenshot(page, "alerts-open")
