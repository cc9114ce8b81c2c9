"""What the Deliveries page reads: counts by status and a filterable list of postbacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from events.models import Postback
from integrations.models import Integration, PartnerEvent

STATUSES = [choice for choice, _ in Postback.Status.choices]


@dataclass(frozen=True)
class StatusCounts:
    label: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def status_counts(integration: Integration, now: datetime | None = None) -> list[StatusCounts]:
    """Postbacks created in the last 24 hours and 7 days, by status, in one query."""
    now = now or timezone.now()
    windows = {"Last 24 hours": now - timedelta(hours=24), "Last 7 days": now - timedelta(days=7)}
    aggregates = {
        f"{index}_{status}": Count("id", filter=Q(status=status, created_at__gte=since))
        for index, since in enumerate(windows.values())
        for status in STATUSES
    }
    row = Postback.objects.filter(integration=integration).aggregate(**aggregates)
    return [
        StatusCounts(label, {status: row[f"{index}_{status}"] for status in STATUSES})
        for index, label in enumerate(windows)
    ]


def postbacks_of(integration: Integration) -> QuerySet[Postback]:
    """The integration's postbacks, each with the catalog's TikTok name for its event
    (`catalog_api_name`), so pages can show the name as sent (`Postback.sent_event_name`)."""
    catalog = PartnerEvent.objects.filter(
        partner_id=integration.partner_id, name=OuterRef("partner_event_name")
    ).values("api_name")[:1]
    return (
        Postback.objects.filter(integration=integration)
        .select_related("event", "install")
        .annotate(catalog_api_name=Subquery(catalog))
    )


def filtered_postbacks(
    integration: Integration,
    *,
    status: str = "",
    event_name: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[Postback]:
    """Newest first. Dates are read in the app's timezone, both ends inclusive."""
    rows = postbacks_of(integration).order_by("-created_at", "-id")
    if status:
        rows = rows.filter(status=status)
    if event_name:
        rows = rows.filter(
            Q(partner_event_name__iexact=event_name)
            | Q(catalog_api_name__iexact=event_name)
            | Q(event__event_name__iexact=event_name)
        )
    zone = ZoneInfo(integration.app.timezone)
    if since:
        rows = rows.filter(created_at__gte=datetime.combine(since, time.min, tzinfo=zone))
    if until:
        rows = rows.filter(
            created_at__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone)
        )
    return rows
