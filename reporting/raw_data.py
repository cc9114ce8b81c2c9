"""Raw-data reports: one set of filters read the same way by the page, its CSV export, the
Pull API and the background export jobs, so the same filters always give the same bytes.

Filters follow AppsFlyer's Pull API names (`from`, `to`, `timezone`, `media_source`, …); see
shared/spec/appsflyer-pull-api.md. Dates are read in the chosen timezone (the app's by default),
both ends inclusive. Rows come in time order, then in the order we stored them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet

from events.models import ORGANIC, InAppEvent, Install, Postback, Touchpoint
from integrations.models import App
from integrations.policy import Action, AppAccess
from integrations.request_values import (
    EARLIEST_DATE,
    LATEST_DATE,
    first_control_character,
    parse_whole_number,
)
from reporting import cost_report
from reporting import raw_data_columns as columns
from reporting.models import CostRecord

PREVIEW_ROWS = 50
DEFAULT_MAXIMUM_ROWS = 200_000
LARGEST_MAXIMUM_ROWS = 1_000_000


@dataclass(frozen=True)
class ReportKind:
    key: str
    label: str
    model: type[Model]
    time_field: str
    max_days: int
    need: Action
    sources: dict[str, columns.Source] | None  # None: the report has its own columns
    media_source_field: str = "media_source"
    campaign_fields: tuple[str, str] = ("campaign", "campaign_id")
    event_name_field: str | None = None
    retargeting_field: str | None = None


KINDS: dict[str, ReportKind] = {
    kind.key: kind
    for kind in [
        ReportKind(
            "installs",
            "Installs",
            Install,
            "installed_at",
            max_days=60,
            need=Action.VIEW_REPORTS,
            sources=columns.INSTALL_SOURCES,
            retargeting_field="is_reengagement",
        ),
        ReportKind(
            "in_app_events",
            "In-app events",
            InAppEvent,
            "event_time",
            max_days=31,
            need=Action.VIEW_EVENTS_REPORT,
            sources=columns.EVENT_SOURCES,
            event_name_field="event_name",
            retargeting_field="is_reengagement",
        ),
        ReportKind(
            "touchpoints",
            "Clicks and impressions",
            Touchpoint,
            "occurred_at",
            max_days=31,
            need=Action.VIEW_REPORTS,
            sources=columns.TOUCHPOINT_SOURCES,
            event_name_field="kind",
            retargeting_field="is_retargeting",
        ),
        ReportKind(
            "postbacks",
            "Postbacks (deliveries)",
            Postback,
            "created_at",
            max_days=31,
            need=Action.VIEW_INTEGRATIONS,
            sources=None,
            media_source_field="integration__partner__media_source",
            campaign_fields=("event__campaign", "event__campaign_id"),
            event_name_field="event__event_name",
        ),
        ReportKind(
            "cost",
            "Cost",
            CostRecord,
            "stat_date",
            max_days=366,
            need=Action.VIEW_COST,
            sources=None,
        ),
    ]
}

# Pull API report names → (our report kind, organic rows: True only them / False none of them,
# re-engagements only).
PULL_API_REPORTS: dict[str, tuple[str, bool | None, bool]] = {
    "installs_report": ("installs", False, False),
    "organic_installs_report": ("installs", True, False),
    "in_app_events_report": ("in_app_events", False, False),
    "organic_in_app_events_report": ("in_app_events", True, False),
    "installs-retarget": ("installs", False, True),
    "in-app-events-retarget": ("in_app_events", False, True),
}
# We record no uninstalls yet: these answer the installs report's checks and only its header row,
# so a sync that selects them goes on.
UNINSTALL_REPORTS: dict[str, tuple[str, bool | None, bool]] = {
    "uninstall_events_report": ("installs", False, False),
    "organic_uninstall_events_report": ("installs", True, False),
}


@dataclass(frozen=True)
class RawDataQuery:
    """Everything that decides which rows and which columns a report has."""

    access: AppAccess
    kind: ReportKind
    start: datetime  # inclusive
    end: datetime  # exclusive
    tz: ZoneInfo
    date_from: str
    date_to: str
    media_sources: tuple[str, ...] = ()
    organic: bool | None = None
    event_names: tuple[str, ...] = ()
    campaign: str = ""
    additional_fields: tuple[str, ...] = ()
    preferred_currency: bool = False
    retargeting: bool = False
    maximum_rows: int = DEFAULT_MAXIMUM_ROWS
    params: dict[str, str] = field(default_factory=dict)  # canonical, for links and the API URL

    @property
    def app(self) -> App:
        return self.access.app

    @property
    def shows_revenue(self) -> bool:
        return self.access.can(Action.VIEW_REVENUE)


class BadQuery(ValueError):
    """A filter the report cannot use; the message says which and why, for people and clients."""


_DATETIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?"
)


def _moment(text: str, tz: ZoneInfo, name: str, *, end: bool) -> tuple[datetime, str]:
    """A `from`/`to` value as an aware moment. A date alone means the whole day; `to` is
    inclusive, so it returns the first moment after it."""
    match = _DATETIME.fullmatch(text.strip())
    if not match:
        raise BadQuery(
            f"'{name}' must look like yyyy-mm-dd or yyyy-mm-dd hh:mm[:ss], not {text!r}."
        )
    day_text, hour, minute, second = match.groups()
    try:
        day = date.fromisoformat(day_text)
        clock = time(int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        raise BadQuery(f"'{name}' is not a real date or time: {text!r}.") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise BadQuery(
            f"'{name}' must be a date from {EARLIEST_DATE} to {LATEST_DATE}, not {text.strip()!r}."
        )
    moment = datetime.combine(day, clock).replace(tzinfo=tz)
    if end:
        step = (
            timedelta(days=1)
            if hour is None
            else timedelta(minutes=1)
            if second is None
            else timedelta(seconds=1)
        )
        moment = datetime.combine(day, clock) + step
        moment = moment.replace(tzinfo=tz)
    return moment, text.strip()


def split_names(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def may_open(access: AppAccess, kind: ReportKind) -> bool:
    """Whether the user may have a raw-data report's rows: its own permission, and export."""
    return access.can(kind.need) and access.can(Action.EXPORT_REPORTS)


def open_report(
    access: AppAccess,
    kind: ReportKind,
    params: dict[str, str],
    *,
    organic: bool | None = None,
    retargeting: bool | None = None,
) -> RawDataQuery:
    """The one gate to a raw-data report's rows (page export, export job, Pull API): raises
    PermissionDenied without `may_open`, BadQuery on bad filters."""
    if not may_open(access, kind):
        raise PermissionDenied(f"Your role on {access.app.name} does not allow this.")
    return parse_query(access, params, kind_key=kind.key, organic=organic, retargeting=retargeting)


def parse_query(
    access: AppAccess,
    params: dict[str, str],
    *,
    kind_key: str,
    organic: bool | None = None,
    retargeting: bool | None = None,
) -> RawDataQuery:
    """Read the filters (AppsFlyer's parameter names) or raise BadQuery with the reason."""
    kind = KINDS.get(kind_key)
    if kind is None:
        raise BadQuery(f"Unknown report {kind_key!r}. Reports: {', '.join(KINDS)}.")
    for name, value in params.items():
        if first_control_character(name + value) is not None:
            raise BadQuery(f"'{name[:64]}' contains a control character; no filter has one.")
    tz_name = (params.get("timezone") or access.app.timezone or "UTC").strip()
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadQuery(f"Unknown timezone {tz_name!r}; use a name such as Europe/Berlin.") from None
    for name in ("from", "to"):
        if not params.get(name, "").strip():
            raise BadQuery(f"'{name}' is required (yyyy-mm-dd, read in {tz_name}).")
    start, date_from = _moment(params["from"], tz, "from", end=False)
    end, date_to = _moment(params["to"], tz, "to", end=True)
    if end <= start:
        raise BadQuery(f"'to' ({date_to}) is before 'from' ({date_from}).")
    # Measured as sent: a `to` with a time is that moment, so a connector's exact 60 days from
    # one boundary instant to the next is answered; a date alone is its whole day.
    sent_end = _moment(params["to"], tz, "to", end=False)[0] if ":" in params["to"] else end
    if sent_end - start > timedelta(days=kind.max_days):
        raise BadQuery(
            f"The window from {date_from} to {date_to} is longer than {kind.max_days} days, the "
            f"most one {kind.label.lower()} report covers. Split it into shorter windows."
        )
    media_sources = split_names(params.get("media_source", ""))
    if access.media_source is not None:
        others = [source for source in media_sources if source != access.media_source]
        if others or organic:
            raise BadQuery(f"Your access covers only {access.media_source} rows.")
    event_names = split_names(params.get("event_name", ""))
    if event_names and kind.event_name_field is None:
        raise BadQuery(f"'event_name' does not apply to the {kind.label.lower()} report.")
    additional = split_names(params.get("additional_fields", ""))
    unknown = [name for name in additional if name not in columns.ADDITIONAL_HEADERS]
    if unknown:
        raise BadQuery(f"Unknown additional_fields: {', '.join(unknown)}.")
    currency = params.get("currency", "").strip()
    if currency not in ("", "preferred", "USD"):
        raise BadQuery("'currency' is 'preferred' (the app's currency) or left out (USD).")
    reattr = params.get("reattr", "").strip().lower()
    if reattr not in ("", "true", "false"):
        raise BadQuery("'reattr' is true or false.")
    maximum_text = params.get("maximum_rows", "").strip() or str(DEFAULT_MAXIMUM_ROWS)
    maximum_rows = parse_whole_number(maximum_text, minimum=1, maximum=LARGEST_MAXIMUM_ROWS)
    if maximum_rows is None:
        raise BadQuery(f"'maximum_rows' is a whole number from 1 to {LARGEST_MAXIMUM_ROWS:,}.")
    if retargeting is None:
        retargeting = reattr == "true"
    canonical = {
        "from": date_from,
        "to": date_to,
        "timezone": tz_name,
        "media_source": ",".join(media_sources),
        "event_name": ",".join(event_names),
        "campaign": params.get("campaign", "").strip(),
        "additional_fields": ",".join(additional),
        "currency": currency if currency == "preferred" else "",
        "reattr": "true" if retargeting else "",
        "maximum_rows": str(maximum_rows) if maximum_rows != DEFAULT_MAXIMUM_ROWS else "",
    }
    return RawDataQuery(
        access=access,
        kind=kind,
        start=start,
        end=end,
        tz=tz,
        date_from=date_from,
        date_to=date_to,
        media_sources=media_sources,
        organic=organic,
        event_names=event_names,
        campaign=canonical["campaign"],
        additional_fields=additional,
        preferred_currency=currency == "preferred",
        retargeting=retargeting,
        maximum_rows=maximum_rows,
        params={key: value for key, value in canonical.items() if value},
    )


def report_rows(query: RawDataQuery) -> QuerySet:
    """The rows of the report, filtered and in export order, without the row limit."""
    kind = query.kind
    if kind.key == "postbacks":
        rows = Postback.objects.filter(integration__app=query.app)
    else:
        rows = kind.model.objects.filter(app=query.app)
    if kind.key == "cost":
        start_day = query.start.astimezone(query.tz).date()
        last_day = (query.end - timedelta(microseconds=1)).astimezone(query.tz).date()
        rows = rows.filter(stat_date__range=(start_day, last_day))
    else:
        rows = rows.filter(
            **{f"{kind.time_field}__gte": query.start, f"{kind.time_field}__lt": query.end}
        )
    rows = query.access.scope_to_media_source(rows, kind.media_source_field)
    if query.media_sources:
        rows = rows.filter(**{f"{kind.media_source_field}__in": query.media_sources})
    if query.organic is True:
        rows = rows.filter(**{kind.media_source_field: ORGANIC})
    elif query.organic is False:
        rows = rows.exclude(**{kind.media_source_field: ORGANIC})
    if query.event_names:
        rows = rows.filter(**{f"{kind.event_name_field}__in": query.event_names})
    if query.campaign:
        name_field, id_field = kind.campaign_fields
        rows = rows.filter(Q(**{name_field: query.campaign}) | Q(**{id_field: query.campaign}))
    if kind.retargeting_field:
        rows = rows.filter(**{kind.retargeting_field: query.retargeting})
    return rows.order_by(kind.time_field, "pk")


def headers(query: RawDataQuery) -> list[str]:
    if query.kind.sources is None:
        return [header for header, _ in own_columns(query.kind)]
    return [header for header, _ in columns.BASE_COLUMNS] + [
        columns.ADDITIONAL_HEADERS[name] for name in query.additional_fields
    ]


def column_sources(query: RawDataQuery) -> list[tuple[str, columns.Source]]:
    """(field, source) for every column of an AppsFlyer-format report, in order."""
    sources = query.kind.sources or {}
    fields = [name for _, name in columns.BASE_COLUMNS] + list(query.additional_fields)
    hidden = set() if query.shows_revenue else REVENUE_FIELDS
    return [
        (name, ("const", "") if name in hidden else sources.get(name, ("const", "")))
        for name in fields
    ]


REVENUE_FIELDS = frozenset(
    {"event_value", "event_revenue", "event_revenue_currency", "event_revenue_usd"}
)

# Reports with their own columns (not AppsFlyer's): (header, model field path).
POSTBACK_COLUMNS = [
    ("Created Time", "created_at"),
    ("Status", "status"),
    ("Media Source", "integration__partner__media_source"),
    ("Event Name", "event__event_name"),
    ("Partner Event Name", "partner_event_name"),
    ("Event ID", "event__event_id"),
    ("Install Device ID", "install__device_id"),
    ("Campaign", "event__campaign"),
    ("Attempts", "attempts"),
    ("Last Attempt Time", "last_attempt_at"),
    ("Delivered Time", "delivered_at"),
    ("HTTP Status", "http_status"),
    ("TikTok Code", "response_code"),
    ("TikTok Message", "response_message"),
    ("TikTok Request ID", "response_request_id"),
    ("Test Event Code", "test_event_code"),
]
# The All Cost report's own columns, so both cost exports read alike.
COST_COLUMNS = [(label, field) for field, label in cost_report.COLUMNS]


def own_columns(kind: ReportKind) -> list[tuple[str, str]]:
    return POSTBACK_COLUMNS if kind.key == "postbacks" else COST_COLUMNS


def pull_api_path(query: RawDataQuery) -> str | None:
    """The Pull API report that returns exactly this page's rows, when there is one: the
    non-organic reports need the sources named, and no report mixes organic with paid rows."""
    sources = set(query.media_sources)
    if query.kind.key not in ("installs", "in_app_events") or not sources:
        return None
    installs = query.kind.key == "installs"
    if sources == {ORGANIC} and not query.retargeting:
        return "organic_installs_report" if installs else "organic_in_app_events_report"
    if ORGANIC in sources:
        return None
    if query.retargeting:
        return "installs-retarget" if installs else "in-app-events-retarget"
    return "installs_report" if installs else "in_app_events_report"
