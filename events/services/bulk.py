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

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper

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
    returning_sql = ", ".join(quote(_column(model, name)) for name in returning)
    row_placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    rows: list[tuple] = []
    size = _rows_per_statement(connection, len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), size):
            batch = objs[start : start + size]
            params = [
                field.get_db_prep_save(field.pre_save(obj, True), connection)
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


def _column(model: type[models.Model], name: str) -> str:
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


def insert_rows(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert many rows (a repeat is an error, as with `bulk_create`): on PostgreSQL in one
    statement of column arrays, elsewhere with `bulk_create`. The objects do not get their
    primary keys back (nothing that calls it needs them)."""
    if not objs:
        return
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=POSTGRES_ROWS_PER_STATEMENT)
        return
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    _insert_as_arrays(connection, model, objs, fields, [], skip_repeats=False)


def _insert_as_arrays(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    objs: Sequence[models.Model],
    fields: list[models.Field],
    returning: Sequence[str],
    *,
    skip_repeats: bool,
) -> list[tuple]:
    """`INSERT … SELECT * FROM unnest(%b::type[], …)`: one parameter per column whatever the
    number of rows, so the statement is the same text for every batch (psycopg converts it
    once) and no 40,000-placeholder query is built and parsed per request, which cost more
    than the rows themselves. A single row (the single-event API) goes as plain typed
    parameters instead: arrays of one element cost more to build than the row."""
    statements = _statements(connection, model, tuple(fields), tuple(returning), skip_repeats)
    import psycopg  # PostgreSQL only

    rows: list[tuple] = []
    connection.ensure_connection()
    # psycopg's own cursor binds on the server, arrays in binary (Django's client-side cursor
    # would quote every value into the statement's text). Same connection, same transaction.
    with psycopg.Cursor(connection.connection) as cursor:
        if len(objs) == 1:
            cursor.execute(
                statements.one_row, [_column_values(f, objs, connection)[0] for f in fields]
            )
            return cursor.fetchall() if returning else []
        for start in range(0, len(objs), POSTGRES_ROWS_PER_STATEMENT):
            batch = objs[start : start + POSTGRES_ROWS_PER_STATEMENT]
            params = [_column_values(field, batch, connection) for field in fields]
            cursor.execute(statements.arrays, params)
            if returning:
                rows.extend(cursor.fetchall())
    return rows


@dataclass(frozen=True)
class _Statements:
    arrays: str
    one_row: str


@functools.lru_cache(maxsize=32)
def _statements(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    fields: tuple[models.Field, ...],
    returning: tuple[str, ...],
    skip_repeats: bool,
) -> _Statements:
    """The two statements for a model, made once per process (their column types were a
    tenth of a single event's CPU when worked out on every call)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column or f.name) for f in fields)
    types = [f.db_type(connection) for f in fields]
    arrays = ", ".join(f"%b::{db_type}[]" for db_type in types)
    one_row = ", ".join(f"%s::{db_type}" for db_type in types)
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
        tail += " RETURNING " + ", ".join(quote(_column(model, name)) for name in returning)
    # Table, column and type names come from the model's metadata; values are parameters.
    table = quote(model._meta.db_table)
    return _Statements(
        arrays=f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}){tail}",  # noqa: S608
        one_row=f"INSERT INTO {table} ({columns}) SELECT {one_row}{tail}",  # noqa: S608
    )


# Fields whose stored value is the attribute as it is: text is text, a foreign key its id.
# Exact types only: a subclass (an encrypted secret is a TextField) prepares its own value.
_AS_IS = {models.CharField, models.TextField, models.ForeignKey}


def _column_values(
    field: models.Field, batch: Sequence[models.Model], connection: BaseDatabaseWrapper
) -> list:
    """One column of the batch as the database stores it. Text and ids are read as they are
    (Django's per-value preparation of 185,000 values was a fifth of a batch's CPU); times,
    JSON, decimals and addresses go through Django's own preparation."""
    if type(field) in _AS_IS:
        return [getattr(obj, field.attname) for obj in batch]
    if type(field) is models.GenericIPAddressField:
        # As text, which the statement casts to inet: Django's adapter parses every address
        # into an ipaddress object first (3% of a batch's CPU), only for psycopg to print it.
        return [field.get_prep_value(getattr(obj, field.attname)) or None for obj in batch]
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in batch]
