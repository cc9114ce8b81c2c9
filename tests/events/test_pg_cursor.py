"""The hot paths' own cursor reads times with psycopg's compiled loader instead of Django's: the
datetimes must be the ones the ORM gives, to the microsecond and in the same zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from events.models import Touchpoint
from events.services.pg_cursor import server_cursor
from tests import factories

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's cursor: PostgreSQL"),
]

TIMES = [
    datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
    # Written with another offset: stored as the same instant, read back in UTC.
    datetime(2026, 10, 25, 2, 30, 0, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def test_times_come_back_as_the_orm_reads_them():
    app = factories.make_app()
    ids = [
        Touchpoint.objects.create(app=app, occurred_at=at, click_id=f"c-{n}").pk
        for n, at in enumerate(TIMES)
    ]
    with server_cursor(connection, reads_times=True) as cursor:
        cursor.execute(
            "SELECT id, occurred_at FROM events_touchpoint WHERE id = ANY(%s) ORDER BY id", [ids]
        )
        read = dict(cursor.fetchall())
    by_orm = dict(Touchpoint.objects.filter(pk__in=ids).values_list("pk", "occurred_at"))
    for pk, at in zip(ids, TIMES, strict=True):
        assert read[pk] == by_orm[pk] == at
        assert read[pk].tzinfo is by_orm[pk].tzinfo is UTC
        assert read[pk].isoformat() == by_orm[pk].isoformat()
