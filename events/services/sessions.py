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
    """Add to each (user, day)'s count in one statement per batch, concurrency-safe on both
    databases (`INSERT … ON CONFLICT DO UPDATE`)."""
    if not counts:
        return
    table = SessionDay._meta.db_table
    connection = connections[router.db_for_write(SessionDay)]
    rows = [(app.pk, key, day, n, install_id) for (key, day, install_id), n in counts.items()]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (app_id, user_key, day, sessions, install_id) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (app_id, user_key, day) DO UPDATE SET "
            "sessions = " + table + ".sessions + excluded.sessions, "
            "install_id = COALESCE(" + table + ".install_id, excluded.install_id)",
            rows,
        )
