"""Building the overview: ask the queries for aggregated groups, fold them into rows keyed by
(media source, id or name), convert money per day, and add the totals and the daily series."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from integrations.models import App
from integrations.policy import Action, AppAccess
from reporting.exchange_rates import Rates
from reporting.overview import queries
from reporting.overview.filters import COST_MEDIA_SOURCES, LEVEL_FIELDS, Filters, Level
from reporting.overview.metrics import COLUMNS, Column, Day, Metrics, Row


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
    stale_rates: list[tuple[str, date]] = field(default_factory=list)
    campaign_name: str = ""
    adset_name: str = ""
    cost_shown_under: dict[str, str] = field(default_factory=dict)


def build_overview(access: AppAccess, filters: Filters) -> Overview:
    """The overview of one app for the filters, as this user may see it: money columns only with
    VIEW_COST, revenue only with VIEW_REVENUE (and then not even queried)."""
    app = access.app
    shows_cost = access.can(Action.VIEW_COST)
    shows_revenue = access.can(Action.VIEW_REVENUE)
    costs = queries.costs_in_range(access, filters)
    names = queries.names_of_chosen(costs, filters)
    cost_groups = queries.cost_groups(costs, filters)
    install_groups = queries.install_groups(access, filters, names)
    revenue_groups = queries.revenue_groups(access, filters, names) if shows_revenue else []
    shows_loyal = access.can(Action.VIEW_LOYAL_USERS)
    loyal_groups = queries.loyal_groups(access, filters, names) if shows_loyal else []

    currencies = {g["currency"] for g in cost_groups if shows_cost}
    currencies |= {g["currency"] for g in revenue_groups}
    rates = Rates(app.currency, currencies, filters.date_from, filters.date_to)
    days = _days(filters, shows_cost=shows_cost, shows_revenue=shows_revenue)
    rows = _merge(
        filters.level,
        (cost_groups, install_groups, revenue_groups),
        rates,
        shows_cost=shows_cost,
        shows_revenue=shows_revenue,
        days=days,
        loyal_groups=loyal_groups,
    )
    totals = Metrics(revenue=Decimal(0) if shows_revenue else None)
    for row in rows:
        totals.add(row)
    return Overview(
        level=filters.level,
        currency=app.currency,
        rows=rows,
        totals=totals,
        days=days,
        columns=[c for c in COLUMNS if all(access.can(action) for action in c.needs)],
        shows_cost=shows_cost,
        shows_revenue=shows_revenue,
        missing_rates=_first_missing(rates.missing),
        stale_rates=rates.stale(min(filters.date_to, _today_of(app))),
        campaign_name=_one_name(names.get("campaign_id"), filters.campaign_id),
        adset_name=_one_name(names.get("adset_id"), filters.adset_id),
        cost_shown_under={
            source: COST_MEDIA_SOURCES[source]
            for source in sorted({g["media_source"] for g in cost_groups})
            if source in COST_MEDIA_SOURCES
        },
    )


def _today_of(app: App) -> date:
    return timezone.now().astimezone(ZoneInfo(app.timezone or "UTC")).date()


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
    groups: tuple[queries.Groups, queries.Groups, queries.Groups],
    rates: Rates,
    *,
    shows_cost: bool,
    shows_revenue: bool,
    days: list[Day],
    loyal_groups: queries.Groups = (),
) -> list[Row]:
    """Fold the aggregated groups into rows keyed by (media source, id or name)."""
    cost_groups, install_groups, revenue_groups = groups
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

    for group in loyal_groups:
        our_row(group).loyal += group["count"]

    for group in revenue_groups:
        amount = rates.convert(group["amount"], group["currency"], group["day"])
        our_row(group).add_revenue(amount)
        _add_day_money(by_day.get(group["day"]), "revenue", amount)

    ordered = sorted(
        rows.values(),
        key=lambda r: (r.is_organic, r.media_source, -r.installs, -r.impressions, r.label),
    )
    return ordered


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
