"""What ad revenue the events API received, per day (shown on the Ad revenue tab)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from events.models import InAppEvent
from integrations.models import App

DAYS_SHOWN = 14


def ad_revenue_by_day(app: App, event_name: str) -> list[dict[str, Any]]:
    """Ad-revenue events of the last two weeks by day (app timezone) and currency: either
    flagged as ad revenue, or named like the event the tab maps ad revenue to."""
    zone = ZoneInfo(app.timezone or "UTC")
    since = timezone.now() - timedelta(days=DAYS_SHOWN)
    match = Q(is_ad_revenue=True)
    if event_name:
        match |= Q(event_name=event_name)
    return list(
        InAppEvent.objects.filter(match, app=app, event_time__gte=since)
        .annotate(day=TruncDate("event_time", tzinfo=zone))
        .values("day", "currency")
        .annotate(events=Count("id"), revenue=Sum("revenue"))
        .order_by("-day", "currency")
    )
