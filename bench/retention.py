"""Retention benchmark: cohort pages over 90 days of a 1,000,000-install app, on PostgreSQL.

Loads, in SQL (`INSERT … SELECT generate_series`, in chunks, so the rollup's triggers fire as
for bulk writes): `--installs` installs over 90 days across 5 media sources (one organic) × 10
campaigns × 4 ad sets × 8 countries, about 3.2 session days per install (day 1 for 40%, then a
thinning tail to day 84), and a purchase with revenue (USD or EUR) for one install in ten,
linked to its install; plus 90 days of campaign-level cost. Then times
`reporting.retention.cohorts` (90 days by media source, by campaign, by week, with and
without revenue and cost) and a GET of the page through Django's test client, several times
each, printing p50 and max wall-clock and the CPU milliseconds of this process and of its
PostgreSQL backend per call (from /proc). Finally it rebuilds the rollup from the raw rows
and checks the triggers kept it equal.

    .venv/bin/python bench/retention.py [--installs 1000000] [--repeat 9] [--keep]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
sb_bench_retention); the database is dropped and created afresh.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._measure import cpu_seconds  # noqa: E402
from bench.forward import environment, recreate_database  # noqa: E402
from bench.overview import _insert_sql  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/sb_bench_retention"
DAYS = 90
SOURCES = ["tiktokweb_int", "bytedanceglobal_int", "googleadwords_int", "snapchat_int", "organic"]
CAMPAIGNS, ADSETS = 10, 4
COUNTRIES = ["US", "GB", "DE", "FR", "BR", "JP", "IN", "CA"]
# Session days per install: (share of installs in thousandths, day after install as SQL of g).
SESSION_WAVES = [
    (400, "1"),
    (300, "2 + g % 6"),
    (250, "7 + g % 8"),
    (200, "14 + g % 16"),
    (150, "30 + g % 25"),
    (100, "55 + g % 30"),
    (60, "0"),
]
CHUNK = 250_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--installs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--keep", action="store_true", help="Reuse the database loaded before.")
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    if not args.keep:
        recreate_database(database_url)
    os.environ.update(environment(database_url) | {"ALLOWED_HOSTS": "127.0.0.1,testserver"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if not args.keep:
        started = time.perf_counter()
        load(args.installs)
        print(f"loaded in {time.perf_counter() - started:.1f} s (the rollup's triggers included)")
    run(args.repeat)
    check()


def _attribution() -> dict[str, str]:
    sources = "ARRAY[" + ", ".join(f"'{s}'" for s in SOURCES) + "]"
    countries = "ARRAY[" + ", ".join(f"'{c}'" for c in COUNTRIES) + "]"
    organic = f"(g % {len(SOURCES)} = {len(SOURCES) - 1})"
    paid = lambda sql: f"CASE WHEN {organic} THEN '' ELSE {sql} END"  # noqa: E731
    return {
        "media_source": f"({sources})[1 + g % {len(SOURCES)}]",
        "campaign": paid(f"'Campaign_' || (g % {len(SOURCES)}) || '_' || (g / 7 % {CAMPAIGNS})"),
        "adset": paid(f"'Adset_' || (g / 71 % {ADSETS})"),
        "country_code": f"({countries})[1 + g / 13 % {len(COUNTRIES)}]",
    }


def load(installs: int) -> None:
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from demo.seed import ensure_exchange_rates
    from events.models import InAppEvent, Install, SessionDay
    from integrations.services.apps import create_app
    from reporting.models import CostRecord

    app, _ = create_app(
        acting_user=None,
        app_id="id.bench.retention",
        name="Bench game",
        platform="ios",
        store_id="id1000000001",
        timezone="America/New_York",
        currency="USD",
    )
    today = timezone.now().date()
    ensure_exchange_rates([today - timedelta(days=n) for n in range(DAYS + 2)])
    installed_at = f"(now() - ((g::float / {installs}) * interval '{DAYS} days'))"
    with connection.cursor() as cursor:
        for start in range(0, installs, CHUNK):
            rows = min(CHUNK, installs - start)
            sql = _insert_sql(
                Install,
                _attribution()
                | {
                    "app": str(app.pk),
                    "installed_at": installed_at,
                    "received_at": "now()",
                    "device_id": "'dev-' || g",
                },
                rows,
            )
            cursor.execute(sql.replace("generate_series(0,", f"generate_series({start}, {start} +"))
        cursor.execute("SELECT min(id) FROM events_install WHERE app_id = %s", [app.pk])
        first_id = cursor.fetchone()[0]
        cursor.execute("ANALYZE events_install")
        install_day = f"((now() - ((g::float / {installs}) * interval '{DAYS} days'))::date)"
        for wave, (share, offset) in enumerate(SESSION_WAVES):
            # Installs g with (g * 7919 + wave) % 1000 < share come back on that day.
            picked = f"((g::bigint * 7919 + {wave * 131}) % 1000 < {share})"
            for start in range(0, installs, CHUNK):
                rows = min(CHUNK, installs - start)
                sql = _insert_sql(
                    SessionDay,
                    {
                        "app": str(app.pk),
                        "user_key": "'dev-' || g",
                        "day": f"({install_day} + ({offset}))",
                        "sessions": "1 + g % 4",
                        "install": f"({first_id} + g)",
                    },
                    rows,
                )
                sql = sql.replace("generate_series(0,", f"generate_series({start}, {start} +")
                sql += f" WHERE {picked} AND {install_day} + ({offset}) <= CURRENT_DATE"
                sql += " ON CONFLICT DO NOTHING"
                cursor.execute(sql)
        for start in range(0, installs, CHUNK):
            rows = min(CHUNK, installs - start)
            sql = _insert_sql(
                InAppEvent,
                _attribution()
                | {
                    "app": str(app.pk),
                    "install": f"({first_id} + g)",
                    "event_id": "'buy-' || g",
                    "event_name": "'af_purchase'",
                    "event_time": f"(({installed_at}) + (g % 20) * interval '1 day')",
                    "received_at": "now()",
                    "device_id": "'dev-' || g",
                    "revenue": "1 + (g % 5000) / 100.0",
                    "currency": "CASE WHEN g % 3 = 0 THEN 'EUR' ELSE 'USD' END",
                },
                rows,
            )
            sql = sql.replace("generate_series(0,", f"generate_series({start}, {start} +")
            cursor.execute(sql + " WHERE g % 10 = 0")
        paid = len(SOURCES) - 1
        per_day = paid * CAMPAIGNS
        cost_sources = (
            "ARRAY['tiktokglobal_int', 'bytedanceglobal_int', 'googleadwords_int', 'snapchat_int']"
        )
        cursor.execute(
            _insert_sql(
                CostRecord,
                {
                    "app": str(app.pk),
                    "media_source": f"({cost_sources})[1 + g % {paid}]",
                    "stat_date": f"(CURRENT_DATE - (g / {per_day}))",
                    "advertiser_id": "'7012345678901'",
                    "campaign_id": f"(1780000000 + g % {per_day})::text",
                    "campaign": f"'Campaign_' || (g % {paid}) || '_' || (g / {paid} % {CAMPAIGNS})",
                    "currency": "'USD'",
                    "spend": "100 + (g % 5000) / 10.0",
                    "impressions": "100000",
                    "clicks": "1000",
                    "pulled_at": "now()",
                },
                per_day * DAYS,
            )
        )
        cursor.execute("VACUUM ANALYZE")
    from reporting.models import CohortDay

    counts = {
        "installs": Install.objects.count(),
        "session days": SessionDay.objects.count(),
        "purchases": InAppEvent.objects.count(),
        "cost rows": CostRecord.objects.count(),
        "rollup rows": CohortDay.objects.count(),
    }
    print(", ".join(f"{n:,} {what}" for what, n in counts.items()))


def timed(label: str, repeat: int, call: Callable[[], object], backend: int) -> None:
    call()  # warm-up: imports, connection, PostgreSQL's caches
    times = []
    own, database = cpu_seconds(os.getpid()), cpu_seconds(backend)
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    own = (cpu_seconds(os.getpid()) - own) / repeat * 1000
    database = (cpu_seconds(backend) - database) / repeat * 1000
    print(
        f"{label}: p50 {statistics.median(times):.0f} ms, max {max(times):.0f} ms; CPU per call "
        f"{own:.0f} ms here + {database:.0f} ms in PostgreSQL ({repeat} runs)"
    )


def run(repeat: int) -> None:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from integrations.models import App
    from integrations.policy import access_for
    from reporting.retention import cohorts

    app = App.objects.get(app_id="id.bench.retention")
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    access = access_for(user, app)
    today = timezone.now().astimezone(ZoneInfo(app.timezone)).date()
    base = {"date_from": today - timedelta(days=DAYS - 1), "date_to": today, "media_source": ""}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    by_source = base | {"group_by": "media_source", "period": "day"}
    rows = cohorts(access, by_source, with_revenue=True, with_cost=True)
    installs = sum(row.installs for row in rows)
    print(f"90 days by media source: {len(rows)} cohorts, {installs:,} installs")
    cases = [
        ("by media source, days", by_source, False),
        ("by media source, days, LTV and ROAS", by_source, True),
        ("by campaign, days, LTV and ROAS", base | {"group_by": "campaign", "period": "day"}, True),
        ("by country, weeks, LTV", base | {"group_by": "country_code", "period": "week"}, True),
    ]
    for label, filters, money in cases:
        timed(
            f"cohorts, 90 days {label}",
            repeat,
            lambda f=filters, m=money: cohorts(access, f, with_revenue=m, with_cost=m),
            backend,
        )
    client = Client()
    client.force_login(user)
    url = reverse("reporting:retention", args=[app.app_id])
    query = {"date_from": base["date_from"].isoformat(), "date_to": today.isoformat()}

    def get() -> None:
        response = client.get(url, query)
        assert response.status_code == 200, response.status_code

    timed("GET the retention page, 90 days (LTV, ROAS, chart)", repeat, get, backend)


def check() -> None:
    """Rebuild the rollup from the raw rows and compare it with what the triggers kept."""
    from django.db import connection

    from integrations.models import App
    from reporting.models import CohortDay

    app = App.objects.get(app_id="id.bench.retention")

    def snapshot() -> set[tuple]:
        rows = CohortDay.objects.filter(app=app).values_list(
            "cohort_day", "key_hash", "kind", "n", "users", "revenue"
        )
        return {row for row in rows if row[4] or row[5]}

    kept = snapshot()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporting_cohort_day_rebuild(%s)", [app.pk])
    print(f"rebuilt from raw rows in {time.perf_counter() - started:.1f} s")
    print(f"the triggers' rollup equals the rebuild: {'yes' if kept == snapshot() else 'NO'}")


if __name__ == "__main__":
    main()
