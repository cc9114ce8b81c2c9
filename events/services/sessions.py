"""Sessions: app opens and website visits, kept as one row per user and day (`SessionDay`).

An event named like an app open (`session_start`, AppsFlyer's `af_app_opened`) is a session;
the web SDK's visit is one too. The events themselves are stored as any other; the rollup is
what retention and loyal users are counted from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

from django.db import connections, router

from events.models import InAppEvent, SessionDay
from integrations.models import App

CHUNK = 1000  # rows per statement (SQLite allows 32,766 parameters)
SESSION_EVENT_NAMES = frozenset({"session_start", "af_app_opened", "af_session", "app_open"})


def user_key_of(event: InAppEvent) -> str:
    return event.device_id or event.web_user_id or event.customer_user_id


def record_session_events(app: App, events: Iterable[InAppEvent]) -> int:
    """Count the session events among newly stored events; returns how many were counted."""
    zone = ZoneInfo(app.timezone or "UTC")
    counts: Counter[tuple[str, date, int | None]] = Counter()
    for event in events:
        key = user_key_of(event)
        if event.event_name in SESSION_EVENT_NAMES and key:
            day = event.event_time.astimezone(zone).date()
            counts[(key[:255], day, event.install_id)] += 1
    add_sessions(app, counts)
    return sum(counts.values())


def add_sessions(app: App, counts: Counter[tuple[str, date, int | None]]) -> None:
    """Add to each (user, day)'s count in one statement per chunk of rows, concurrency-safe on
    both databases (`INSERT … ON CONFLICT DO UPDATE`). One statement, not one per row: on
    PostgreSQL the retention rollup's statement triggers then run once per chunk."""
    if not counts:
        return
    table = SessionDay._meta.db_table
    connection = connections[router.db_for_write(SessionDay)]
    # One row per (user, day) in a statement (PostgreSQL cannot update a row twice in one).
    merged: dict[tuple[str, date], list] = {}
    for (key, day, install_id), n in counts.items():
        row = merged.setdefault((key, day), [app.pk, key, day, 0, None])
        row[3] += n
        row[4] = row[4] or install_id
    rows = [merged[user_day] for user_day in sorted(merged)]  # key order: no deadlocks
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} (app_id, user_key, day, sessions, install_id) "  # noqa: S608
                f"VALUES {values} ON CONFLICT (app_id, user_key, day) DO UPDATE SET "
                "sessions = " + table + ".sessions + excluded.sessions, "
                "install_id = COALESCE(" + table + ".install_id, excluded.install_id)",
                [value for row in chunk for value in row],
            )
