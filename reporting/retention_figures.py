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
from reporting.exchange_rates import Rates

MAX_DAY = 30
MAX_WEEK = 12
MAX_REVENUE_DAY = 7 * MAX_WEEK

CohortKey = tuple[date, str]  # install day, group value


@dataclass
class CohortFigures:
    installs: dict[CohortKey, int] = field(default_factory=dict)
    back: dict[CohortKey, dict[int, int]] = field(default_factory=dict)  # users per day/week n
    # Revenue in the app's currency, at each day's rate, per days after install: by exact day
    # or summed up to each milestone (`revenue_until`); None where a rate was missing.
    revenue: dict[CohortKey, dict[int, Decimal | None]] = field(default_factory=dict)


def cohort_figures(
    access: AppAccess,
    filters: dict[str, Any],
    *,
    with_revenue: bool,
    revenue_until: tuple[int, ...] = (),
) -> CohortFigures:
    """Cohorts by install day, or by install week (keyed by its Monday) when
    `filters["period"]` is "week"; revenue summed by the days after install in
    `revenue_until` (each a bucket's last day; later days up to 84 in one last bucket)."""
    if connection.vendor == "postgresql":
        return _from_rollup(access, filters, with_revenue=with_revenue, until=revenue_until)
    return _from_rows(access, filters, with_revenue=with_revenue)


def _from_rollup(
    access: AppAccess, filters: dict[str, Any], *, with_revenue: bool, until: tuple[int, ...]
) -> CohortFigures:
    """Two GROUP BY queries over the rollup's rows of the grouping shown: counts, and revenue
    converted in the query by each day's rate (passed in as arrays) and summed per bucket."""
    weekly = filters["period"] == "week"
    cohort = "date_trunc('week', r.cohort_day)::date" if weekly else "r.cohort_day"
    name = "r.media_source" if filters["group_by"] == "media_source" else "r.value"
    where = [
        "r.app_id = %s",
        "r.dimension = %s",
        "r.cohort_day BETWEEN %s AND %s",
    ]
    params: list[Any] = [
        access.app.pk, filters["group_by"], filters["date_from"], filters["date_to"],
    ]  # fmt: skip
    for media_source in (filters.get("media_source"), access.media_source):
        if media_source:
            where.append("r.media_source = %s")
            params.append(media_source)
    condition = " AND ".join(where)
    figures = CohortFigures()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {cohort}, {name}, r.kind, r.n, sum(r.users) FROM reporting_cohortday r "  # noqa: S608
            f"WHERE {condition} AND r.kind IN ('s', %s) GROUP BY 1, 2, 3, 4",
            [*params, "w" if weekly else "d"],
        )
        for day, group, kind, n, users in cursor.fetchall():
            if not users:
                continue
            if kind == "s":
                figures.installs[(day, group)] = figures.installs.get((day, group), 0) + int(users)
            else:
                figures.back.setdefault((day, group), {})[n] = int(users)
        if with_revenue:
            figures.revenue = _rollup_revenue(access, filters, cursor, cohort, name, condition,
                                              params, until)  # fmt: skip
    return figures


def _rollup_revenue(
    access: AppAccess,
    filters: dict[str, Any],
    cursor: Any,
    cohort: str,
    name: str,
    condition: str,
    params: list[Any],
    until: tuple[int, ...],
) -> dict[CohortKey, dict[int, Decimal | None]]:
    cursor.execute(
        f"SELECT DISTINCT r.currency FROM reporting_cohortday r WHERE {condition} "  # noqa: S608
        "AND r.kind = 'r'",
        params,
    )
    currencies = sorted(row[0] for row in cursor.fetchall())
    if not currencies:
        return {}
    first = filters["date_from"]
    last = filters["date_to"] + timedelta(days=MAX_REVENUE_DAY)
    rates = Rates(access.app.currency, currencies, first, last)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    table = [
        (currency, day, rates.convert(Decimal(1), currency, day))
        for currency in currencies
        for day in days
    ]
    buckets = sorted(set(until)) or [MAX_REVENUE_DAY]
    bucket = "CASE " + " ".join(f"WHEN r.n <= {end} THEN {end}" for end in buckets)
    bucket += f" ELSE {MAX_REVENUE_DAY} END"
    cursor.execute(
        f"SELECT {cohort}, {name}, {bucket}, sum(r.revenue * rate.factor), "  # noqa: S608
        "bool_or(rate.factor IS NULL) FROM reporting_cohortday r "
        "LEFT JOIN unnest(%s::text[], %s::date[], %s::numeric[]) AS rate(currency, day, factor) "
        "ON rate.currency = r.currency AND rate.day = r.cohort_day + r.n "
        f"WHERE {condition} AND r.kind = 'r' AND r.revenue <> 0 GROUP BY 1, 2, 3",
        [[row[0] for row in table], [row[1] for row in table], [row[2] for row in table], *params],
    )
    revenue: dict[CohortKey, dict[int, Decimal | None]] = {}
    for day, group, end, amount, missing in cursor.fetchall():
        revenue.setdefault((day, group), {})[end] = None if missing else amount
    return revenue


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
    weekly = filters["period"] == "week"
    users: dict[CohortKey, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for install_id, cohort, name, day in sessions:
        offset = (day - cohort).days
        if weekly and 1 <= offset <= MAX_REVENUE_DAY:
            users[(_monday(cohort), name)][(offset - 1) // 7 + 1].add(install_id)
        elif not weekly and 1 <= offset <= MAX_DAY:
            users[(cohort, name)][offset].add(install_id)
    figures.back = {
        key: {n: len(ids) for n, ids in by_period.items()} for key, by_period in users.items()
    }
    if weekly:
        by_week: dict[CohortKey, int] = defaultdict(int)
        for (cohort, name), n in figures.installs.items():
            by_week[(_monday(cohort), name)] += n
        figures.installs = dict(by_week)
    if with_revenue:
        figures.revenue = _raw_revenue(access, installs, group, zone, weekly=weekly)
    return figures


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _raw_revenue(
    access: AppAccess, installs: QuerySet[Install], group: str, zone: ZoneInfo, *, weekly: bool
) -> dict[CohortKey, dict[int, Decimal | None]]:
    """Revenue per cohort and day after install, converted at each day's rate."""
    amounts = list(
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
    if not amounts:
        return {}
    days = [row[2] for row in amounts]
    rates = Rates(access.app.currency, {row[3] for row in amounts}, min(days), max(days))
    revenue: dict[CohortKey, dict[int, Decimal | None]] = {}
    for cohort, name, day, currency, amount in amounts:
        offset = (day - cohort).days
        if not 0 <= offset <= MAX_REVENUE_DAY:
            continue
        value = rates.convert(amount, currency, day)
        cell = revenue.setdefault((_monday(cohort) if weekly else cohort, name), {})
        previous = cell.get(offset, Decimal(0))
        cell[offset] = None if value is None or previous is None else previous + value
    return revenue
