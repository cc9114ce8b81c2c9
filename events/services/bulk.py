"""`INSERT … ON CONFLICT DO NOTHING RETURNING`: a bulk insert that tells new rows from repeats.

Django's `bulk_create(ignore_conflicts=True)` cannot say which rows were new (LIBRARY-NOTES.md),
so we write the statement ourselves. PostgreSQL and SQLite ≥ 3.35 both support it. It is
race-safe: of two transactions inserting the same key, the second waits for the first and then
skips the row, so each key is stored once and exactly one request hears "accepted".
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from events.services.pg_cursor import server_cursor

POSTGRES_ROWS_PER_STATEMENT = 1000


def insert_new_rows(
    model: type[models.Model], objs: Sequence[models.Model], returning: Sequence[str]
) -> list[tuple]:
    """Insert `objs`, skip any that break a unique constraint, and return `returning` columns
    of the rows actually inserted (in no particular order)."""
    if not objs:
        return []
    db = router.db_for_write(model)
    connection = connections[db]
    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if not f.primary_key]
    if connection.vendor == "postgresql":
        return _insert_as_arrays(connection, model, objs, fields, returning, skip_repeats=True)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column or f.name) for f in fields)
    returning_sql = ", ".join(quote(_column_name(model, name)) for name in returning)
    row_placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    rows: list[tuple] = []
    size = _rows_per_statement(connection, len(fields))
    _stamp_auto_now(fields, objs)
    with connection.cursor() as cursor:
        for start in range(0, len(objs), size):
            batch = objs[start : start + size]
            params = [
                field.get_db_prep_save(_value_of(field, obj), connection)
                for obj in batch
                for field in fields
            ]
            # Table and column names come from the model's metadata; values are parameters.
            values_sql = ", ".join([row_placeholder] * len(batch))
            statement = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values_sql} "  # noqa: S608
            statement += f"ON CONFLICT DO NOTHING RETURNING {returning_sql}"
            cursor.execute(statement, params)
            rows.extend(cursor.fetchall())
    return rows


def _column_name(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field.column


def _rows_per_statement(connection: BaseDatabaseWrapper, field_count: int) -> int:
    if connection.vendor != "sqlite":
        return POSTGRES_ROWS_PER_STATEMENT
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, limit // field_count)


def _insert_as_arrays(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    objs: Sequence[models.Model],
    fields: list[models.Field],
    returning: Sequence[str],
    *,
    skip_repeats: bool,
) -> list[tuple]:
    """`INSERT … SELECT … FROM unnest(%b::type[], …)`: one parameter per column whatever the
    number of rows, so no 40,000-placeholder query is built and parsed per request, which cost
    more than the rows themselves. A column with the same value in every row of the batch (the
    app, the time received, blank fields, most of a postback) goes as one value instead of an
    array: each array element is prepared and packed in Python. The statement's text depends
    only on which columns vary, so psycopg converts it once per shape. A single row (the
    single-event API) goes as plain typed parameters: arrays of one element cost more."""
    rows: list[tuple] = []
    # psycopg's own cursor binds on the server, arrays in binary (Django's client-side cursor
    # would quote every value into the statement's text). Same connection, same transaction.
    with server_cursor(connection) as cursor:
        _stamp_auto_now(fields, objs)
        if len(objs) == 1:
            statement = _one_row_statement(
                connection, model, tuple(fields), tuple(returning), skip_repeats
            )
            cursor.execute(statement, [_column_values(f, objs, connection)[0] for f in fields])
            return cursor.fetchall() if returning else []
        for start in range(0, len(objs), POSTGRES_ROWS_PER_STATEMENT):
            batch = objs[start : start + POSTGRES_ROWS_PER_STATEMENT]
            columns = [_column(field, batch, connection) for field in fields]
            if not any(isinstance(column, _Varying) for column in columns):
                # unnest needs one array to give the statement its rows.
                columns[0] = _Varying(_column_values(fields[0], batch, connection))
            rows += _execute_arrays(
                cursor, connection, model, fields, columns, returning, skip_repeats
            )
    return rows


def insert_columns(
    model: type[models.Model], per_row: dict[str, list], shared: dict[str, Any]
) -> int:
    """Insert rows given column by column, without a model instance per row: `per_row` holds
    one value per row for each named field (all lists of one length), `shared` one value for
    every row; other fields take their defaults (auto_now times: now). Fields are named by
    attname (`integration_id`). Returns the number of rows."""
    count = len(next(iter(per_row.values()), []))
    if any(len(values) != count for values in per_row.values()):
        raise ValueError("every per-row column needs one value per row")
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    unknown = (set(per_row) | set(shared)) - {f.attname for f in fields}
    if unknown:
        raise ValueError(f"not columns of {model.__name__}: {sorted(unknown)}")
    if not count:
        return 0
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            [
                model(**shared, **{name: values[i] for name, values in per_row.items()})
                for i in range(count)
            ],
            batch_size=POSTGRES_ROWS_PER_STATEMENT,
        )
        return count
    now = timezone.now()
    with server_cursor(connection) as cursor:
        for start in range(0, count, POSTGRES_ROWS_PER_STATEMENT):
            stop = min(count, start + POSTGRES_ROWS_PER_STATEMENT)
            columns: list[Any] = []
            for field in fields:
                if field.attname in per_row:
                    values = per_row[field.attname][start:stop]
                    columns.append(_Varying(_prepared(field, values, connection)))
                    continue
                if field.attname in shared:
                    value = shared[field.attname]
                else:
                    value = now if _is_auto_now(field) else field.get_default()
                columns.append(field.get_db_prep_save(value, connection))
            if not any(isinstance(column, _Varying) for column in columns):
                raise ValueError("insert_columns needs at least one per-row column")
            if count == 1:  # the single-event API: typed parameters, as in _insert_as_arrays
                row = [c.values[0] if isinstance(c, _Varying) else c for c in columns]
                cursor.execute(_one_row_statement(connection, model, tuple(fields), (), False), row)
                continue
            _execute_arrays(cursor, connection, model, fields, columns, (), False)
    return count


def _execute_arrays(
    cursor: Any,
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    fields: list[models.Field],
    columns: list[Any],
    returning: Sequence[str],
    skip_repeats: bool,
) -> list[tuple]:
    """One INSERT of a batch whose columns are arrays (`_Varying`) or single values."""
    varies = tuple(isinstance(column, _Varying) for column in columns)
    statement = _arrays_statement(
        connection, model, tuple(fields), varies, tuple(returning), skip_repeats
    )
    # The single values come first in the statement's text, then the arrays.
    params = [c for c in columns if not isinstance(c, _Varying)]
    params += [c.values for c in columns if isinstance(c, _Varying)]
    cursor.execute(statement, params)
    return cursor.fetchall() if returning else []


@dataclass(frozen=True)
class _Varying:
    values: list


def _column(
    field: models.Field, batch: Sequence[models.Model], connection: BaseDatabaseWrapper
) -> Any:
    """The batch's values of one column, or its one value when every row has the same. JSON
    is always sent whole: Python finds {"n": 1} equal to {"n": 1.0}, which JSON does not."""
    raw = [getattr(obj, field.attname) for obj in batch]
    first = raw[0]
    if not isinstance(field, models.JSONField) and all(
        value == first and type(value) is type(first) for value in raw
    ):
        return _column_values(field, batch[:1], connection)[0]
    return _Varying(_column_values(field, batch, connection))


def _stamp_auto_now(fields: list[models.Field], objs: Sequence[models.Model]) -> None:
    """A batch is stored at one instant: one time for every row's auto_now(_add) field, where
    the field's own pre_save reads the clock once per row."""
    for field in fields:
        if _is_auto_now(field):
            now = timezone.now()
            for obj in objs:
                setattr(obj, field.attname, now)


def _is_auto_now(field: models.Field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def _value_of(field: models.Field, obj: models.Model) -> Any:
    """The value to store: what pre_save gives, except for times stamped for the batch."""
    return getattr(obj, field.attname) if _is_auto_now(field) else field.pre_save(obj, True)


def _returning_tail(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    returning: tuple[str, ...],
    skip_repeats: bool,
) -> str:
    quote = connection.ops.quote_name
    tail = ""
    if skip_repeats:
        # Partitioned tables hold their cross-month keys in key tables whose trigger skips a
        # repeat only when told so for this statement (events/migrations/0010); the filter
        # runs for each row before the row reaches the trigger.
        tail = (
            " WHERE set_config('signalboard.skip_repeats', statement_timestamp()::text, true)"
            " IS NOT NULL ON CONFLICT DO NOTHING"
        )
    if returning:
        tail += " RETURNING " + ", ".join(quote(_column_name(model, name)) for name in returning)
    return tail


@functools.lru_cache(maxsize=256)
def _arrays_statement(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    fields: tuple[models.Field, ...],
    varies: tuple[bool, ...],
    returning: tuple[str, ...],
    skip_repeats: bool,
) -> str:
    """Made once per process and shape (working out the column types on every call was a
    tenth of a single event's CPU)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column or f.name) for f in fields)
    types = [f.db_type(connection) for f in fields]
    selected = [
        f"v.c{index}" if varying else f"%b::{db_type}"
        for index, (varying, db_type) in enumerate(zip(varies, types, strict=True))
    ]
    arrays = [f"%b::{db_type}[]" for varying, db_type in zip(varies, types, strict=True) if varying]
    names = [f"c{index}" for index, varying in enumerate(varies) if varying]
    tail = _returning_tail(connection, model, returning, skip_repeats)
    # Table, column and type names come from the model's metadata; values are parameters.
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) "
        f"AS v({', '.join(names)}){tail}"
    )


@functools.lru_cache(maxsize=32)
def _one_row_statement(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    fields: tuple[models.Field, ...],
    returning: tuple[str, ...],
    skip_repeats: bool,
) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column or f.name) for f in fields)
    values = ", ".join(f"%s::{f.db_type(connection)}" for f in fields)
    tail = _returning_tail(connection, model, returning, skip_repeats)
    # Table, column and type names come from the model's metadata; values are parameters.
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) SELECT {values}{tail}"  # noqa: S608


# Fields whose stored value is the attribute as it is: text is text, a foreign key its id.
# Exact types only: a subclass (an encrypted secret is a TextField) prepares its own value.
_AS_IS = {models.CharField, models.TextField, models.ForeignKey}


def _column_values(
    field: models.Field, batch: Sequence[models.Model], connection: BaseDatabaseWrapper
) -> list:
    """One column of the batch as the database stores it."""
    if type(field) in _AS_IS or type(field) is models.GenericIPAddressField:
        return _prepared(field, [getattr(obj, field.attname) for obj in batch], connection)
    return _prepared(field, [_value_of(field, obj) for obj in batch], connection)


def _prepared(field: models.Field, values: list, connection: BaseDatabaseWrapper) -> list:
    """Values of one column as the database stores them. Text and ids go as they are (Django's
    per-value preparation of 185,000 values was a fifth of a batch's CPU); times, JSON and
    decimals go through Django's own preparation."""
    if type(field) in _AS_IS:
        return values
    if type(field) is models.GenericIPAddressField:
        # As text, which the statement casts to inet: Django's adapter parses every address
        # into an ipaddress object first (3% of a batch's CPU), only for psycopg to print it.
        return [field.get_prep_value(value) or None for value in values]
    return [field.get_db_prep_save(value, connection) for value in values]
