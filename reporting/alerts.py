"""Alerts: tell an app's team when something breaks, by email and to a webhook (a JSON body with
`text`, which Slack-compatible incoming webhooks accept).

Every few minutes `check_all_apps` works out which conditions hold for each app with alerts on,
then for each condition: announce it when it starts, repeat at most once an hour while it
holds, and announce once that it is resolved when it stops. Each message says what broke,
since when, and where to fix it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max, Sum
from django.urls import reverse
from django.utils import timezone

from events.models import InAppEvent, Postback, Touchpoint
from integrations.models import App, CostConnection, CostPull, Integration
from integrations.secrets import Secret
from reporting.models import AlertKind, AlertSettings, AlertState, CostRecord
from reporting.overview.filters import COST_MEDIA_SOURCES

log = logging.getLogger(__name__)
REPEAT_AFTER = timedelta(hours=1)
WEBHOOK_TIMEOUT = 10
QUIET_FOR = timedelta(hours=24)  # spend without clicks, events stopped


@dataclass(frozen=True)
class Condition:
    kind: str
    subject: str  # what it is about within the app (an integration, a connection), or ""
    message: str
    fix_url: str
    since: datetime


def conditions_of(app: App, now: datetime) -> list[Condition]:
    """Every condition that holds for the app now."""
    found: list[Condition] = []
    base = settings.PUBLIC_BASE_URL
    for integration in Integration.objects.filter(app=app, needs_attention=True).select_related(
        "partner"
    ):
        found.append(
            Condition(
                AlertKind.DELIVERIES_PAUSED,
                f"integration-{integration.pk}",
                f"Deliveries to {integration.partner.name} are paused: "
                f"{integration.attention_reason or 'TikTok refused the credentials'}.",
                base + reverse("integrations:setup-start", args=[app.app_id, integration.pk]),
                integration.attention_since or now,
            )
        )
    dead = (
        Postback.objects.filter(
            integration__app=app,
            status=Postback.Status.DEAD,
            last_attempt_at__gte=now - REPEAT_AFTER,
        )
        .values("integration_id", "integration__partner__name")
        .annotate(first=Max("last_attempt_at"))
    )
    for row in dead:
        found.append(
            Condition(
                AlertKind.DEAD_LETTERS,
                f"integration-{row['integration_id']}",
                f"Postbacks to {row['integration__partner__name']} were dead-lettered in the "
                "last hour: they will not be retried unless you requeue them.",
                base
                + reverse("events:deliveries", args=[app.app_id, row["integration_id"]])
                + "?status=dead",
                row["first"],
            )
        )
    connections = CostConnection.objects.filter(integration__app=app).select_related("integration")
    for connection in connections.exclude(status=CostConnection.Status.REVOKED):
        latest = CostPull.objects.filter(connection=connection).order_by("-queued_at").first()
        failed = latest is not None and latest.status == CostPull.Status.FAILED
        if connection.status == CostConnection.Status.BROKEN or failed:
            found.append(
                Condition(
                    AlertKind.COST_CONNECTION,
                    f"connection-{connection.pk}",
                    f"Cost from {connection.label} "
                    + (
                        "needs reconnecting: TikTok refused its token."
                        if connection.status == CostConnection.Status.BROKEN
                        else f"failed to pull: {connection.last_error or 'see the Cost tab'}."
                    ),
                    base
                    + reverse(
                        "integrations:setup",
                        args=[app.app_id, connection.integration_id, "cost"],
                    ),
                    (latest.finished_at or latest.queued_at) if latest else now,
                )
            )
    found += _spend_without_clicks(app, now, base)
    found += _events_stopped(app, now, base)
    return found


def _spend_without_clicks(app: App, now: datetime, base: str) -> list[Condition]:
    """TikTok spends but our link is not on the ads: cost in the last day, no click of ours."""
    found = []
    yesterday = (now - QUIET_FOR).date()
    spending = (
        CostRecord.objects.filter(app=app, stat_date__gte=yesterday)
        .values("media_source")
        .annotate(spend=Sum("spend"))
        .filter(spend__gt=0)
    )
    for row in spending:
        source = COST_MEDIA_SOURCES.get(row["media_source"], row["media_source"])
        integration = Integration.objects.filter(
            app=app, partner__media_source__in=[source, row["media_source"]], is_active=True
        ).first()
        if integration is None:
            continue
        clicked = Touchpoint.objects.filter(
            app=app, media_source=source, kind="click", occurred_at__gte=now - QUIET_FOR
        ).exists()
        if not clicked:
            found.append(
                Condition(
                    AlertKind.SPEND_WITHOUT_CLICKS,
                    f"source-{source}",
                    f"{source} has spend since {yesterday} but no click reached Signalboard in "
                    "24 hours: is the attribution link on the ads?",
                    base
                    + reverse(
                        "integrations:setup",
                        args=[app.app_id, integration.pk, "attribution-link"],
                    ),
                    now - QUIET_FOR,
                )
            )
    return found


def _events_stopped(app: App, now: datetime, base: str) -> list[Condition]:
    """Events arrived in the week before, but none for a day."""
    last = InAppEvent.objects.filter(app=app, received_at__gte=now - timedelta(days=8)).aggregate(
        last=Max("received_at")
    )["last"]
    if last is None or now - last < QUIET_FOR:
        return []
    return [
        Condition(
            AlertKind.EVENTS_STOPPED,
            "",
            f"No event arrived since {last:%Y-%m-%d %H:%M} UTC: is the SDK or server "
            "integration still sending?",
            base + reverse("reporting:raw-data", args=[app.app_id]),
            last,
        )
    ]


def check_all_apps() -> int:
    """The schedule's task: returns how many alerts were sent."""
    sent = 0
    for alert_settings in AlertSettings.objects.select_related("app").exclude(enabled_kinds=[]):
        sent += check_app(alert_settings)
    return sent


def check_app(alert_settings: AlertSettings, now: datetime | None = None) -> int:
    now = now or timezone.now()
    app = alert_settings.app
    enabled = set(alert_settings.enabled_kinds)
    holding = {(c.kind, c.subject): c for c in conditions_of(app, now) if c.kind in enabled}
    open_states = {
        (s.kind, s.subject): s for s in AlertState.objects.filter(app=app, resolved_at__isnull=True)
    }
    sent = 0
    for key, condition in holding.items():
        state = open_states.get(key)
        if state is None:
            state = AlertState.objects.create(
                app=app,
                kind=condition.kind,
                subject=condition.subject,
                since=condition.since,
                message=condition.message[:500],
            )
        if state.last_sent_at is not None and now - state.last_sent_at < REPEAT_AFTER:
            continue  # at most one alert per condition an hour
        repeat = state.last_sent_at is not None
        text = (
            f"{'Still: ' if repeat else ''}{app.name}: {condition.message} "
            f"(since {state.since:%Y-%m-%d %H:%M} UTC). Fix it here: {condition.fix_url}"
        )
        if _deliver(alert_settings, AlertKind(condition.kind).label, text):
            state.last_sent_at = now
            state.save(update_fields=["last_sent_at"])
            sent += 1
    for key, state in open_states.items():
        if key in holding:
            continue
        with transaction.atomic():
            state.resolved_at = now
            state.save(update_fields=["resolved_at"])
        if state.last_sent_at is not None:  # only what was announced is announced resolved
            text = f"Resolved: {app.name}: {state.message} (from {state.since:%Y-%m-%d %H:%M} UTC)."
            if _deliver(alert_settings, "Resolved: " + AlertKind(state.kind).label, text):
                sent += 1
    return sent


def _deliver(alert_settings: AlertSettings, subject: str, text: str) -> bool:
    """Email and webhook; True when at least one channel took it. Failures are logged without
    the webhook's address (its path is a secret) and tried again on the next run."""
    delivered = False
    if alert_settings.emails:
        try:
            send_mail(
                subject=f"[Signalboard] {subject}",
                message=text,
                from_email=None,
                recipient_list=alert_settings.emails,
            )
            delivered = True
        except Exception as error:  # noqa: BLE001 - a mail server's failure must not stop alerts
            log.warning("Alert email failed: %s", type(error).__name__)
    url = alert_settings.webhook_url.reveal()
    if url:
        try:
            response = requests.post(url, json={"text": text}, timeout=WEBHOOK_TIMEOUT)
            response.raise_for_status()
            delivered = True
        except requests.RequestException as error:
            status = getattr(error.response, "status_code", None)
            log.warning("Alert webhook failed: %s %s", type(error).__name__, status or "")
    return delivered


def save_alert_settings(
    app: App, *, emails: list[str], kinds: list[str], webhook_url: str, forget_webhook: bool
) -> AlertSettings:
    """A blank webhook keeps the stored one (it is never shown back); `forget_webhook` clears it."""
    row, _ = AlertSettings.objects.get_or_create(app=app)
    row.emails = emails
    row.enabled_kinds = kinds
    if forget_webhook:
        row.webhook_url = Secret("")
    elif webhook_url:
        row.webhook_url = Secret(webhook_url)
    row.save()
    return row
