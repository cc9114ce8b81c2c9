"""The figures retention cohorts are built from, per install day and group: installs, users
back on day n and in week n, and revenue per day after install and currency.

On PostgreSQL they come from `CohortDay`, the rollup triggers keep exact on write (a few
thousand rows for any number of installs); elsewhere from the raw rows, which is what the
rollup is checked against.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate

from events.models import InAppEvent, Install, SessionDay
from integrations.policy import AppAccess
from reporting.models import CohortDay

MAX_DAY = 30
MAX_WEEK = 12
MAX_REVENUE_DAY = 7 * MAX_WEEK

CohortKey = tuple[date, str]  # install day, group value


@dataclass
class CohortFigures:
    installs: dict[CohortKey, int] = field(default_factory=dict)
    back_on_day: dict[CohortKey, dict[int, int]] = field(default_factory=dict)
    back_in_week: dict[CohortKey, dict[int, int]] = field(default_factory=dict)
    # (install day, group) → {(days after install, currency): amount}
    revenue: dict[CohortKey, dict[tuple[int, str], Decimal]] = field(default_factory=dict)


def cohort_figures(
    access: AppAccess, filters: dict[str, Any], *, with_revenue: bool
) -> CohortFigures:
    if connection.vendor == "postgresql":
        return _from_rollup(access, filters, with_revenue=with_revenue)
    return _from_rows(access, filters, with_revenue=with_revenue)


def _from_rollup(
    access: AppAccess, filters: dict[str, Any], *, with_revenue: bool
) -> CohortFigures:
    group = filters["group_by"]
    kinds = ["s", "d", "w"] + (["r"] if with_revenue else [])
    rows = CohortDay.objects.filter(
        app=access.app,
        cohort_day__range=(filters["date_from"], filters["date_to"]),
        kind__in=kinds,
        dimension=group,
    )
    if filters.get("media_source"):
        rows = rows.filter(media_source=filters["media_source"])
    rows = access.scope_to_media_source(rows)
    figures = CohortFigures()
    sums = (
        rows.order_by()
        .values_list("cohort_day", "media_source", "value", "kind", "n", "currency")
        .annotate(Sum("users"), Sum("revenue"))
    )
    for cohort_day, media_source, value, kind, n, currency, users, revenue in sums:
        key = (cohort_day, media_source if group == "media_source" else value)
        if kind == "s":
            figures.installs[key] = figures.installs.get(key, 0) + users
        elif kind == "d" and users:
            figures.back_on_day.setdefault(key, {})[n] = users
        elif kind == "w" and users:
            figures.back_in_week.setdefault(key, {})[n] = users
        elif kind == "r" and revenue:
            figures.revenue.setdefault(key, {})[(n, currency)] = revenue
    figures.installs = {key: n for key, n in figures.installs.items() if n}
    return figures


def first_installs(access: AppAccess, filters: dict[str, Any]) -> QuerySet[Install]:
    zone = ZoneInfo(access.app.timezone or "UTC")
    start = datetime.combine(filters["date_from"], time.min, tzinfo=zone)
    end = datetime.combine(filters["date_to"] + timedelta(days=1), time.min, tzinfo=zone)
    installs = Install.objects.filter(
        app=access.app, is_reengagement=False, installed_at__gte=start, installed_at__lt=end
    )
    if filters.get("media_source"):
        installs = installs.filter(media_source=filters["media_source"])
    return access.scope_to_media_source(installs)


def _from_rows(access: AppAccess, filters: dict[str, Any], *, with_revenue: bool) -> CohortFigures:
    zone = ZoneInfo(access.app.timezone or "UTC")
    group = filters["group_by"]
    installs = first_installs(access, filters)
    figures = CohortFigures()
    sizes = (
        installs.annotate(cohort=TruncDate("installed_at", tzinfo=zone))
        .order_by()
        .values_list("cohort", group)
        .annotate(Count("pk"))
    )
    figures.installs = {(cohort, name): n for cohort, name, n in sizes}
    sessions = (
        SessionDay.objects.filter(install__in=installs.values("pk"))
        .annotate(cohort=TruncDate("install__installed_at", tzinfo=zone))
        .values_list("install_id", "cohort", f"install__{group}", "day")
    )
    weeks: dict[CohortKey, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for install_id, cohort, name, day in sessions:
        offset = (day - cohort).days
        if 1 <= offset <= MAX_DAY:
            days = figures.back_on_day.setdefault((cohort, name), {})
            days[offset] = days.get(offset, 0) + 1
        if 1 <= offset <= MAX_REVENUE_DAY:
            weeks[(cohort, name)][(offset - 1) // 7 + 1].add(install_id)
    figures.back_in_week = {
        key: {week: len(users) for week, users in by_week.items()} for key, by_week in weeks.items()
    }
    if with_revenue:
        amounts = (
            InAppEvent.objects.filter(
                install__in=installs.values("pk"), revenue__isnull=False, is_reengagement=False
            )
            .annotate(
                cohort=TruncDate("install__installed_at", tzinfo=zone),
                day=TruncDate("event_time", tzinfo=zone),
            )
            .order_by()
            .values_list("cohort", f"install__{group}", "day", "currency")
            .annotate(Sum("revenue"))
        )
        for cohort, name, day, currency, amount in amounts:
            offset = (day - cohort).days
            if 0 <= offset <= MAX_REVENUE_DAY:
                cell = figures.revenue.setdefault((cohort, name), {})
                cell[(offset, currency)] = cell.get((offset, currency), Decimal(0)) + amount
    return figures
