"""Retention cohorts and loyal users, counted from the daily per-user session rollup
(`events.SessionDay`) joined to each user's first install.

A cohort is the users installed on one day (in the app's timezone) from one media source (or
campaign); day N retention is the share of them with a session N days after that day. A loyal
user had at least the app's `loyal_after_sessions` sessions (AppsFlyer's rule: 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from events.models import SessionDay
from integrations.models import media_source_validator
from integrations.policy import AppAccess
from reporting.cost_report import check_date_range
from reporting.exchange_rates import Rates
from reporting.models import CostRecord
from reporting.overview.filters import COST_MEDIA_SOURCES, cost_sources_for
from reporting.retention_figures import (
    MAX_DAY,
    MAX_WEEK,
    cohort_figures,
    first_installs,
)

LTV_DAYS = (0, 1, 3, 7, 14, 30)  # the LTV table's columns, by day
LTV_WEEKS = (1, 2, 4, 8, 12)  # and by week
GROUPS = {
    "media_source": "Media source",
    "campaign": "Campaign",
    "adset": "Ad set",
    "country_code": "Country",
}
PERIODS = {"day": "Install day (days 1–30)", "week": "Install week (weeks 1–12)"}


class CohortFilterForm(forms.Form):
    date_from = forms.DateField(label="Installed from", widget=forms.DateInput({"type": "date"}))
    date_to = forms.DateField(label="to", widget=forms.DateInput({"type": "date"}))
    media_source = forms.CharField(
        label="Media source", required=False, max_length=64, validators=[media_source_validator]
    )
    group_by = forms.ChoiceField(label="Rows by", choices=list(GROUPS.items()), required=False)
    period = forms.ChoiceField(label="Cohorts by", choices=list(PERIODS.items()), required=False)

    def __init__(self, data: Any, *, access: AppAccess) -> None:
        today = timezone.now().astimezone(ZoneInfo(access.app.timezone or "UTC")).date()
        values = {
            "date_from": (today - timedelta(days=30)).isoformat(),
            "date_to": (today - timedelta(days=1)).isoformat(),
            "group_by": "media_source",
            "period": "day",
        }
        values |= {key: value for key, value in (data or {}).items() if value}
        super().__init__(values)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        check_date_range(self, cleaned)
        cleaned["group_by"] = cleaned.get("group_by") or "media_source"
        cleaned["period"] = cleaned.get("period") or "day"
        return cleaned


@dataclass
class Cohort:
    day: date  # the install day, or the Monday of the install week
    group: str
    installs: int
    retained: list[int | None] = field(default_factory=list)  # day 1..30 or week 1..12
    # Cumulative revenue per installed user (LTV) on the milestones' days, in the app's
    # currency; None where a day has not come or money lacked an exchange rate. Empty without
    # revenue access.
    ltv_milestones: list[Decimal | None] = field(default_factory=list)
    revenue: Decimal | None = None  # all the cohort's revenue so far
    cost: Decimal | None = None  # spend on the cohort's install days, where a cost pull has it

    @property
    def roas(self) -> float | None:
        if self.revenue is None or not self.cost:
            return None
        return float(self.revenue / self.cost)

    @property
    def heat_cells(self) -> list[tuple[float | None, int]]:
        """(rate, shade 0–10) per day, for the heat map's CSS classes (no inline styles)."""
        return [(rate, 0 if rate is None else round(rate * 10)) for rate in self.rates()]

    def rates(self) -> list[float | None]:
        return [
            None if users is None or not self.installs else users / self.installs
            for users in self.retained
        ]


def periods(filters: dict[str, Any]) -> list[int]:
    """The heat map's columns: days 1..30 or weeks 1..12."""
    return list(range(1, (MAX_WEEK if filters["period"] == "week" else MAX_DAY) + 1))


def milestones(filters: dict[str, Any]) -> tuple[int, ...]:
    return LTV_WEEKS if filters["period"] == "week" else LTV_DAYS


def cohorts(
    access: AppAccess,
    filters: dict[str, Any],
    *,
    with_revenue: bool = False,
    with_cost: bool = False,
) -> list[Cohort]:
    zone = ZoneInfo(access.app.timezone or "UTC")
    today = timezone.now().astimezone(zone).date()
    span = 7 if filters["period"] == "week" else 1
    ltv_offsets = [n * span for n in milestones(filters)]
    figures = cohort_figures(
        access, filters, with_revenue=with_revenue, revenue_until=tuple(ltv_offsets)
    )
    costs = _cost_by_cohort(access, filters) if with_revenue and with_cost else None
    result = []
    for start, name in sorted(figures.installs, key=lambda key: (key[0], key[1] or "")):
        installs = figures.installs[(start, name)]
        back = figures.back.get((start, name), {})
        begun = ((today - start).days - 1) // span + 1  # the periods that have begun
        retained: list[int | None] = [
            back.get(n, 0) if n <= begun else None for n in periods(filters)
        ]
        cohort = Cohort(day=start, group=name or "—", installs=installs, retained=retained)
        if with_revenue:
            by_offset = figures.revenue.get((start, name), {})
            cohort.ltv_milestones = _per_user_by(by_offset, ltv_offsets, installs, start, today)
            cohort.revenue = _sum_or_none(by_offset.values())
        if costs is not None:
            days = [start + timedelta(days=n) for n in range(span)]
            cohort.cost = _sum_or_none(costs.get((day, name), Decimal(0)) for day in days)
        result.append(cohort)
    return result


def _sum_or_none(values: Any) -> Decimal | None:
    total = Decimal(0)
    for value in values:
        if value is None:
            return None
        total += value
    return total


def _per_user_by(
    by_offset: dict[int, Decimal | None],
    offsets: list[int],
    installs: int,
    cohort_day: date,
    today: date,
) -> list[Decimal | None]:
    """Revenue per installed user by each of `offsets` days after install (cumulative); None
    where that day has not come, or money before it had no exchange rate."""
    values: list[Decimal | None] = []
    for last in offsets:
        if cohort_day + timedelta(days=last) > today:
            values.append(None)
            continue
        total = _sum_or_none(amount for offset, amount in by_offset.items() if offset <= last)
        values.append(None if total is None else (total / installs).quantize(Decimal("0.01")))
    return values


def _cost_by_cohort(
    access: AppAccess, filters: dict[str, Any]
) -> dict[tuple[date, str], Decimal | None]:
    """Spend per install day and group value, in the app's currency (None where a rate was
    missing). Cost rows are stored under the partner's cost media source; they are shown under
    ours (`COST_MEDIA_SOURCES`)."""
    group = filters["group_by"]
    costs = CostRecord.objects.filter(
        app=access.app, stat_date__range=(filters["date_from"], filters["date_to"])
    )
    scoped = access.media_source or filters.get("media_source")
    if scoped:
        costs = costs.filter(media_source__in=cost_sources_for([scoped]))
    rows = list(costs.order_by().values_list("stat_date", group, "currency").annotate(Sum("spend")))
    if not rows:
        return {}
    days = [row[0] for row in rows]
    rates = Rates(access.app.currency, {row[2] for row in rows}, min(days), max(days))
    result: dict[tuple[date, str], Decimal | None] = {}
    for day, name, currency, spend in rows:
        if group == "media_source":
            name = COST_MEDIA_SOURCES.get(name, name)
        value = rates.convert(spend, currency, day)
        previous = result.get((day, name), Decimal(0))
        result[(day, name)] = None if value is None or previous is None else previous + value
    return result


@dataclass(frozen=True)
class LoyalRow:
    group: str
    installs: int
    loyal: int
    sessions: int

    @property
    def loyal_rate(self) -> float | None:
        return self.loyal / self.installs if self.installs else None


def loyal_users(access: AppAccess, filters: dict[str, Any]) -> list[LoyalRow]:
    """Per group: installs of the range, how many became loyal, and their sessions."""
    group = filters["group_by"]
    threshold = access.app.loyal_after_sessions
    totals = (
        SessionDay.objects.filter(install=OuterRef("pk"))
        .values("install")
        .annotate(sum=Sum("sessions"))
        .values("sum")
    )
    per_install = first_installs(access, filters).annotate(total=Coalesce(Subquery(totals), 0))
    rows = per_install.values(group).annotate(
        installs=Count("pk"),
        loyal=Count("pk", filter=Q(total__gte=threshold)),
        sessions=Sum("total"),
    )
    return sorted(
        (
            LoyalRow(row[group] or "—", row["installs"], row["loyal"], row["sessions"] or 0)
            for row in rows
        ),
        key=lambda r: -r.installs,
    )
