"""What `/healthz` and `/metrics` report: read from the database at the moment they are asked,
so every web process answers the same (no per-process counters to add up).

A failing check makes `/healthz` answer 503 with its reason: the database or the task broker
unreachable, the task cluster not running (its every-minute delivery schedule is overdue), or
postbacks due for longer than `STUCK_AFTER` (deliveries stopped). The ages of the last
successful delivery and cost pull are reported as facts: a quiet app is not a broken one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Min, QuerySet, Sum
from django.utils import timezone

HEARTBEAT_SCHEDULE = "Deliver postbacks"  # runs every minute while a cluster is up
HEARTBEAT_LATE_AFTER = timedelta(minutes=3)
STUCK_AFTER = timedelta(minutes=15)
LATENCY_WINDOW = timedelta(minutes=15)


@dataclass
class Health:
    checks: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def is_ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.is_ok else "failing",
            "problems": self.problems,
            "checks": self.checks,
        }


def check_health(now: datetime | None = None) -> Health:
    now = now or timezone.now()
    health = Health()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        health.checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 - any failure to reach it is the answer
        health.checks["database"] = "unreachable"
        health.problems.append(f"database unreachable: {type(error).__name__}")
        return health  # nothing else can be read
    _check_broker(health)
    _check_cluster(health, now)
    _check_deliveries(health, now)
    _report_cost_pulls(health, now)
    _report_event_partitions(health, now)
    return health


def _check_broker(health: Health) -> None:
    from django_q.brokers import get_broker

    try:
        reachable = get_broker().ping()
    except Exception:  # noqa: BLE001
        reachable = False
    health.checks["broker"] = "ok" if reachable else "unreachable"
    if not reachable:
        health.problems.append("task broker unreachable")


def _check_cluster(health: Health, now: datetime) -> None:
    from django_q.models import Schedule

    next_run = (
        Schedule.objects.filter(name=HEARTBEAT_SCHEDULE).values_list("next_run", flat=True).first()
    )
    if next_run is None:
        health.checks["cluster"] = "not scheduled"
        health.problems.append(f"the '{HEARTBEAT_SCHEDULE}' schedule is missing: run migrate")
        return
    overdue = (now - next_run).total_seconds()
    health.checks["cluster"] = {"heartbeat_overdue_seconds": max(0, round(overdue))}
    if now - next_run > HEARTBEAT_LATE_AFTER:
        health.problems.append(
            f"task cluster not running: the every-minute delivery has been due for "
            f"{round(overdue)} s (start `manage.py qcluster`)"
        )


def _check_deliveries(health: Health, now: datetime) -> None:
    from integrations.models import Integration

    due = _due_postbacks(now)
    oldest = due.aggregate(oldest=Min("next_attempt_at"))["oldest"]
    last_ok = Integration.objects.filter(last_delivery_ok=True).aggregate(
        last=Max("last_delivery_at")
    )["last"]
    health.checks["deliveries"] = {
        "oldest_due_seconds": _age(oldest, now),
        "last_success_seconds_ago": _age(last_ok, now),
    }
    if oldest is not None and now - oldest > STUCK_AFTER:
        health.problems.append(f"postbacks due for {_age(oldest, now)} s are not being delivered")


def _report_cost_pulls(health: Health, now: datetime) -> None:
    from integrations.models import CostPull

    last = CostPull.objects.filter(status=CostPull.Status.SUCCEEDED).aggregate(
        last=Max("finished_at")
    )["last"]
    health.checks["cost_pulls"] = {"last_success_seconds_ago": _age(last, now)}


def _report_event_partitions(health: Health, now: datetime) -> None:
    """A fact, not a failure: without next month's partitions rows still land (in the default
    partition), only slower to query and to drop."""
    from django.conf import settings

    from events.services.partitions import months_ready

    health.checks["event_tables"] = {
        "partitioned_months_ready": months_ready(now.date()),
        "retention_months": settings.EVENT_RETENTION_MONTHS or None,
    }


def _age(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else max(0, round((now - moment).total_seconds()))


# --- /metrics ---------------------------------------------------------------------------------


class DatabaseCollector:
    """A prometheus-client collector that reads the figures at scrape time."""

    def collect(self):  # noqa: ANN201 - yields prometheus_client metric families
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        from events.models import InAppEvent, Postback
        from integrations.models import CostPull

        now = timezone.now()
        newest = InAppEvent.objects.aggregate(newest=Max("id"))["newest"] or 0
        events = CounterMetricFamily(
            "signalboard_events_stored",
            "In-app events stored (the highest event row id; ids only grow).",
        )
        events.add_metric([], newest)
        yield events

        postbacks = GaugeMetricFamily(
            "signalboard_postbacks", "Postbacks by status.", labels=["status"]
        )
        counts = dict(
            Postback.objects.values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        for status in Postback.Status.values:
            postbacks.add_metric([status], counts.get(status, 0))
        yield postbacks

        due = _due_postbacks(now).aggregate(depth=Count("id"), oldest=Min("next_attempt_at"))
        depth = GaugeMetricFamily("signalboard_outbox_due", "Postbacks due for delivery now.")
        depth.add_metric([], due["depth"])
        yield depth
        oldest = GaugeMetricFamily(
            "signalboard_outbox_oldest_due_seconds", "Age of the oldest due postback."
        )
        oldest.add_metric([], _age(due["oldest"], now) or 0)
        yield oldest

        yield _latency_quantiles(now)

        rows = CounterMetricFamily(
            "signalboard_cost_rows_pulled", "Cost rows saved by successful and failed pulls."
        )
        rows.add_metric([], CostPull.objects.aggregate(n=Sum("rows_saved"))["n"] or 0)
        yield rows


def _due_postbacks(now: datetime) -> QuerySet:
    """Postbacks waiting to be sent whose time has come. A failed one is settled (TikTok refused
    it for good, a person may requeue it): it is not waiting, however old."""
    from events.models import Postback

    return Postback.objects.filter(status=Postback.Status.PENDING, next_attempt_at__lte=now)


def _latency_quantiles(now: datetime):  # noqa: ANN202 - a prometheus_client metric family
    """Delivery latency (due → delivered) of postbacks delivered in the last 15 minutes, as
    quantile gauges (a histogram's buckets would need counters kept by every process)."""
    from prometheus_client.core import GaugeMetricFamily

    from events.models import Postback

    pairs = Postback.objects.filter(
        status=Postback.Status.DELIVERED, delivered_at__gte=now - LATENCY_WINDOW
    ).values_list("delivered_at", "next_attempt_at")[:100_000]
    latencies = sorted(
        max(0.0, (done - due).total_seconds()) for done, due in pairs if done is not None
    )
    family = GaugeMetricFamily(
        "signalboard_delivery_latency_seconds",
        "Due → delivered time of postbacks delivered in the last 15 minutes.",
        labels=["quantile"],
    )
    for quantile in (0.5, 0.9, 0.99):
        value = (
            latencies[min(len(latencies) - 1, int(quantile * len(latencies)))] if latencies else 0
        )
        family.add_metric([str(quantile)], value)
    return family
