"""Aggregate reports in AppsFlyer's Pull API shape (`partners_report`, `daily_report`, `geo_report`
and their by-date forms): per media source and campaign (and day, and country), our installs and
revenue joined with partners' cost, computed the way the Overview computes them.

The groups are read from the raw rows (any timezone, country, re-engagements, view-through), in
the same shapes as the Overview's queries, and folded by the Overview's own merge, so for the same
window `partners_report` and the Overview give the same installs, cost, revenue, impressions and
clicks. Columns, their order and where each fact comes from: docs/pull-api-aggregate.md.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import CharField, Count, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, TruncDate

from events.models import InAppEvent, Install, SessionDay
from integrations.policy import Action, AppAccess
from integrations.request_values import parse_whole_number
from reporting.exchange_rates import Rates
from reporting.overview.filters import Filters, Level
from reporting.overview.metrics import Row, ratio
from reporting.overview.queries import costs_in_range
from reporting.overview.report import _merge as merge_groups
from reporting.raw_data import LARGEST_MAXIMUM_ROWS, BadQuery, split_names
from reporting.spreadsheet import defuse_formula as guarded

MAX_DAYS = 366
NOT_AVAILABLE = "N/A"


@dataclass(frozen=True)
class AggregateReport:
    by_date: bool
    by_country: bool
    with_revenue: bool  # Total Revenue, ROI, ARPU and the per-event columns


AGGREGATE_REPORTS: dict[str, AggregateReport] = {
    "partners_report": AggregateReport(by_date=False, by_country=False, with_revenue=True),
    "partners_by_date_report": AggregateReport(by_date=True, by_country=False, with_revenue=True),
    "daily_report": AggregateReport(by_date=True, by_country=False, with_revenue=False),
    "geo_report": AggregateReport(by_date=False, by_country=True, with_revenue=True),
    "geo_by_date_report": AggregateReport(by_date=True, by_country=True, with_revenue=True),
}

KPI_HEADERS = [
    "Agency/PMD (af_prt)",
    "Media Source (pid)",
    "Campaign (c)",
    "Impressions",
    "Clicks",
    "CTR",
    "Installs",
    "Conversion Rate",
    "Sessions",
    "Loyal Users",
    "Loyal Users/Installs",
    "Total Revenue",
    "Total Cost",
    "ROI",
    "ARPU",
    "Average eCPI",
]
REVENUE_HEADERS = {"Total Revenue", "ROI", "ARPU"}
EVENT_SUFFIXES = ("(Unique users)", "(Event counter)", "(Sales in USD)")


@dataclass(frozen=True)
class AggregateQuery:
    access: AppAccess
    report: AggregateReport
    date_from: date
    date_to: date
    tz: ZoneInfo
    media_sources: tuple[str, ...] = ()
    currency: str = ""  # the app's unless "USD"
    retargeting: bool = False
    view_through: bool = False
    maximum_rows: int = LARGEST_MAXIMUM_ROWS

    @property
    def start(self) -> datetime:
        return datetime.combine(self.date_from, time.min, tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=self.tz)

    @property
    def has_cost(self) -> bool:
        """Cost, impressions and clicks are the campaign's; they do not split by touch type or
        into re-engagements, so those reports say N/A."""
        return not (self.retargeting or self.view_through)


@dataclass
class EventFigures:
    unique_users: int = 0
    count: int = 0
    sales_usd: Decimal | None = Decimal(0)


@dataclass
class AggregateRow:
    day: date | None
    country: str | None
    row: Row
    events: dict[str, EventFigures] = field(default_factory=dict)
    sessions: int = 0  # sessions in the window of users attributed to the row
    loyal: int = 0  # installs of the window that reached the app's loyal threshold


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(params: dict[str, str], name: str) -> date:
    text = params.get(name, "").strip()
    if not text:
        raise BadQuery(f"'{name}' is required (yyyy-mm-dd).")
    if not _DATE.fullmatch(text):
        raise BadQuery(f"'{name}' must look like yyyy-mm-dd, not {text!r}.")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"'{name}' is not a real date: {text!r}.") from None
    if not 1970 <= day.year <= 2999:
        raise BadQuery(f"'{name}' is outside the years 1970 to 2999: {text!r}.")
    return day


def parse_aggregate_query(
    access: AppAccess, report: AggregateReport, params: dict[str, str]
) -> AggregateQuery:
    """Read AppsFlyer's aggregate parameters or raise BadQuery with the reason."""
    tz_name = (params.get("timezone") or access.app.timezone or "UTC").strip()
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadQuery(f"Unknown timezone {tz_name!r}; use a name such as Europe/Berlin.") from None
    date_from, date_to = _day(params, "from"), _day(params, "to")
    if date_to < date_from:
        raise BadQuery(f"'to' ({date_to}) is before 'from' ({date_from}).")
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise BadQuery(f"The window is longer than {MAX_DAYS} days. Split it into shorter ones.")
    media_sources = split_names(params.get("media_source", ""))
    if access.media_source is not None and any(s != access.media_source for s in media_sources):
        raise BadQuery(f"Your access covers only {access.media_source} rows.")
    currency = params.get("currency", "").strip()
    if currency not in ("", "preferred", "USD"):
        raise BadQuery("'currency' is 'preferred' (the app's currency, the default) or 'USD'.")
    reattr = params.get("reattr", "").strip().lower()
    if reattr not in ("", "true", "false"):
        raise BadQuery("'reattr' is true or false.")
    touch_type = params.get("attribution_touch_type", "").strip()
    if touch_type not in ("", "impression"):
        raise BadQuery("'attribution_touch_type' is 'impression' (view-through) or left out.")
    maximum_text = params.get("maximum_rows", "").strip() or str(LARGEST_MAXIMUM_ROWS)
    maximum_rows = parse_whole_number(maximum_text, minimum=1, maximum=LARGEST_MAXIMUM_ROWS)
    if maximum_rows is None:
        raise BadQuery(f"'maximum_rows' is a whole number from 1 to {LARGEST_MAXIMUM_ROWS:,}.")
    return AggregateQuery(
        access=access,
        report=report,
        date_from=date_from,
        date_to=date_to,
        tz=tz,
        media_sources=media_sources,
        currency="USD" if currency == "USD" else access.app.currency,
        retargeting=reattr == "true",
        view_through=touch_type == "impression",
        maximum_rows=maximum_rows,
    )


def _ours(query: AggregateQuery, rows: QuerySet, time_field: str) -> QuerySet:
    rows = rows.filter(
        app=query.access.app,
        is_reengagement=query.retargeting,
        **{f"{time_field}__gte": query.start, f"{time_field}__lt": query.end},
    )
    if query.view_through:
        rows = rows.filter(touch_type="impression")
    rows = query.access.scope_to_media_source(rows)
    if query.media_sources:
        rows = rows.filter(media_source__in=query.media_sources)
    return rows.order_by()


def _dimensions(query: AggregateQuery) -> list[str]:
    return ["country_code"] if query.report.by_country else []


def _cost_groups(query: AggregateQuery) -> list[dict]:
    if not query.has_cost:
        return []
    filters = Filters(query.date_from, query.date_to, query.media_sources)
    costs = costs_in_range(query.access, filters)
    return list(
        costs.order_by()
        .values("media_source", "campaign_id", "currency", "stat_date", *_dimensions(query))
        .annotate(
            name=Max("campaign"),
            spend=Sum("spend"),
            impressions=Sum("impressions"),
            clicks=Sum("clicks"),
            reported_installs=Sum("reported_installs"),
            reported_conversions=Sum("reported_conversions"),
        )
    )


def _install_groups(query: AggregateQuery) -> list[dict]:
    rows = _ours(query, Install.objects.all(), "installed_at")
    return list(
        rows.values("media_source", "campaign_id", "campaign", *_dimensions(query)).annotate(
            day=TruncDate("installed_at", tzinfo=query.tz), count=Count("id")
        )
    )


def _revenue_groups(query: AggregateQuery) -> list[dict]:
    rows = _ours(query, InAppEvent.objects.filter(revenue__isnull=False), "event_time")
    return list(
        rows.values(
            "media_source", "campaign_id", "campaign", "currency", *_dimensions(query)
        ).annotate(day=TruncDate("event_time", tzinfo=query.tz), amount=Sum("revenue"))
    )


def _event_groups(query: AggregateQuery) -> tuple[list[dict], list[dict]]:
    """Per event name: users and counts (per day only in the by-date reports, so a user counts
    once in a window), and sales per day and currency (to convert at each day's rate)."""
    rows = _ours(query, InAppEvent.objects.all(), "event_time")
    keys = ["media_source", "campaign_id", "campaign", "event_name", *_dimensions(query)]
    user = Coalesce(  # an event without any id of its user counts as a user of its own
        NullIf("device_id", Value("")),
        NullIf("web_user_id", Value("")),
        NullIf("customer_user_id", Value("")),
        Concat(Value("event:"), Cast("id", CharField())),
        output_field=CharField(),
    )
    day = TruncDate("event_time", tzinfo=query.tz)
    counted = rows.annotate(day=day) if query.report.by_date else rows
    counts = list(
        counted.values(*keys, *(["day"] if query.report.by_date else [])).annotate(
            users=Count(user, distinct=True), count=Count("id")
        )
    )
    sales = list(
        rows.filter(revenue__isnull=False)
        .annotate(day=day)
        .values(*keys, "day", "currency")
        .annotate(amount=Sum("revenue"))
    )
    return counts, sales


def _session_groups(query: AggregateQuery) -> list[dict]:
    """Sessions in the window by users attributed to each campaign (from the daily rollup)."""
    rows = SessionDay.objects.filter(
        app=query.access.app,
        day__gte=query.date_from,
        day__lte=query.date_to,
        install__isnull=False,
        install__is_reengagement=query.retargeting,
    )
    if query.view_through:
        rows = rows.filter(install__touch_type="impression")
    rows = query.access.scope_to_media_source(rows, field="install__media_source")
    if query.media_sources:
        rows = rows.filter(install__media_source__in=query.media_sources)
    keys = ["install__media_source", "install__campaign_id", "install__campaign"]
    keys += ["install__country_code"] if query.report.by_country else []
    keys += ["day"] if query.report.by_date else []
    return list(rows.order_by().values(*keys).annotate(sessions=Sum("sessions")))


def _loyal_groups(query: AggregateQuery) -> list[dict]:
    """Installs of the window that reached the app's loyal threshold, per campaign."""
    totals = (
        SessionDay.objects.filter(install=OuterRef("pk"))
        .values("install")
        .annotate(sum=Sum("sessions"))
        .values("sum")
    )
    threshold = query.access.app.loyal_after_sessions
    rows = _ours(query, Install.objects.all(), "installed_at").annotate(
        total=Coalesce(Subquery(totals), 0)
    )
    return list(
        rows.values("media_source", "campaign_id", "campaign", *_dimensions(query)).annotate(
            day=TruncDate("installed_at", tzinfo=query.tz),
            loyal=Count("id", filter=Q(total__gte=threshold)),
        )
    )


def _attach_loyalty(query: AggregateQuery, result: list[AggregateRow]) -> None:
    def where(group: dict, prefix: str = "") -> tuple:
        return (
            group["day"] if query.report.by_date else None,
            group[f"{prefix}country_code"] if query.report.by_country else None,
            group[f"{prefix}media_source"],
            group[f"{prefix}campaign_id"] or group[f"{prefix}campaign"],
        )

    sessions: dict[tuple, int] = defaultdict(int)
    for group in _session_groups(query):
        sessions[where(group, "install__")] += group["sessions"]
    loyal: dict[tuple, int] = defaultdict(int)
    for group in _loyal_groups(query):
        loyal[where(group)] += group["loyal"]
    for item in result:
        key = (item.day, item.country, item.row.media_source, item.row.key)
        item.sessions, item.loyal = sessions.get(key, 0), loyal.get(key, 0)


def aggregate_rows(query: AggregateQuery) -> list[AggregateRow]:
    """The report's rows: per (day, country) when the report splits by them, then as the
    Overview orders its campaign rows."""
    access = query.access
    shows_cost = access.can(Action.VIEW_COST) and query.has_cost
    shows_revenue = access.can(Action.VIEW_REVENUE) and query.report.with_revenue
    with_events = query.report.with_revenue and access.can(Action.VIEW_EVENTS_REPORT)
    cost_groups = _cost_groups(query)
    install_groups = _install_groups(query)
    revenue_groups = _revenue_groups(query) if shows_revenue else []
    event_counts, event_sales = _event_groups(query) if with_events else ([], [])

    currencies = {g["currency"] for g in cost_groups if shows_cost}
    currencies |= {g["currency"] for g in revenue_groups + event_sales}
    first, last = query.date_from, query.date_to
    rates = Rates(query.currency, currencies, first, last)
    usd = Rates("USD", currencies | {query.currency}, first, last)

    def part(group: dict, day_field: str = "day") -> tuple[date | None, str | None]:
        return (
            group[day_field] if query.report.by_date else None,
            group["country_code"] if query.report.by_country else None,
        )

    parts: dict[tuple[date | None, str | None], tuple[list, list, list]] = defaultdict(
        lambda: ([], [], [])
    )
    for group in cost_groups:
        parts[part(group, "stat_date")][0].append(group)
    for group in install_groups:
        parts[part(group)][1].append(group)
    for group in revenue_groups:
        parts[part(group)][2].append(group)
    counts_of: dict[tuple[date | None, str | None], list[dict]] = defaultdict(list)
    sales_of: dict[tuple[date | None, str | None], list[dict]] = defaultdict(list)
    for group in event_counts:
        counts_of[part(group)].append(group)
        _ = parts[part(group)]  # a part with events only still gets its rows
    for group in event_sales:
        sales_of[part(group)].append(group)
        _ = parts[part(group)]

    result: list[AggregateRow] = []
    for key in sorted(parts, key=lambda k: (k[0] or date.min, k[1] or "")):
        merged = merge_groups(
            Level.CAMPAIGN,
            parts[key],
            rates,
            shows_cost=shows_cost,
            shows_revenue=shows_revenue,
            days=[],
        )
        rows = {(row.media_source, row.key): AggregateRow(key[0], key[1], row) for row in merged}
        result.extend(rows.values())
        if with_events:
            result.extend(_add_events(query, key, rows, counts_of[key], sales_of[key], usd))
    if access.can(Action.VIEW_LOYAL_USERS):
        _attach_loyalty(query, result)
    return result[: query.maximum_rows]


def _add_events(
    query: AggregateQuery,
    key: tuple[date | None, str | None],
    rows: dict[tuple[str, str], AggregateRow],
    counts: list[dict],
    sales: list[dict],
    usd: Rates,
) -> list[AggregateRow]:
    """Attach the event figures to the rows they belong to (our rows that lack the campaign id
    go where the Overview put them: under the id the cost rows give that name); rows with events
    only are returned to be added."""
    id_by_name = {
        (row.row.media_source, row.row.label): row.row.key
        for row in rows.values()
        if row.row.is_key_an_id
    }
    added: list[AggregateRow] = []

    def figures(group: dict) -> EventFigures:
        source, campaign_id, name = group["media_source"], group["campaign_id"], group["campaign"]
        row_key = campaign_id or id_by_name.get((source, name), name)
        found = rows.get((source, row_key))
        if found is None:
            revenue = Decimal(0) if query.access.can(Action.VIEW_REVENUE) else None
            row = Row(media_source=source, key=row_key, label=name or row_key, revenue=revenue)
            found = rows[(source, row_key)] = AggregateRow(key[0], key[1], row)
            added.append(found)
        return found.events.setdefault(group["event_name"], EventFigures())

    for group in counts:
        found = figures(group)
        found.unique_users += group["users"]
        found.count += group["count"]
    for group in sales:
        found = figures(group)
        amount = usd.convert(group["amount"], group["currency"], group["day"])
        if amount is None or found.sales_usd is None:
            found.sales_usd = None
        else:
            found.sales_usd += amount
    return added


def headers(query: AggregateQuery, event_names: list[str]) -> list[str]:
    report = query.report
    kpis = [h for h in KPI_HEADERS if report.with_revenue or h not in REVENUE_HEADERS]
    leading = (["Date"] if report.by_date else []) + (["Country"] if report.by_country else [])
    events = [guarded(f"{name} {suffix}") for name in event_names for suffix in EVENT_SUFFIXES]
    return leading + kpis + events


def csv_lines(query: AggregateQuery) -> Iterator[list[str]]:
    """The header and the rows, as lists of cells."""
    rows = aggregate_rows(query)
    event_names = sorted({name for row in rows for name in row.events})
    yield headers(query, event_names)
    shows_cost = query.access.can(Action.VIEW_COST)
    shows_revenue = query.access.can(Action.VIEW_REVENUE)
    for item in rows:
        cells = _kpis(query, item, shows_cost=shows_cost, shows_revenue=shows_revenue)
        leading = [item.day.isoformat()] if query.report.by_date and item.day else []
        if query.report.by_country:
            leading.append(guarded(item.country or ""))
        events: list[str] = []
        for name in event_names:
            figures = item.events.get(name, EventFigures())
            sales = _money(figures.sales_usd) if shows_revenue else ""
            events += [str(figures.unique_users), str(figures.count), sales]
        yield leading + cells + events


def _kpis(
    query: AggregateQuery, item: AggregateRow, *, shows_cost: bool, shows_revenue: bool
) -> list[str]:
    row = item.row
    has_cost = query.has_cost and row.has_cost  # no cost row (organic, unpulled cost): N/A
    shows_loyalty = query.access.can(Action.VIEW_LOYAL_USERS)
    cost = None if row.is_spend_missing else row.spend
    revenue = row.revenue
    kpis = {
        "Agency/PMD (af_prt)": "",
        "Media Source (pid)": guarded(row.media_source),
        "Campaign (c)": guarded(row.label),
        "Impressions": str(row.impressions) if has_cost else NOT_AVAILABLE,
        "Clicks": str(row.clicks) if has_cost else NOT_AVAILABLE,
        "CTR": _ratio(ratio(row.clicks, row.impressions)) if has_cost else NOT_AVAILABLE,
        "Installs": str(row.installs),
        "Conversion Rate": _ratio(ratio(row.installs, row.clicks)) if has_cost else NOT_AVAILABLE,
        # From the daily session rollup; loyal: the app's threshold (AppsFlyer: 3 sessions).
        "Sessions": str(item.sessions) if shows_loyalty else "",
        "Loyal Users": str(item.loyal) if shows_loyalty else "",
        "Loyal Users/Installs": _ratio(ratio(item.loyal, row.installs)) if shows_loyalty else "",
        "Total Revenue": _money(revenue) if shows_revenue else "",
        "Total Cost": (_money(cost) if has_cost else NOT_AVAILABLE) if shows_cost else "",
        "ROI": (
            (_ratio(_roi(revenue, cost)) if has_cost else NOT_AVAILABLE)
            if shows_cost and shows_revenue
            else ""
        ),
        "ARPU": _ratio(ratio(revenue, row.installs)) if shows_revenue else "",
        "Average eCPI": (
            (_ratio(ratio(cost, row.installs)) if has_cost else NOT_AVAILABLE) if shows_cost else ""
        ),
    }
    names = [h for h in KPI_HEADERS if query.report.with_revenue or h not in REVENUE_HEADERS]
    return [kpis[name] for name in names]


def _roi(revenue: Decimal | None, cost: Decimal | None) -> Decimal | None:
    if revenue is None or cost is None:
        return None
    return ratio(revenue - cost, cost)


def _money(value: Decimal | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value:.2f}"


def _ratio(value: Decimal | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value:.4f}"
