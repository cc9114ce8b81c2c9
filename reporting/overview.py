"""The Overview dashboard: installs, revenue and cost per media source and campaign (drilling
down to ad set and ad), with the twelve metrics analysts compare channels by, and a daily series.

Every figure comes out of a GROUP BY in the database (per key × day × currency); Python only
merges those few aggregated groups and converts money at each day's rate. Rules:

- Installs and revenue are ours (non-reengagement installs; revenue of non-reengagement events).
  Where a cost row has no install of ours, TikTok's own reported count is shown apart, marked,
  and never added to our installs.
- Cost rows: a country row and its ad's blank-country remainder partition the ad's total (see
  `reporting.cost_pulls.merge`), so the totals are the sum of every row.
- Money is in the app's currency, converted at the rate of each row's day (the latest earlier
  rate when a day has none). Without any rate the money is missing, never treated as 1:1.
- A ratio with a zero or missing side is None, which the page shows as "–".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import QueryDict
from django.utils import timezone

from events.models import ORGANIC, InAppEvent, Install
from integrations.models import Partner
from integrations.policy import Action, AppAccess
from reporting.exchange_rates import Rates
from reporting.models import CostRecord

MAX_SPAN_DAYS = 366
THOUSAND = Decimal(1000)
# Web campaigns' cost is pulled through the "web cost" partner, but their clicks are attributed
# to the web partner: the same TikTok campaigns, so the overview shows them on one row.
COST_MEDIA_SOURCES = {"tiktokglobal_int": "tiktokweb_int"}


class Level(StrEnum):
    CAMPAIGN = "campaign"
    ADSET = "adset"
    AD = "ad"


# (id field, name field) per level, the same on Install, InAppEvent and CostRecord.
LEVEL_FIELDS = {
    Level.CAMPAIGN: ("campaign_id", "campaign"),
    Level.ADSET: ("adset_id", "adset"),
    Level.AD: ("ad_id", "ad"),
}
LEVEL_LABELS = {Level.CAMPAIGN: "Campaign", Level.ADSET: "Ad set", Level.AD: "Ad"}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str  # money, count, ratio, percent
    needs: tuple[Action, ...] = ()
    help: str = ""


# The twelve metrics, in the order.
COLUMNS = [
    Column("spend", "Spend", "money", (Action.VIEW_COST,)),
    Column("installs", "Installs", "count", help="Ours: first installs or first visits."),
    Column("cpi", "CPI", "money", (Action.VIEW_COST,), "Spend / installs"),
    Column("ipm", "IPM", "ratio", help="Installs / impressions × 1,000"),
    Column("impressions", "Impressions", "count"),
    Column("cpm", "CPM", "money", (Action.VIEW_COST,), "Spend / impressions × 1,000"),
    Column("clicks", "Clicks", "count"),
    Column("cpc", "CPC", "money", (Action.VIEW_COST,), "Spend / clicks"),
    Column("ctr", "CTR", "percent", help="Clicks / impressions"),
    Column("cti", "CTI", "percent", help="Installs / clicks"),
    Column(
        "roas",
        "ROAS",
        "ratio",
        (Action.VIEW_COST, Action.VIEW_REVENUE),
        "Revenue / spend, both in the app's currency",
    ),
    Column("revenue", "Revenue", "money", (Action.VIEW_REVENUE,), "Ours, in the app's currency"),
]


def ratio(numerator: Decimal | int | None, denominator: Decimal | int | None) -> Decimal | None:
    """numerator / denominator, or None when either is missing or the denominator is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return Decimal(numerator) / Decimal(denominator)


def _per_thousand(numerator: Decimal | int | None, denominator: int | None) -> Decimal | None:
    value = ratio(numerator, denominator)
    return None if value is None else value * THOUSAND


@dataclass
class Metrics:
    """Summed figures of one row (or the totals), and the ratios derived from them."""

    spend: Decimal | None = None
    installs: int = 0
    impressions: int = 0
    clicks: int = 0
    revenue: Decimal | None = None
    tiktok_reported: int | None = None
    tiktok_reported_kind: str = ""
    is_spend_missing: bool = False
    is_revenue_missing: bool = False
    has_cost: bool = False

    @property
    def cpi(self) -> Decimal | None:
        return ratio(self.spend, self.installs)

    @property
    def ipm(self) -> Decimal | None:
        return _per_thousand(self.installs, self.impressions)

    @property
    def cpm(self) -> Decimal | None:
        return _per_thousand(self.spend, self.impressions)

    @property
    def cpc(self) -> Decimal | None:
        return ratio(self.spend, self.clicks)

    @property
    def ctr(self) -> Decimal | None:
        return ratio(self.clicks, self.impressions)

    @property
    def cti(self) -> Decimal | None:
        return ratio(self.installs, self.clicks)

    @property
    def roas(self) -> Decimal | None:
        return ratio(self.revenue, self.spend)

    def add_spend(self, amount: Decimal | None) -> None:
        self.has_cost = True
        if amount is None:
            self.is_spend_missing = True
        elif not self.is_spend_missing:
            self.spend = (self.spend or Decimal(0)) + amount
        if self.is_spend_missing:
            self.spend = None

    def add_revenue(self, amount: Decimal | None) -> None:
        if amount is None:
            self.is_revenue_missing = True
        elif not self.is_revenue_missing:
            self.revenue = (self.revenue or Decimal(0)) + amount
        if self.is_revenue_missing:
            self.revenue = None

    def add_reported(self, count: int | None, kind: str) -> None:
        if count is None:
            return
        self.tiktok_reported = (self.tiktok_reported or 0) + count
        if self.tiktok_reported_kind not in ("", kind):
            kind = "installs or conversions"
        self.tiktok_reported_kind = kind

    def add(self, other: Metrics) -> None:
        """Fold a row into the totals (TikTok's figure only where the row shows it)."""
        self.installs += other.installs
        self.impressions += other.impressions
        self.clicks += other.clicks
        if other.spend is not None or other.is_spend_missing:
            self.add_spend(other.spend)
        self.has_cost = self.has_cost or other.has_cost
        if other.revenue is not None or other.is_revenue_missing:
            self.add_revenue(other.revenue)
        if other.shown_tiktok_reported is not None:
            self.add_reported(other.shown_tiktok_reported, other.tiktok_reported_kind)

    @property
    def shown_tiktok_reported(self) -> int | None:
        """TikTok's own count, shown only where we have no install to match the cost."""
        if self.installs or not self.has_cost:
            return None
        return self.tiktok_reported


@dataclass
class Row(Metrics):
    media_source: str = ""
    key: str = ""
    label: str = ""
    is_key_an_id: bool = False

    @property
    def is_organic(self) -> bool:
        return self.media_source == ORGANIC


@dataclass
class Day:
    day: date
    spend: Decimal | None = None
    installs: int = 0
    revenue: Decimal | None = None
    is_spend_missing: bool = False
    is_revenue_missing: bool = False


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    media_sources: tuple[str, ...] = ()
    campaign_id: str = ""
    adset_id: str = ""

    @property
    def level(self) -> Level:
        if self.campaign_id and self.adset_id:
            return Level.AD
        if self.campaign_id:
            return Level.ADSET
        return Level.CAMPAIGN


@dataclass
class Overview:
    level: Level
    currency: str
    rows: list[Row]
    totals: Metrics
    days: list[Day]
    columns: list[Column]
    shows_cost: bool
    shows_revenue: bool
    missing_rates: list[tuple[str, date]] = field(default_factory=list)
    campaign_name: str = ""
    adset_name: str = ""


class OverviewFilterForm(forms.Form):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    media_source = forms.MultipleChoiceField(
        label="Media sources",
        required=False,
        help_text="None chosen means all.",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    campaign_id = forms.RegexField(
        r"^[0-9A-Za-z_.-]{1,64}$", required=False, widget=forms.HiddenInput
    )
    adset_id = forms.RegexField(r"^[0-9A-Za-z_.-]{1,64}$", required=False, widget=forms.HiddenInput)

    def __init__(self, data: QueryDict | dict[str, Any] | None, *, access: AppAccess) -> None:
        today = timezone.now().astimezone(ZoneInfo(access.app.timezone or "UTC")).date()
        merged = QueryDict(mutable=True)
        if data:
            for key in data:
                values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
                merged.setlist(key, [value for value in values if value != ""])
        if not merged.get("date_from"):
            merged["date_from"] = (today - timedelta(days=6)).isoformat()
        if not merged.get("date_to"):
            merged["date_to"] = today.isoformat()
        super().__init__(merged)
        self.fields["media_source"].choices = [
            (source, source) for source in media_source_choices(access)
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", "The end date is before the start date.")
            elif (end - start).days + 1 > MAX_SPAN_DAYS:
                self.add_error("date_to", f"Choose at most {MAX_SPAN_DAYS} days.")
        if cleaned.get("adset_id") and not cleaned.get("campaign_id"):
            self.add_error(None, "An ad set is chosen within a campaign.")
        return cleaned

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            media_sources=tuple(data.get("media_source") or ()),
            campaign_id=data.get("campaign_id") or "",
            adset_id=data.get("adset_id") or "",
        )


def media_source_choices(access: AppAccess) -> list[str]:
    """The catalog's partners, organic, and whatever cost arrived under; a partner user sees
    only their own. (Install media sources outside the catalog still show under "all".)"""
    if access.media_source is not None:
        return [access.media_source]
    sources = set(Partner.objects.values_list("media_source", flat=True)) | {ORGANIC}
    costs = CostRecord.objects.filter(app=access.app).values_list("media_source", flat=True)
    sources |= {COST_MEDIA_SOURCES.get(source, source) for source in costs.distinct()}
    return sorted(sources)


def _cost_sources_for(sources: Iterable[str]) -> set[str]:
    """The media sources cost rows are stored under, for media sources shown on the page."""
    wanted = set(sources)
    return wanted | {cost for cost, shown in COST_MEDIA_SOURCES.items() if shown in wanted}


def _day_bounds(app_tz: ZoneInfo, filters: Filters) -> tuple[datetime, datetime]:
    start = datetime.combine(filters.date_from, time.min, tzinfo=app_tz)
    end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=app_tz)
    return start, end


def _drill_down(queryset: QuerySet, filters: Filters, names: dict[str, set[str]]) -> QuerySet:
    """Narrow to the chosen campaign (and ad set). Our rows that lack the id match on the name
    the cost rows give that id."""
    for id_field, name_field, value in (
        ("campaign_id", "campaign", filters.campaign_id),
        ("adset_id", "adset", filters.adset_id),
    ):
        if not value:
            continue
        match = Q(**{id_field: value})
        if names.get(id_field):
            match |= Q(**{id_field: "", f"{name_field}__in": names[id_field]})
        queryset = queryset.filter(match)
    return queryset


def build_overview(access: AppAccess, filters: Filters) -> Overview:
    """The overview of one app for the filters, as this user may see it."""
    app = access.app
    app_tz = ZoneInfo(app.timezone or "UTC")
    level = filters.level
    id_field, name_field = LEVEL_FIELDS[level]
    shows_cost = access.can(Action.VIEW_COST)
    shows_revenue = access.can(Action.VIEW_REVENUE)
    start, end = _day_bounds(app_tz, filters)

    costs = CostRecord.objects.filter(
        app=app, stat_date__range=(filters.date_from, filters.date_to)
    )
    if access.media_source is not None:
        costs = costs.filter(media_source__in=_cost_sources_for([access.media_source]))
    if filters.media_sources:
        costs = costs.filter(media_source__in=_cost_sources_for(filters.media_sources))
    names = _names_of_chosen(costs, filters)
    costs = costs.filter(**{"campaign_id": filters.campaign_id} if filters.campaign_id else {})
    costs = costs.filter(**{"adset_id": filters.adset_id} if filters.adset_id else {})
    cost_groups = list(
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

    installs = access.scope_to_media_source(
        Install.objects.filter(
            app=app, is_reengagement=False, installed_at__gte=start, installed_at__lt=end
        )
    )
    if filters.media_sources:
        installs = installs.filter(media_source__in=filters.media_sources)
    install_groups = list(
        _drill_down(installs, filters, names)
        .order_by()
        .values("media_source", id_field, name_field)
        .annotate(day=TruncDate("installed_at", tzinfo=app_tz), count=Count("id"))
    )

    revenue_groups: list[dict[str, Any]] = []
    if shows_revenue:
        events = access.scope_to_media_source(
            InAppEvent.objects.filter(
                app=app,
                is_reengagement=False,
                revenue__isnull=False,
                event_time__gte=start,
                event_time__lt=end,
            )
        )
        if filters.media_sources:
            events = events.filter(media_source__in=filters.media_sources)
        revenue_groups = list(
            _drill_down(events, filters, names)
            .order_by()
            .values("media_source", id_field, name_field, "currency")
            .annotate(day=TruncDate("event_time", tzinfo=app_tz), amount=Sum("revenue"))
        )

    currencies = {g["currency"] for g in cost_groups if shows_cost}
    currencies |= {g["currency"] for g in revenue_groups}
    rates = Rates(app.currency, currencies, filters.date_from, filters.date_to)
    merged = _merge(
        level,
        cost_groups,
        install_groups,
        revenue_groups,
        rates,
        shows_cost=shows_cost,
        shows_revenue=shows_revenue,
        days=_days(filters, shows_cost=shows_cost, shows_revenue=shows_revenue),
    )
    rows, days = merged
    totals = Metrics(revenue=Decimal(0) if shows_revenue else None)
    for row in rows:
        totals.add(row)
    return Overview(
        level=level,
        currency=app.currency,
        rows=rows,
        totals=totals,
        days=days,
        columns=[c for c in COLUMNS if all(access.can(action) for action in c.needs)],
        shows_cost=shows_cost,
        shows_revenue=shows_revenue,
        missing_rates=_first_missing(rates.missing),
        campaign_name=_one_name(names.get("campaign_id"), filters.campaign_id),
        adset_name=_one_name(names.get("adset_id"), filters.adset_id),
    )


def _names_of_chosen(costs: QuerySet[CostRecord], filters: Filters) -> dict[str, set[str]]:
    """The names cost rows give the chosen campaign and ad set ids (for breadcrumbs, and for our
    rows that carry only a name)."""
    names: dict[str, set[str]] = {}
    if filters.campaign_id:
        names["campaign_id"] = set(
            costs.filter(campaign_id=filters.campaign_id)
            .exclude(campaign="")
            .values_list("campaign", flat=True)
            .distinct()
        )
    if filters.adset_id:
        names["adset_id"] = set(
            costs.filter(adset_id=filters.adset_id)
            .exclude(adset="")
            .values_list("adset", flat=True)
            .distinct()
        )
    return names


def _one_name(names: set[str] | None, fallback: str) -> str:
    return sorted(names)[0] if names else fallback


def _days(filters: Filters, *, shows_cost: bool, shows_revenue: bool) -> list[Day]:
    count = (filters.date_to - filters.date_from).days + 1
    return [
        Day(
            filters.date_from + timedelta(days=n),
            spend=Decimal(0) if shows_cost else None,
            revenue=Decimal(0) if shows_revenue else None,
        )
        for n in range(count)
    ]


def _first_missing(missing: set[tuple[str, date]]) -> list[tuple[str, date]]:
    first: dict[str, date] = {}
    for currency, day in missing:
        first[currency] = min(day, first.get(currency, day))
    return sorted(first.items())


def _merge(
    level: Level,
    cost_groups: list[dict[str, Any]],
    install_groups: list[dict[str, Any]],
    revenue_groups: list[dict[str, Any]],
    rates: Rates,
    *,
    shows_cost: bool,
    shows_revenue: bool,
    days: list[Day],
) -> tuple[list[Row], list[Day]]:
    """Fold the aggregated groups into rows keyed by (media source, id or name)."""
    id_field, name_field = LEVEL_FIELDS[level]
    by_day = {day.day: day for day in days}
    rows: dict[tuple[str, str], Row] = {}
    id_by_name: dict[tuple[str, str], str] = {}

    def row_for(media_source: str, key: str, label: str, is_id: bool) -> Row:
        row = rows.get((media_source, key))
        if row is None:
            row = rows[(media_source, key)] = Row(
                media_source=media_source, key=key, label=label or key, is_key_an_id=is_id
            )
        elif not row.label or row.label == row.key:
            row.label = label or row.label
        if shows_revenue and row.revenue is None and not row.is_revenue_missing:
            row.revenue = Decimal(0)
        return row

    for group in cost_groups:
        source = COST_MEDIA_SOURCES.get(group["media_source"], group["media_source"])
        key, name = group[id_field], group["name"] or ""
        if key and name:
            id_by_name[(source, name)] = key
        row = row_for(source, key or name, name, bool(key))
        row.impressions += group["impressions"] or 0
        row.clicks += group["clicks"] or 0
        row.has_cost = True
        if group["reported_installs"] is not None:
            row.add_reported(group["reported_installs"], "installs")
        elif group["reported_conversions"] is not None:
            row.add_reported(group["reported_conversions"], "conversions")
        if shows_cost:
            spend = group["spend"] or Decimal(0)
            amount = rates.convert(spend, group["currency"], group["stat_date"])
            row.add_spend(amount)
            _add_day_money(by_day.get(group["stat_date"]), "spend", amount)

    def our_row(group: dict[str, Any]) -> Row:
        source, key, name = group["media_source"], group[id_field], group[name_field]
        if not key and name:
            key = id_by_name.get((source, name), "")
        return row_for(source, key or name, name, bool(key))

    for group in install_groups:
        our_row(group).installs += group["count"]
        day = by_day.get(group["day"])
        if day is not None:
            day.installs += group["count"]

    for group in revenue_groups:
        amount = rates.convert(group["amount"], group["currency"], group["day"])
        our_row(group).add_revenue(amount)
        _add_day_money(by_day.get(group["day"]), "revenue", amount)

    ordered = sorted(
        rows.values(),
        key=lambda r: (r.is_organic, r.media_source, -r.installs, -r.impressions, r.label),
    )
    return ordered, days


def _add_day_money(day: Day | None, name: str, amount: Decimal | None) -> None:
    if day is None:
        return
    missing_flag = f"is_{name}_missing"
    if amount is None:
        setattr(day, missing_flag, True)
        setattr(day, name, None)
        return
    if getattr(day, missing_flag):
        return
    setattr(day, name, (getattr(day, name) or Decimal(0)) + amount)
