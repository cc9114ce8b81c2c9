"""Retention cohorts and loyal users, counted from the daily per-user session rollup
(`events.SessionDay`) joined to each user's first install.

A cohort is the users installed on one day (in the app's timezone) from one media source (or
campaign); day N retention is the share of them with a session N days after that day. A loyal
user had at least the app's `loyal_after_sessions` sessions (AppsFlyer's rule: 3).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from events.models import InAppEvent, Install, SessionDay
from integrations.models import media_source_validator
from integrations.policy import AppAccess
from reporting.cost_report import check_date_range
from reporting.exchange_rates import Rates

MAX_DAY = 30
LTV_DAYS = (0, 1, 3, 7, 14, 30)  # the LTV table's columns
GROUPS = {"media_source": "Media source", "campaign": "Campaign", "country_code": "Country"}


class CohortFilterForm(forms.Form):
    date_from = forms.DateField(label="Installed from", widget=forms.DateInput({"type": "date"}))
    date_to = forms.DateField(label="to", widget=forms.DateInput({"type": "date"}))
    media_source = forms.CharField(
        label="Media source", required=False, max_length=64, validators=[media_source_validator]
    )
    group_by = forms.ChoiceField(label="Rows by", choices=list(GROUPS.items()), required=False)

    def __init__(self, data: Any, *, access: AppAccess) -> None:
        today = timezone.now().astimezone(ZoneInfo(access.app.timezone or "UTC")).date()
        values = {
            "date_from": (today - timedelta(days=30)).isoformat(),
            "date_to": (today - timedelta(days=1)).isoformat(),
            "group_by": "media_source",
        }
        values |= {key: value for key, value in (data or {}).items() if value}
        super().__init__(values)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        check_date_range(self, cleaned)
        cleaned["group_by"] = cleaned.get("group_by") or "media_source"
        return cleaned


@dataclass
class Cohort:
    day: date
    group: str
    installs: int
    retained: list[int | None] = field(default_factory=list)  # day 1..30; None: not yet
    # Cumulative revenue per installed user (LTV) on days 0..30, in the app's currency; None
    # where a day has not come or money lacked an exchange rate. Empty without revenue access.
    ltv: list[Decimal | None] = field(default_factory=list)

    @property
    def ltv_milestones(self) -> list[Decimal | None]:
        return [self.ltv[day] for day in LTV_DAYS] if self.ltv else []

    @property
    def heat_cells(self) -> list[tuple[float | None, int]]:
        """(rate, shade 0–10) per day, for the heat map's CSS classes (no inline styles)."""
        return [(rate, 0 if rate is None else round(rate * 10)) for rate in self.rates()]

    def rates(self) -> list[float | None]:
        return [
            None if users is None or not self.installs else users / self.installs
            for users in self.retained
        ]


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


def cohorts(
    access: AppAccess, filters: dict[str, Any], *, with_revenue: bool = False
) -> list[Cohort]:
    zone = ZoneInfo(access.app.timezone or "UTC")
    group = filters["group_by"]
    today = timezone.now().astimezone(zone).date()
    installs = first_installs(access, filters)
    sizes = (
        installs.annotate(cohort=TruncDate("installed_at", tzinfo=zone))
        .values("cohort", group)
        .annotate(n=Count("pk"))
    )
    active = (
        SessionDay.objects.filter(install__in=installs.values("pk"))
        .annotate(cohort=TruncDate("install__installed_at", tzinfo=zone))
        .values("cohort", f"install__{group}", "day")
        .annotate(users=Count("install_id", distinct=True))
    )
    retained: dict[tuple[date, str], dict[int, int]] = defaultdict(dict)
    for row in active:
        offset = (row["day"] - row["cohort"]).days
        if 1 <= offset <= MAX_DAY:
            retained[(row["cohort"], row[f"install__{group}"])][offset] = row["users"]
    revenue = _revenue_by_offset(access, installs, group, zone) if with_revenue else {}
    result = []
    for row in sizes.order_by("cohort", group):
        cohort_day, name = row["cohort"], row[group]
        days = retained.get((cohort_day, name), {})
        result.append(
            Cohort(
                day=cohort_day,
                group=name or "—",
                installs=row["n"],
                retained=[
                    None if cohort_day + timedelta(days=n) > today else days.get(n, 0)
                    for n in range(1, MAX_DAY + 1)
                ],
                ltv=_cumulative_per_user(
                    revenue.get((cohort_day, name)), row["n"], cohort_day, today
                )
                if with_revenue
                else [],
            )
        )
    return result


def _revenue_by_offset(
    access: AppAccess, installs: QuerySet[Install], group: str, zone: ZoneInfo
) -> dict[tuple[date, str], dict[int, Decimal | None]]:
    """Revenue of the cohorts' users per day after install, in the app's currency (at each
    day's rate; None for a day whose money could not be converted)."""
    rows = list(
        InAppEvent.objects.filter(
            install__in=installs.values("pk"), revenue__isnull=False, is_reengagement=False
        )
        .annotate(
            cohort=TruncDate("install__installed_at", tzinfo=zone),
            day=TruncDate("event_time", tzinfo=zone),
        )
        .values("cohort", f"install__{group}", "day", "currency")
        .annotate(amount=Sum("revenue"))
    )
    if not rows:
        return {}
    days = [row["day"] for row in rows]
    rates = Rates(access.app.currency, {row["currency"] for row in rows}, min(days), max(days))
    result: dict[tuple[date, str], dict[int, Decimal | None]] = defaultdict(dict)
    for row in rows:
        offset = (row["day"] - row["cohort"]).days
        if not 0 <= offset <= MAX_DAY:
            continue
        amount = rates.convert(row["amount"], row["currency"], row["day"])
        cell = result[(row["cohort"], row[f"install__{group}"])]
        previous = cell.get(offset, Decimal(0))
        cell[offset] = None if amount is None or previous is None else previous + amount
    return result


def _cumulative_per_user(
    by_offset: dict[int, Decimal | None] | None, installs: int, cohort_day: date, today: date
) -> list[Decimal | None]:
    total: Decimal | None = Decimal(0)
    values: list[Decimal | None] = []
    for offset in range(MAX_DAY + 1):
        if cohort_day + timedelta(days=offset) > today:
            values.append(None)
            continue
        amount = (by_offset or {}).get(offset, Decimal(0))
        total = None if total is None or amount is None else total + amount
        values.append(None if total is None else (total / installs).quantize(Decimal("0.01")))
    return values


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
