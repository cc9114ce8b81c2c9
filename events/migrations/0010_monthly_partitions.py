"""On PostgreSQL, touchpoints, events and postbacks become tables partitioned by month.

Native declarative partitioning (https://www.postgresql.org/docs/15/ddl-partitioning.html):
each table is rebuilt as `PARTITION BY RANGE (<time>)` with one partition per month that holds
rows, the current month and three ahead, and a default partition for anything outside them.
Old months are then dropped whole (`EVENT_RETENTION_MONTHS`) and each month's indexes stay
small. SQLite keeps plain tables: nothing here runs there.

What PostgreSQL asks of a partitioned table, and what we do about it:
- Every unique key must contain the partition column. The primary key becomes (id, time); ids
  still come from one sequence, so they stay unique. The two keys that must hold across months,
  an event's (app, event_id) and a click's click_id, move to small key tables
  (`events_eventkey`, `events_clickkey`) claimed by a row trigger. A repeat raises a unique
  violation under the old constraint's name, except in the statements of
  events.services.bulk.insert_new_rows, which say so by setting `signalboard.skip_repeats` to
  their statement's start time: there it is skipped, so `INSERT … ON CONFLICT DO NOTHING
  RETURNING` still returns only new rows. A concurrent repeat waits for the first writer.
- Postbacks' unique keys gain `created_at`, so on PostgreSQL they no longer refuse a second
  postback for the same event and mapping by themselves: postbacks are planned only for events
  just stored, in the transaction that stores them, and an event is stored once.
- No foreign key can reference a partitioned table: Install.touchpoint and Postback.event lost
  theirs in 0009 (Django still cascades; dropping a month clears references first).
- Identity columns arrive on partitioned tables only in PostgreSQL 17, so `id` takes its default
  from a sequence owned by the column (Django's sequence resets find it).

Indexes, check and foreign-key constraints and triggers (the reporting rollups') are read from
the catalog and recreated with their names, so later Django migrations can still find them.
The data is copied: on a large database run this migration in a maintenance window.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from django.db import migrations

# table → (partition column, unique constraints replaced by a key table)
PARTITIONED = {
    "events_touchpoint": ("occurred_at", "click_id"),
    "events_inappevent": ("event_time", "event_unique_per_app"),
    "events_postback": ("created_at", None),
}
MONTHS_AHEAD = 3

KEY_TABLES = """
CREATE TABLE events_eventkey (
    app_id bigint NOT NULL,
    event_id varchar(128) NOT NULL,
    event_time timestamptz NOT NULL,
    row_id bigint NOT NULL,
    PRIMARY KEY (app_id, event_id)
);
CREATE INDEX events_eventkey_time ON events_eventkey (event_time);
CREATE TABLE events_clickkey (
    click_id varchar(64) PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    row_id bigint NOT NULL
);
CREATE INDEX events_clickkey_time ON events_clickkey (occurred_at);
"""


def key_table_triggers(
    keys: str, table: str, columns: tuple[str, ...], time: str, constraint: str
) -> str:
    """The functions and triggers that keep `keys` (the key `columns`, the row's `time` and
    id) for `table`: claim the key before a row goes in, release it when the row is deleted,
    clear them all on TRUNCATE. A repeat (another row's key) raises a unique violation under
    the old constraint's name, or is skipped in insert_new_rows' statements. A row moved to
    another month by an update of its time keeps its key (same row id)."""
    listed = ", ".join(columns)
    values = ", ".join(f"NEW.{column}" for column in columns)
    same_key = " AND ".join(f"k.{column} = gone.{column}" for column in columns)
    return f"""
CREATE FUNCTION {keys}_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {keys} AS k ({listed}, {time}, row_id)
    VALUES ({values}, NEW.{time}, NEW.id)
    ON CONFLICT ({listed}) DO UPDATE SET {time} = EXCLUDED.{time}
    WHERE k.row_id = EXCLUDED.row_id;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    IF current_setting('signalboard.skip_repeats', true) = statement_timestamp()::text THEN
        RETURN NULL;  -- INSERT … ON CONFLICT DO NOTHING (events.services.bulk): skip it
    END IF;
    RAISE unique_violation USING CONSTRAINT = '{constraint}',
        MESSAGE = 'duplicate key value violates unique constraint "{constraint}"';
END $$;
CREATE FUNCTION {keys}_release() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {keys} k USING gone WHERE {same_key} AND k.row_id = gone.id;
    RETURN NULL;
END $$;
CREATE FUNCTION {keys}_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE {keys};
    RETURN NULL;
END $$;
CREATE TRIGGER {table}_claim_key BEFORE INSERT ON {table}
    FOR EACH ROW EXECUTE FUNCTION {keys}_claim();
CREATE TRIGGER {table}_release_key AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION {keys}_release();
CREATE TRIGGER {table}_clear_keys AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {keys}_clear();
"""


KEY_TRIGGERS = key_table_triggers(
    "events_eventkey",
    "events_inappevent",
    ("app_id", "event_id"),
    "event_time",
    "event_unique_per_app",
) + key_table_triggers(
    "events_clickkey",
    "events_touchpoint",
    ("click_id",),
    "occurred_at",
    "events_touchpoint_click_id_key",
)

KEYS_OF_STORED_ROWS = """
INSERT INTO events_eventkey (app_id, event_id, event_time, row_id)
    SELECT app_id, event_id, event_time, id FROM events_inappevent;
INSERT INTO events_clickkey (click_id, occurred_at, row_id)
    SELECT click_id, occurred_at, id FROM events_touchpoint;
"""


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def partition_sql(table: str, first: date) -> str:
    after = next_month(first)
    return (
        f"CREATE TABLE {table}_p{first:%Y%m} PARTITION OF {table} "
        f"FOR VALUES FROM ('{first.isoformat()} 00:00+00') TO ('{after.isoformat()} 00:00+00')"
    )


def _catalog(cursor, table: str) -> dict[str, list]:
    """What to recreate on the new table: constraints, indexes that back none, triggers."""
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid), conindid FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f')",
        [table],
    )
    constraints = cursor.fetchall()
    backing = {row[3] for row in constraints if row[3]}
    cursor.execute(
        "SELECT i.indexrelid, pg_get_indexdef(i.indexrelid), c.relname FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass",
        [table],
    )
    indexes = [
        (definition, name) for oid, definition, name in cursor.fetchall() if oid not in backing
    ]
    cursor.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass "
        "AND NOT tgisinternal",
        [table],
    )
    triggers = [row[0] for row in cursor.fetchall()]
    return {"constraints": constraints, "indexes": indexes, "triggers": triggers}


def _with_column(definition: str, column: str) -> str:
    """`UNIQUE (a, b)` or `… USING btree (a, b) WHERE …` with the partition column added."""
    return re.sub(r"\(([^()]*)\)", lambda m: f"({m.group(1)}, {column})", definition, count=1)


def _partition_table(cursor, table: str, column: str, keyed: str | None, today: date) -> None:
    catalog = _catalog(cursor, table)
    cursor.execute(f"SELECT min({column}), max({column}), max(id) FROM {table}")  # noqa: S608
    earliest, latest, last_id = cursor.fetchone()
    first = month_start(today)
    months = {first}
    for _ in range(MONTHS_AHEAD):
        months.add(next_month(max(months)))
    if earliest is not None:
        month = month_start(earliest.astimezone(UTC).date())
        end = month_start(latest.astimezone(UTC).date())
        while month <= end:
            months.add(month)
            month = next_month(month)
    new = f"{table}__partitioned"
    cursor.execute(
        f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        f"INCLUDING STORAGE) PARTITION BY RANGE ({column})"
    )
    for month in sorted(months):
        cursor.execute(partition_sql(new, month).replace(f"{new}_p", f"{table}_p", 1))
    cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {new} DEFAULT")
    cursor.execute(f"INSERT INTO {new} SELECT * FROM {table}")  # noqa: S608
    cursor.execute(f"DROP TABLE {table}")
    cursor.execute(f"ALTER TABLE {new} RENAME TO {table}")
    cursor.execute(f"CREATE SEQUENCE {table}_id_seq OWNED BY {table}.id")
    cursor.execute(f"SELECT setval('{table}_id_seq', %s, %s)", [last_id or 1, last_id is not None])
    cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{table}_id_seq')")
    for name, kind, definition, _ in catalog["constraints"]:
        if name == keyed or (keyed and kind == "u" and f"({keyed})" in definition):
            # Held by the key table now; keep an index for lookups by it.
            columns = re.search(r"\(([^()]*)\)", definition).group(1)
            cursor.execute(f"CREATE INDEX {name} ON {table} ({columns})")
        elif kind in ("p", "u"):
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} {_with_column(definition, column)}"
            )
        else:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for definition, _name in catalog["indexes"]:
        if definition.startswith("CREATE UNIQUE INDEX"):
            head, tail = definition.split(" USING ", 1)
            definition = f"{head} USING {_with_column(tail, column)}"
        cursor.execute(definition)
    for definition in catalog["triggers"]:
        cursor.execute(definition)


def partition(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    today = datetime.now(UTC).date()
    with schema_editor.connection.cursor() as cursor:
        for table, (column, keyed) in PARTITIONED.items():
            _partition_table(cursor, table, column, keyed, today)
        cursor.execute(KEY_TABLES + KEY_TRIGGERS + KEYS_OF_STORED_ROWS)


class Migration(migrations.Migration):
    atomic = True

    dependencies = [
        ("events", "0009_unconstrained_partitioned_references"),
        ("reporting", "0006_cohort_day"),
    ]

    operations = [migrations.RunPython(partition, elidable=False)]
