"""The database side of attribution: load lookbacks, candidate touchpoints and users' installs
for a whole batch in a few set-based queries, then let `events.attribution` decide."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, Q

from events.attribution import (
    CLICK_ID_CLOCK_TOLERANCE,
    DEFAULT_LOOKBACK,
    PROBABILISTIC_WINDOW,
    Conversion,
    Decision,
    Lookback,
    Touch,
    decide,
)
from events.models import ORGANIC, AttributionFields, Install, Touchpoint
from events.services.config_cache import ConfigCache
from events.services.pg_cursor import server_cursor
from integrations.models import App, Integration

ATTRIBUTION_FIELDS = [f.name for f in AttributionFields._meta.fields]
M = TypeVar("M", bound=Model)
# An event within this long after a re-engagement belongs to the re-engagement (AppsFlyer's
# default re-attribution window); later events fall back to the first install's attribution.
REENGAGEMENT_WINDOW = timedelta(days=30)


LOOKBACKS = ConfigCache[dict[str, Lookback]]()


def lookbacks_for_app(app: App) -> dict[str, Lookback]:
    """The click and view-through windows of each media source the app has an integration with;
    sources without one use DEFAULT_LOOKBACK (remembered for CONFIG_CACHE_SECONDS)."""
    return LOOKBACKS.get(app.pk, lambda: _load_lookbacks(app))


def _load_lookbacks(app: App) -> dict[str, Lookback]:
    rows = Integration.objects.filter(app=app).values_list(
        "partner__media_source", "click_lookback_days", "view_lookback_hours",
        "view_through_enabled",
    )  # fmt: skip
    return {
        source: Lookback(
            click=timedelta(days=click_days),
            view=timedelta(hours=view_hours) if view_through else None,
        )
        for source, click_days, view_hours, view_through in rows
    }


def longest_window(lookbacks: dict[str, Lookback]) -> timedelta:
    windows = [DEFAULT_LOOKBACK.click, DEFAULT_LOOKBACK.view or timedelta(0), PROBABILISTIC_WINDOW]
    for lookback in lookbacks.values():
        windows.append(lookback.click)
        windows.append(lookback.view or timedelta(0))
    return max(windows)


def as_touch(touchpoint: Touchpoint) -> Touch:
    return Touch(
        key=touchpoint.pk,
        kind=touchpoint.kind,
        media_source=touchpoint.media_source,
        occurred_at=touchpoint.occurred_at,
        ttclid=touchpoint.ttclid,
        click_id=touchpoint.click_id,
        idfa=touchpoint.idfa,
        gaid=touchpoint.gaid,
        web_user_id=touchpoint.web_user_id,
        ip=touchpoint.ip,
        user_agent=touchpoint.user_agent,
    )


@dataclass
class TouchIndex:
    """Candidate touchpoints of a batch, indexed by every key a conversion can match on."""

    by_pk: dict[int, Touchpoint]
    by_key: dict[tuple[str, str], list[Touch]]

    def candidates(self, conversion: Conversion) -> list[Touch]:
        keys = [("ttclid", value) for value in conversion.ttclids]
        keys += [("click_id", value) for value in conversion.click_ids]
        keys += [("adid", value) for value in conversion.advertising_ids]
        if conversion.web_user_id:
            keys.append(("web_user_id", conversion.web_user_id))
        if conversion.ip and conversion.allows_probabilistic:
            keys.append(("ip", conversion.ip))
        seen: dict[int, Touch] = {}
        for key in keys:
            for touch in self.by_key.get(key, ()):
                seen[touch.key] = touch
        return list(seen.values())


def load_touch_index(app: App, conversions: Sequence[Conversion], window: timedelta) -> TouchIndex:
    """One query for every touchpoint any of the conversions could match."""
    ttclids = {value for c in conversions for value in c.ttclids}
    click_ids = {value for c in conversions for value in c.click_ids}
    advertising_ids = {value for c in conversions for value in c.advertising_ids}
    web_user_ids = {c.web_user_id for c in conversions if c.web_user_id}
    ips = {c.ip for c in conversions if c.ip and c.allows_probabilistic}
    keys = {
        name: values
        for name, values in (
            ("ttclid", ttclids),
            ("click_id", click_ids),
            ("idfa", advertising_ids),
            ("gaid", advertising_ids),
            ("web_user_id", web_user_ids),
            ("ip", ips),
        )
        if values
    }
    if not keys:
        return TouchIndex({}, {})
    earliest = min(c.at for c in conversions) - window
    latest = max(c.at for c in conversions) + CLICK_ID_CLOCK_TOLERANCE
    touchpoints = rows_with_any_key(Touchpoint, app, keys, occurred_between=(earliest, latest))
    by_pk: dict[int, Touchpoint] = {}
    by_key: dict[tuple[str, str], list[Touch]] = defaultdict(list)
    for touchpoint in touchpoints:
        by_pk[touchpoint.pk] = touchpoint
        touch = as_touch(touchpoint)
        for name, value in (
            ("ttclid", touch.ttclid),
            ("click_id", touch.click_id),
            ("adid", touch.idfa),
            ("adid", touch.gaid),
            ("web_user_id", touch.web_user_id),
            ("ip", touch.ip),
        ):
            if value:
                by_key[(name, value)].append(touch)
    return TouchIndex(by_pk, by_key)


def attribute_conversions(
    app: App, conversions: Sequence[Conversion], lookbacks: dict[str, Lookback] | None = None
) -> list[tuple[Decision, Touchpoint | None]]:
    """Decide each conversion against the touchpoints of the whole batch (one query)."""
    if lookbacks is None:
        lookbacks = lookbacks_for_app(app)
    index = load_touch_index(app, conversions, longest_window(lookbacks))
    decisions = []
    for conversion in conversions:
        decision = decide(conversion, index.candidates(conversion), lookbacks)
        touchpoint = index.by_pk[decision.touch.key] if decision.touch else None
        decisions.append((decision, touchpoint))
    return decisions


def attribution_from_touchpoint(touchpoint: Touchpoint | None, match_type: str) -> dict[str, Any]:
    """The AttributionFields a conversion wins from a touchpoint (or organic)."""
    if touchpoint is None:
        return dict.fromkeys(ATTRIBUTION_FIELDS, "") | {
            "media_source": ORGANIC,
            "touch_time": None,
        }
    return {
        "media_source": touchpoint.media_source,
        "campaign": touchpoint.campaign,
        "campaign_id": touchpoint.campaign_id,
        "adset": touchpoint.adset,
        "adset_id": touchpoint.adset_id,
        "ad": touchpoint.ad,
        "ad_id": touchpoint.ad_id,
        "site_id": touchpoint.site_id,
        "channel": touchpoint.channel,
        "keywords": touchpoint.keywords,
        "touch_type": touchpoint.kind,
        "touch_time": touchpoint.occurred_at,
        "ttclid": touchpoint.ttclid,
        "match_type": match_type,
    }


def attribution_of(row: AttributionFields) -> dict[str, Any]:
    return {name: getattr(row, name) for name in ATTRIBUTION_FIELDS}


@dataclass(frozen=True)
class UserKeys:
    """The ids by which an event names its user, strongest first."""

    device_id: str = ""
    web_user_id: str = ""
    idfa: str = ""
    gaid: str = ""
    idfv: str = ""
    customer_user_id: str = ""

    @classmethod
    def of(cls, source: Any) -> UserKeys:
        """The keys of anything that carries them under these names: a draft, an install, an
        event (installs, events and drafts name their user the same way)."""
        return cls(**{name: getattr(source, name) or "" for name in USER_KEY_FIELDS})

    def as_fields(self) -> dict[str, str]:
        """Keyword arguments for a model or draft with the same field names."""
        return {name: getattr(self, name) for name in USER_KEY_FIELDS}

    def pairs(self) -> list[tuple[str, str]]:
        """(name, value) of each key the user has, strongest first."""
        return [(name, getattr(self, name)) for name in USER_KEY_FIELDS if getattr(self, name)]


# The one list of user/device keys; the models' columns, lookups and indexes are named after it.
USER_KEY_FIELDS = tuple(field.name for field in fields(UserKeys))


class InstallIndex:
    """Installs (first and re-engagement) of a batch's users, by each user key."""

    def __init__(self, installs: Iterable[Install]) -> None:
        self.by_key: dict[tuple[str, str], list[Install]] = defaultdict(list)
        for install in installs:
            for pair in UserKeys.of(install).pairs():
                self.by_key[pair].append(install)

    def install_for(self, keys: UserKeys, at: datetime) -> Install | None:
        """The install whose attribution an event at `at` copies: a re-engagement in the last
        REENGAGEMENT_WINDOW if there is one, else the user's first install. An event from
        before the user's install copies nothing: the ad that brought the install came after
        it, so it is attributed at its own time like the event of a user without install."""
        for pair in keys.pairs():
            installs = self.by_key.get(pair)
            if installs:
                return _install_at(installs, at)
        return None


def _install_at(installs: list[Install], at: datetime) -> Install | None:
    installs = [i for i in installs if i.installed_at <= at]
    if not installs:
        return None
    first = next((i for i in installs if not i.is_reengagement), None)
    reengagements = [
        i
        for i in installs
        if i.is_reengagement and i.installed_at <= at <= i.installed_at + REENGAGEMENT_WINDOW
    ]
    if reengagements:
        return max(reengagements, key=lambda i: (i.installed_at, i.pk))
    return first or max(installs, key=lambda i: (i.installed_at, i.pk))


def load_install_index(app: App, users: Iterable[UserKeys]) -> InstallIndex:
    """One query for the installs of every user in the batch."""
    values: dict[str, set[str]] = defaultdict(set)
    for keys in users:
        for name, value in keys.pairs():
            values[name].add(value)
    if not values:
        return InstallIndex([])
    return InstallIndex(rows_with_any_key(Install, app, values))


def rows_with_any_key(
    model: type[M],
    app: App,
    keys: dict[str, set[str]],
    *,
    occurred_between: tuple[datetime, datetime] | None = None,
) -> Iterable[M]:
    """The app's rows whose value of any field named in `keys` is one of the values listed for
    it (and, given `occurred_between`, whose `occurred_at` lies within it, ends included).

    On PostgreSQL the statement is text made once per set of field names (`= ANY` takes any
    number of values), read into model instances: compiling it through the ORM on every
    request cost more CPU than running it, about a tenth of a single event's request."""
    database = model._default_manager.db
    connection = connections[database]
    names = tuple(keys)
    if connection.vendor != "postgresql":
        conditions = Q()
        for name in names:
            conditions |= Q(**{f"{name}__in": sorted(keys[name])})
        rows = model._default_manager.filter(conditions, app=app)
        if occurred_between:
            rows = rows.filter(occurred_at__range=occurred_between)
        return rows
    params: list[Any] = [app.pk, *(occurred_between or ())]
    params += [sorted(keys[name]) for name in names]
    # psycopg's own cursor binds on the server, so after a few runs psycopg prepares the
    # statement and PostgreSQL stops parsing and planning it on every request. Same connection,
    # same transaction.
    with server_cursor(connection, reads_times=True) as cursor:
        cursor.execute(_any_key_sql(connection, model, names, bool(occurred_between)), params)
        attnames = [field.attname for field in model._meta.concrete_fields]
        return [model.from_db(database, attnames, row) for row in cursor.fetchall()]


@functools.lru_cache(maxsize=256)
def _any_key_sql(
    connection: BaseDatabaseWrapper, model: type[Model], names: tuple[str, ...], in_time: bool
) -> str:
    """Columns in model order, as `Model.from_db` reads them (PostgreSQL's types need none of
    Django's converters for these models' fields)."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column or field.name) for field in meta.concrete_fields)
    fields = {field.name: field for field in meta.concrete_fields}
    any_key = " OR ".join(
        f"{quote(fields[name].column or name)} = ANY(%s::{fields[name].db_type(connection)}[])"
        for name in names
    )
    in_range = f" AND {quote('occurred_at')} BETWEEN %s AND %s" if in_time else ""
    # Table, column and type names come from the model's metadata; values are parameters.
    return (
        f"SELECT {columns} FROM {quote(meta.db_table)} "  # noqa: S608
        f"WHERE {quote('app_id')} = %s{in_range} AND ({any_key})"
    )
