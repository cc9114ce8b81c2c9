"""`INSERT … ON CONFLICT DO NOTHING RETURNING`: a bulk insert that tells new rows from repeats.

Django's `bulk_create(ignore_conflicts=True)` cannot say which rows were new (LIBRARY-NOTES.md),
so we write the statement ourselves. PostgreSQL and SQLite ≥ 3.35 both support it. It is
race-safe: of two transactions inserting the same key, the second waits for the first and then
skips the row, so each key is stored once and exactly one request hears "accepted".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

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
