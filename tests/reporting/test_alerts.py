"""Alerts by email and to a Slack-compatible webhook (a real local HTTP server): what broke,
since when and where to fix it; at most once an hour; one "resolved" when it ends."""

from __future__ import annotations

import http.server
import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from reporting import alerts
from reporting.models import AlertKind, AlertSettings, AlertState, CostRecord
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook():
    """A local HTTP server that keeps the JSON bodies posted to it."""
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secretpart", received
    server.shutdown()


@pytest.fixture
def paused(app):
    integration = factories.make_integration(
        app,
        is_active=True,
        needs_attention=True,
        attention_reason="TikTok refused the access token (40105)",
        attention_since=timezone.now() - timedelta(minutes=30),
    )
    return integration


def settings_for(app, url="", kinds=(AlertKind.DELIVERIES_PAUSED,)):
    return alerts.save_alert_settings(
        app, emails=["ops@example.com"], kinds=list(kinds), webhook_url=url, forget_webhook=False
    )


def test_paused_deliveries_alert_by_email_and_webhook_with_the_fix_link(app, paused, webhook):
    url, received = webhook
    assert alerts.check_app(settings_for(app, url)) == 1
    [body] = received
    assert "Deliveries to TikTok" in body["text"] and "40105" in body["text"]
    assert "since" in body["text"]
    assert f"/apps/{app.app_id}/integrations/{paused.pk}/" in body["text"]
    [email] = mail.outbox
    assert email.to == ["ops@example.com"] and email.body == body["text"]


def test_an_alert_repeats_at_most_hourly_and_its_end_is_announced_once(app, paused, webhook):
    url, received = webhook
    alert_settings = settings_for(app, url)
    now = timezone.now()
    alerts.check_app(alert_settings, now)
    assert alerts.check_app(alert_settings, now + timedelta(minutes=5)) == 0
    assert alerts.check_app(alert_settings, now + timedelta(minutes=65)) == 1
    assert received[-1]["text"].startswith("Still: ")
    paused.needs_attention = False
    paused.save()
    assert alerts.check_app(alert_settings, now + timedelta(minutes=70)) == 1
    assert received[-1]["text"].startswith("Resolved: ")
    assert alerts.check_app(alert_settings, now + timedelta(minutes=75)) == 0
    assert len(received) == 3
    assert AlertState.objects.get().resolved_at is not None


def test_a_kind_switched_off_sends_nothing(app, paused, webhook):
    url, received = webhook
    assert alerts.check_app(settings_for(app, url, kinds=[AlertKind.EVENTS_STOPPED])) == 0
    assert received == [] and mail.outbox == []


def test_spend_without_clicks_points_at_the_attribution_link(app, webhook):
    url, received = webhook
    integration = factories.make_integration(app, is_active=True)
    CostRecord.objects.create(
        app=app, media_source="tiktokweb_int", stat_date=timezone.now().date(),
        advertiser_id="7012345678901234568", campaign_id="1", currency="USD",
        spend=Decimal("120.00"), pulled_at=timezone.now(),
    )  # fmt: skip
    alerts.check_app(settings_for(app, url, kinds=[AlertKind.SPEND_WITHOUT_CLICKS]))
    assert "is the attribution link on the ads" in received[0]["text"]
    assert f"/{integration.pk}/attribution-link/" in received[0]["text"]
    factories.make_touchpoint(app, media_source="tiktokweb_int")
    alerts.check_app(AlertSettings.objects.get(app=app), timezone.now() + timedelta(minutes=5))
    assert received[-1]["text"].startswith("Resolved: ")


def test_a_failing_webhook_is_tried_again_and_its_address_is_not_logged(app, paused, caplog):
    alert_settings = alerts.save_alert_settings(
        app, emails=[], kinds=[AlertKind.DELIVERIES_PAUSED],
        webhook_url="http://127.0.0.1:9/hooks/very-secret-path", forget_webhook=False,
    )  # fmt: skip
    assert alerts.check_app(alert_settings) == 0
    assert AlertState.objects.get().last_sent_at is None  # not announced: tried next run
    assert "very-secret-path" not in caplog.text


def test_the_alerts_page_never_shows_the_webhook_back(client, app, admin_user, marketer):
    client.force_login(admin_user)
    url = reverse("reporting:alerts", args=[app.app_id])
    response = client.post(
        url,
        {
            "kinds": [AlertKind.DELIVERIES_PAUSED, AlertKind.DEAD_LETTERS],
            "emails": "ops@example.com\n",
            "webhook_url": "https://hooks.example.com/services/T1/B2/abcdefgh1234",
        },
    )
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "abcdefgh1234" not in page and "••••" in page
    stored = AlertSettings.objects.get(app=app)
    assert stored.webhook_url.reveal().endswith("abcdefgh1234")
    bad = client.post(url, {"emails": "not an address", "kinds": []})
    assert bad.status_code == 400
    client.force_login(marketer)
    assert client.get(url).status_code == 403
