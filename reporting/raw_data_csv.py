"""Writing raw-data reports as CSV, in constant memory.

Two writers give the same bytes: on PostgreSQL the database formats every cell and streams the
rows with `COPY (…) TO STDOUT WITH CSV` (several times faster than fetching them into Python);
elsewhere Python formats them. Both follow one set of rules: times as `yyyy-mm-dd hh:mm:ss` in
the report's timezone, money without trailing zeros, `true`/`false`, JSON with PostgreSQL's key
order, empty cells empty, and a leading apostrophe on free text that a spreadsheet would run as a
formula. tests/reporting/test_raw_data_export.py holds them to it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connections
from django.db.models import (
    Case,
    DecimalField,
    Expression,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, NullIf, TruncDate

from reporting import raw_data_columns as columns
from reporting.exchange_rates import RateBook
from reporting.models import ExchangeRate
from reporting.raw_data import RawDataQuery, column_sources, headers, own_columns, report_rows
from reporting.spreadsheet import FORMULA_CODES, defuse_formula

SIX_PLACES = Decimal("0.000001")
CHUNK_ROWS = 2000


class _Line:
    """csv.writer target that hands back the formatted line instead of writing it."""

    def write(self, value: str) -> str:
        return value


# "\r\n" makes Python quote cells holding a lone "\r" as PostgreSQL does; each line then ends
# in "\n" like COPY's.
_writer = csv.writer(_Line(), lineterminator="\r\n")


def csv_line(cells: list[str]) -> str:
    return _writer.writerow(cells)[:-2] + "\n"


def stream_csv(query: RawDataQuery) -> Iterator[bytes]:
    """The export as UTF-8 in blocks of about BLOCK_BYTES: the header line, then the rows (at
    most `maximum_rows`). Blocks, not lines, so the server makes one write per 64 KiB."""
    return _blocks(_lines(query))


BLOCK_BYTES = 64 * 1024


def _lines(query: RawDataQuery) -> Iterator[bytes]:
    yield csv_line(headers(query)).encode()
    rows = report_rows(query)[: query.maximum_rows]
    if query.kind.sources is not None and connections[rows.db].vendor == "postgresql":
        yield from _copy_rows(query, rows)
    else:
        for cells in formatted_rows(query, rows):
            yield csv_line(cells).encode()


def _blocks(lines: Iterator[bytes]) -> Iterator[bytes]:
    block: list[bytes] = []
    size = 0
    for line in lines:
        block.append(line)
        size += len(line)
        if size >= BLOCK_BYTES:
            yield b"".join(block)
            block, size = [], 0
    if block:
        yield b"".join(block)


def formatted_rows(query: RawDataQuery, rows: QuerySet) -> Iterator[list[str]]:
    """Each row as the CSV's cells, formatted in Python (preview, SQLite, own-column reports)."""
    if query.kind.sources is None:
        fields = [path for _, path in own_columns(query.kind)]
        for values in rows.values_list(*fields).iterator(chunk_size=CHUNK_ROWS):
            yield [_plain(value, query) for value in values]
        return
    plan = column_sources(query)
    paths = sorted({arg for _, (kind, arg) in plan if kind in PATH_KINDS})
    money = ["revenue", "currency", "event_time"] if _uses_revenue(plan) else []
    fetched = paths + [name for name in money if name not in paths]
    position = {name: index for index, name in enumerate(fetched)}
    rates = RateBook()
    for values in rows.values_list(*fetched).iterator(chunk_size=CHUNK_ROWS):
        revenue = _revenue_cells(query, rates, values, position) if money else None
        cells = []
        for name, (kind, arg) in plan:
            if kind == "const":
                cells.append(arg)
            elif kind in REVENUE_KINDS:
                cells.append(revenue[kind])
            else:
                cells.append(_format(kind, values[position[arg]], query, name))
        yield cells


PATH_KINDS = frozenset({"text", "time", "money", "bool", "json", "ip"})
REVENUE_KINDS = frozenset({"revenue", "revenue_currency", "revenue_usd"})


def _uses_revenue(plan: list[tuple[str, columns.Source]]) -> bool:
    return any(kind in REVENUE_KINDS for _, (kind, _arg) in plan)


def _format(kind: str, value: Any, query: RawDataQuery, name: str) -> str:
    if value is None:
        return ""
    if kind == "text":
        return defuse_formula(value)  # every text came from outside, ids included
    if kind == "time":
        return value.astimezone(query.tz).strftime("%Y-%m-%d %H:%M:%S")
    if kind == "money":
        return _money(value)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "json":
        return _json_text(value) if value else ""
    return str(value)  # ip


def _plain(value: Any, query: RawDataQuery) -> str:
    """Cells of the postbacks and cost reports."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(query.tz).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _money(value)
    if isinstance(value, str):
        return defuse_formula(value)
    return str(value)


def _money(value: Decimal) -> str:
    """Like PostgreSQL's trim_scale: 9.990000 → 9.99, 10.000000 → 10."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _json_text(value: Any) -> str:
    """JSON as PostgreSQL prints jsonb: keys by length then bytes, ", " and ": " separators."""
    return json.dumps(_jsonb_order(value), ensure_ascii=False, separators=(", ", ": "))


def _jsonb_order(value: Any) -> Any:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: (len(key.encode()), key.encode()))
        return {key: _jsonb_order(value[key]) for key in keys}
    if isinstance(value, list):
        return [_jsonb_order(item) for item in value]
    return value


def _revenue_cells(
    query: RawDataQuery, rates: RateBook, values: tuple, position: dict[str, int]
) -> dict[str, str]:
    """Event Revenue, its currency and USD. Revenue converts at the rate of the event's UTC day;
    `currency=preferred` shows it in the app's currency, or in its own when no rate exists."""
    revenue = values[position["revenue"]]
    currency = values[position["currency"]]
    if revenue is None:
        return {"revenue": "", "revenue_currency": currency, "revenue_usd": ""}
    day = values[position["event_time"]].astimezone(UTC).date()
    event_rate = rates.per_usd(currency, day)
    usd = "" if event_rate is None else _money(_round6(revenue / event_rate))
    shown, shown_currency = revenue, currency
    app_currency = query.app.currency
    if query.preferred_currency and currency != app_currency:
        app_rate = rates.per_usd(app_currency, day)
        if event_rate is not None and app_rate is not None:
            shown, shown_currency = _round6(revenue * app_rate / event_rate), app_currency
    if currency == "USD":
        usd = _money(revenue)
    return {"revenue": _money(shown), "revenue_currency": shown_currency, "revenue_usd": usd}


def _round6(value: Decimal) -> Decimal:
    return value.quantize(SIX_PLACES, rounding=ROUND_HALF_UP)


# --- PostgreSQL: the same cells, formatted by the database -----------------------------------


class _TrimScale(Func):
    function = "trim_scale"
    output_field = DecimalField()


class _Round6(Func):
    function = "round"
    template = "round(%(expressions)s, 6)"
    output_field = DecimalField()


class _LocalTimeText(Func):
    """`yyyy-mm-dd hh:mm:ss` in the report's timezone, fractions cut like Python's strftime.
    (A text cast under DateStyle ISO, which _copy_rows sets: twice as fast as to_char.)"""

    arg_joiner = " AT TIME ZONE "
    template = "date_trunc('second', %(expressions)s)::text"
    output_field = TextField()


class _GuardedText(Func):
    """NULLIF(text, ''), with an apostrophe before a leading = + - @, tab or carriage return
    (reporting/spreadsheet.py). ascii() is three times cheaper than a regular expression here."""

    template = (
        f"CASE WHEN ascii(%(expressions)s) IN ({FORMULA_CODES}) THEN '''' || %(expressions)s "
        "ELSE NULLIF(%(expressions)s, '') END"
    )
    output_field = TextField()


class _Host(Func):
    function = "host"
    output_field = TextField()


def _text(expression: Expression) -> Expression:
    return Cast(_TrimScale(expression), TextField())


def _sql_cell(kind: str, arg: str, query: RawDataQuery, name: str) -> Expression:
    if kind == "const":
        return Value(arg or None, output_field=TextField())
    if kind == "text":
        return _GuardedText(F(arg))  # every text came from outside, ids included
    if kind == "time":
        return _LocalTimeText(F(arg), Value(query.tz.key))
    if kind == "money":
        return _text(F(arg))
    if kind == "bool":
        return Case(
            When(Q(**{arg: True}), then=Value("true")),
            When(Q(**{arg: False}), then=Value("false")),
            default=Value(None),
            output_field=TextField(),
        )
    if kind == "json":
        return Case(
            When(Q(**{arg: {}}), then=Value(None, output_field=TextField())),
            default=Cast(F(arg), TextField()),
            output_field=TextField(),
        )
    if kind == "ip":
        return _Host(F(arg))
    raise ValueError(kind)


def _rate(currency: Expression) -> Expression:
    """The latest rate on or before the event's UTC day, as in RateBook."""
    latest = ExchangeRate.objects.filter(currency=currency, day__lte=OuterRef("_utc_day"))
    latest = latest.order_by("-day")
    return Subquery(latest.values("per_usd")[:1], output_field=DecimalField())


def _sql_revenue_cells(query: RawDataQuery) -> dict[str, Expression]:
    """The same three cells as _revenue_cells. `_converted` (revenue in the app's currency, NULL
    without both rates) is annotated first so the cells can test it."""
    no_revenue = Q(revenue__isnull=True)
    event_rate = Case(
        When(currency="USD", then=Value(Decimal(1))),
        default=_rate(OuterRef("currency")),
        output_field=DecimalField(),
    )
    app_currency = query.app.currency
    app_rate = Value(Decimal(1)) if app_currency == "USD" else _rate(Value(app_currency))
    cells: dict[str, Expression] = {
        "revenue_usd": Case(
            When(no_revenue, then=Value(None)),
            When(currency="USD", then=_text(F("revenue"))),
            default=_text(_Round6(F("revenue") / event_rate)),
            output_field=TextField(),
        ),
        "revenue": Case(
            When(no_revenue, then=Value(None)),
            default=_text(F("revenue")),
            output_field=TextField(),
        ),
        "revenue_currency": NullIf(F("currency"), Value(""), output_field=TextField()),
    }
    if not query.preferred_currency:
        return cells
    converted = Q(_converted__isnull=False) & ~Q(currency=app_currency)
    cells["_converted"] = _Round6(F("revenue") * app_rate / event_rate)
    cells["revenue"] = Case(
        When(no_revenue, then=Value(None)),
        When(converted, then=_text(F("_converted"))),
        default=_text(F("revenue")),
        output_field=TextField(),
    )
    cells["revenue_currency"] = Case(
        When(no_revenue, then=NullIf(F("currency"), Value(""))),
        When(converted, then=Value(app_currency)),
        default=F("currency"),
        output_field=TextField(),
    )
    return cells


def copy_statement(query: RawDataQuery, rows: QuerySet) -> tuple[str, tuple]:
    """The SELECT whose rows are the CSV's cells, each formatted by PostgreSQL."""
    plan = column_sources(query)
    annotations: dict[str, Expression] = {}
    revenue = _sql_revenue_cells(query) if _uses_revenue(plan) else {}
    if revenue:
        rows = rows.annotate(_utc_day=TruncDate("event_time", tzinfo=UTC))
    if "_converted" in revenue:
        rows = rows.annotate(_converted=revenue.pop("_converted"))
    names = []
    for index, (name, (kind, arg)) in enumerate(plan):
        alias = f"c{index}"
        if kind in REVENUE_KINDS:
            annotations[alias] = revenue[kind]
        else:
            annotations[alias] = _sql_cell(kind, arg, query, name)
        names.append(alias)
    return rows.annotate(**annotations).values_list(*names).query.sql_with_params()


def _copy_rows(query: RawDataQuery, rows: QuerySet) -> Iterator[bytes]:
    sql, params = copy_statement(query, rows)
    connection = connections[rows.db]
    connection.ensure_connection()
    statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
    raw = connection.connection
    with raw.transaction(), raw.cursor() as cursor:
        # Our time cells are text casts, so the format must not follow the server's DateStyle.
        # JIT compiling this wide projection costs more than it saves.
        cursor.execute("SET LOCAL datestyle = 'ISO, MDY'")
        cursor.execute("SET LOCAL jit = off")
        with cursor.copy(statement, params) as copy:
            for chunk in copy:
                yield bytes(chunk)
