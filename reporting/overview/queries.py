"""The overview's GROUP BY queries: cost per key and day, and our installs and revenue per key
and day, read from the daily rollup on PostgreSQL and from the raw rows elsewhere.

Each returns a few thousand aggregated groups at most, whatever the number of raw rows.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from events.models import InAppEvent, Install, SessionDay
from integrations.policy import AppAccess
from reporting.models import AttributionDay, CostRecord
from reporting.overview.filters import LEVEL_FIELDS, Filters, cost_sources_for

Groups = list[dict[str, Any]]


def uses_rollup() -> bool:
    """The triggers that keep `AttributionDay` exist on PostgreSQL only."""
    return connection.vendor == "postgresql"


def costs_in_range(access: AppAccess, filters: Filters) -> QuerySet[CostRecord]:
    """Cost rows of the range and media sources, before the drill-down."""
    costs = CostRecord.objects.filter(
        app=access.app, stat_date__range=(filters.date_from, filters.date_to)
    )
    if access.media_source is not None:
        costs = costs.filter(media_source__in=cost_sources_for([access.media_source]))
    if filters.media_sources:
        costs = costs.filter(media_source__in=cost_sources_for(filters.media_sources))
    return costs


def names_of_chosen(costs: QuerySet[CostRecord], filters: Filters) -> dict[str, set[str]]:
    """The names cost rows give the chosen campaign and ad set ids (for breadcrumbs, and for our
    rows that carry only a name)."""
    names: dict[str, set[str]] = {}
    for id_field, name_field, value in (
        ("campaign_id", "campaign", filters.campaign_id),
        ("adset_id", "adset", filters.adset_id),
    ):
        if value:
            names[id_field] = set(
                costs.filter(**{id_field: value})
                .exclude(**{name_field: ""})
                .values_list(name_field, flat=True)
                .distinct()
            )
    return names


def cost_groups(costs: QuerySet[CostRecord], filters: Filters) -> Groups:
    id_field, name_field = LEVEL_FIELDS[filters.level]
    if filters.campaign_id:
        costs = costs.filter(campaign_id=filters.campaign_id)
    if filters.adset_id:
        costs = costs.filter(adset_id=filters.adset_id)
    return list(
        costs.order_by()
        .values("media_source", id_field, "currency", "stat_date")
        .annotate(
            name=Max(name_field),
            spend=Sum("spend"),
            impressions=Sum("impressions"),
            clicks=Sum("clicks"),
            reported_installs=Sum("reported_installs"),
            reported_conversions=Sum("reported_conversions"),
        )
    )


def install_groups(access: AppAccess, filters: Filters, names: dict[str, set[str]]) -> Groups:
    """Our non-reengagement installs per key and day (in the app's timezone), as `count`."""
    id_field, name_field = LEVEL_FIELDS[filters.level]
    if uses_rollup():
        rows = _ours(access, filters, names, _rollup(access, filters).filter(installs__gt=0))
        return list(
            rows.values("media_source", id_field, name_field, "day").annotate(count=Sum("installs"))
        )
    start, end = _day_bounds(access, filters)
    raw = Install.objects.filter(
        app=access.app, is_reengagement=False, installed_at__gte=start, installed_at__lt=end
    )
    return list(
        _ours(access, filters, names, raw)
        .values("media_source", id_field, name_field)
        .annotate(day=TruncDate("installed_at", tzinfo=_zone(access)), count=Count("id"))
    )


def loyal_groups(access: AppAccess, filters: Filters, names: dict[str, set[str]]) -> Groups:
    """Installs of the range (raw rows on both databases) whose users reached the app's loyal
    threshold in sessions, per key, as `count`. The sessions are summed per install in one
    GROUP BY the database joins as a set, not per row."""
    id_field, name_field = LEVEL_FIELDS[filters.level]
    loyal_installs = (
        SessionDay.objects.filter(app=access.app, install__isnull=False)
        .values("install")
        .annotate(total=Sum("sessions"))
        .filter(total__gte=access.app.loyal_after_sessions)
        .values("install")
    )
    start, end = _day_bounds(access, filters)
    installs = Install.objects.filter(
        app=access.app,
        is_reengagement=False,
        installed_at__gte=start,
        installed_at__lt=end,
        pk__in=loyal_installs,
    )
    return list(
        _ours(access, filters, names, installs)
        .values("media_source", id_field, name_field)
        .annotate(count=Count("id"))
    )


def revenue_groups(access: AppAccess, filters: Filters, names: dict[str, set[str]]) -> Groups:
    """Revenue of our non-reengagement events per key, currency and day, as `amount`."""
    id_field, name_field = LEVEL_FIELDS[filters.level]
    if uses_rollup():
        rows = _ours(access, filters, names, _rollup(access, filters).exclude(revenue=0))
        return list(
            rows.values("media_source", id_field, name_field, "currency", "day").annotate(
                amount=Sum("revenue")
            )
        )
    start, end = _day_bounds(access, filters)
    raw = InAppEvent.objects.filter(
        app=access.app,
        is_reengagement=False,
        revenue__isnull=False,
        event_time__gte=start,
        event_time__lt=end,
    )
    return list(
        _ours(access, filters, names, raw)
        .values("media_source", id_field, name_field, "currency")
        .annotate(day=TruncDate("event_time", tzinfo=_zone(access)), amount=Sum("revenue"))
    )


def _rollup(access: AppAccess, filters: Filters) -> QuerySet[AttributionDay]:
    return AttributionDay.objects.filter(
        app=access.app, day__range=(filters.date_from, filters.date_to)
    )


def _ours(
    access: AppAccess, filters: Filters, names: dict[str, set[str]], rows: QuerySet
) -> QuerySet:
    """Our rows (raw or rolled up) the user may see, for the media sources and drill-down.
    Our rows that lack the id match on the name the cost rows give that id."""
    rows = access.scope_to_media_source(rows)
    if filters.media_sources:
        rows = rows.filter(media_source__in=filters.media_sources)
    for id_field, name_field, value in (
        ("campaign_id", "campaign", filters.campaign_id),
        ("adset_id", "adset", filters.adset_id),
    ):
        if not value:
            continue
        match = Q(**{id_field: value})
        if names.get(id_field):
            match |= Q(**{id_field: "", f"{name_field}__in": names[id_field]})
        rows = rows.filter(match)
    return rows.order_by()


def _zone(access: AppAccess) -> ZoneInfo:
    return ZoneInfo(access.app.timezone or "UTC")


def _day_bounds(access: AppAccess, filters: Filters) -> tuple[datetime, datetime]:
    start = datetime.combine(filters.date_from, time.min, tzinfo=_zone(access))
    end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=_zone(access))
    return start, end
