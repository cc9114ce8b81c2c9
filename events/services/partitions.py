"""Monthly partitions of touchpoints, events and postbacks, and how old months go.

On PostgreSQL the three tables are partitioned by month (events/migrations/0010): partitions
are made three months ahead by a daily task, and with `EVENT_RETENTION_MONTHS` set, a month
older than that is dropped whole, which costs the same whatever it holds and leaves no dead
rows behind. Before a month goes, what points into it is cleared: installs forget their
touchpoint, postbacks of its events go with them. Rows outside every month (an event dated
2019 arriving today) sit in the default partition and are deleted row by row.

Aggregates are kept: the Overview's and Retention's rollups are not touched by a drop, as an
attribution tool keeps aggregate data longer than raw rows. On SQLite the same retention
deletes rows, and its reports, read from raw rows, lose those months.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from events.models import InAppEvent, Postback, Touchpoint

MONTHS_AHEAD = 3
# Table → its partition column. Postbacks first: dropping them first leaves less to clear.
PARTITIONED = {
    "events_postback": "created_at",
    "events_inappevent": "event_time",
    "events_touchpoint": "occurred_at",
}
# The keys that must hold across months (an event id per app, a click id), with their time.
KEY_TABLES = {
    "events_inappevent": ("events_eventkey", "event_time"),
    "events_touchpoint": ("events_clickkey", "occurred_at"),
}
PARTITION_NAME = re.compile(r"_p(\d{4})(\d{2})$")


@dataclass
class RetentionOutcome:
    cutoff: date | None
    dropped: list[str] = field(default_factory=list)
    deleted_rows: int = 0


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'events_inappevent'")
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def partitions(table: str) -> dict[date, str]:
    """The month partitions of `table`, by their first day (the default one left out)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table],
        )
        names = [row[0] for row in cursor.fetchall()]
    months = {}
    for name in names:
        match = PARTITION_NAME.search(name)
        if match:
            months[date(int(match.group(1)), int(match.group(2)), 1)] = name
    return months


def months_ready(today: date | None = None) -> int | None:
    """How many months from this one on have their partitions in all three tables (None when
    the tables are not partitioned). 0 means this month's rows go to the default partitions:
    the daily task has not run."""
    if not is_partitioned():
        return None
    first = month_start(today or timezone.now().astimezone(UTC).date())
    ready = []
    for table in PARTITIONED:
        months = partitions(table)
        count = 0
        while add_months(first, count) in months:
            count += 1
        ready.append(count)
    return min(ready)


def ensure_partitions(today: date | None = None) -> list[str]:
    """Make this month's partition and the next three where missing. Rows the default
    partition holds for such a month move into it, so the new month is attached whole."""
    if not is_partitioned():
        return []
    first = month_start(today or timezone.now().astimezone(UTC).date())
    created = []
    for table, column in PARTITIONED.items():
        existing = partitions(table)
        for offset in range(MONTHS_AHEAD + 1):
            month = add_months(first, offset)
            if month not in existing:
                created.append(_create_partition(table, column, month))
    return created


def _create_partition(table: str, column: str, month: date) -> str:
    name = f"{table}_p{month:%Y%m}"
    lower = f"'{month.isoformat()} 00:00+00'"
    upper = f"'{add_months(month, 1).isoformat()} 00:00+00'"
    # Names and bounds are built from our own constants and dates, never from input.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        cursor.execute(
            f"WITH moved AS (DELETE FROM {table}_default "  # noqa: S608
            f"WHERE {column} >= {lower} AND {column} < {upper} RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved"
        )
        cursor.execute(
            f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({lower}) TO ({upper})"
        )
    return name


def apply_retention(months: int | None = None, today: date | None = None) -> RetentionOutcome:
    """Remove touchpoints, events and postbacks dated before the first day of the month
    `months` months ago (`EVENT_RETENTION_MONTHS`; 0 keeps everything)."""
    months = settings.EVENT_RETENTION_MONTHS if months is None else months
    if not months:
        return RetentionOutcome(cutoff=None)
    cutoff = add_months(month_start(today or timezone.now().astimezone(UTC).date()), -months)
    if is_partitioned():
        return _drop_old_months(cutoff)
    return _delete_old_rows(cutoff)


def _drop_old_months(cutoff: date) -> RetentionOutcome:
    outcome = RetentionOutcome(cutoff=cutoff)
    bound = datetime(cutoff.year, cutoff.month, 1, tzinfo=UTC)
    for table, column in PARTITIONED.items():
        for month, name in sorted(partitions(table).items()):
            if add_months(month, 1) <= cutoff:
                with transaction.atomic(), connection.cursor() as cursor:
                    _clear_references(cursor, table, name, None, bound)
                    # A table with deferred foreign-key checks pending cannot be dropped: run
                    # them now (they are pending only when the caller wrote rows first).
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    cursor.execute(f"DROP TABLE {name}")
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                outcome.dropped.append(name)
        default = f"{table}_default"
        with transaction.atomic(), connection.cursor() as cursor:
            _clear_references(cursor, table, default, column, bound)
            cursor.execute(f"DELETE FROM {default} WHERE {column} < %s", [bound])  # noqa: S608
            outcome.deleted_rows += cursor.rowcount
            if table in KEY_TABLES:
                key_table, key_time = KEY_TABLES[table]
                cursor.execute(
                    f"DELETE FROM {key_table} WHERE {key_time} < %s",  # noqa: S608
                    [bound],
                )
    return outcome


def _clear_references(cursor, table: str, source: str, column: str | None, bound) -> None:
    """What points at rows of `source` (a partition about to go): installs forget their
    touchpoint; postbacks of its events are deleted (Postback.event cascades)."""
    only_old = f"AND gone.{column} < %s" if column else ""
    params = [bound] if column else []
    if table == "events_touchpoint":
        cursor.execute(
            f"UPDATE events_install SET touchpoint_id = NULL FROM {source} gone "  # noqa: S608
            f"WHERE events_install.touchpoint_id = gone.id {only_old}",
            params,
        )
    elif table == "events_inappevent":
        cursor.execute(
            f"DELETE FROM events_postback USING {source} gone "  # noqa: S608
            f"WHERE events_postback.event_id = gone.id {only_old}",
            params,
        )


def _delete_old_rows(cutoff: date) -> RetentionOutcome:
    bound = datetime(cutoff.year, cutoff.month, 1, tzinfo=UTC)
    outcome = RetentionOutcome(cutoff=cutoff)
    with transaction.atomic():
        for query in (
            Postback.objects.filter(created_at__lt=bound),
            InAppEvent.objects.filter(event_time__lt=bound),
            Touchpoint.objects.filter(occurred_at__lt=bound),
        ):
            deleted, _ = query.delete()
            outcome.deleted_rows += deleted
    return outcome
