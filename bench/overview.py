"""Overview benchmark: the dashboard over 1,000,000 in-app events, their installs and 30 days of
cost, on PostgreSQL.

Loads the data in SQL (`INSERT … SELECT generate_series`, so loading takes seconds, not
minutes): 250,000 installs and 1,000,000 events (a fifth of them purchases with revenue in USD
or EUR) over 30 days, spread over 5 media sources (one organic) × 10 campaigns × 4 ad sets × 3
ads, plus 30 days of ad-level cost with a country split (4 rows per ad and day) in USD and EUR.
Then times `reporting.overview.build_overview` for the whole 30 days at campaign level and one
campaign's ad sets, and one HTTP GET of the page through Django's test client, several times
each, and prints p50 and max.

    .venv/bin/python bench/overview.py [--events 1000000] [--installs 250000] [--repeat 7]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
sb_bench_overview); the database is dropped and created afresh. (Not DATABASE_URL: that names
the database you work in, and this script drops its database.)
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

from bench.forward import environment, recreate_database  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/sb_bench_overview"
DAYS = 30
PAID_SOURCES = ["tiktokweb_int", "bytedanceglobal_int", "googleadwords_int", "snapchat_int"]
SOURCES = [*PAID_SOURCES, "organic"]
CAMPAIGNS, ADSETS, ADS = 10, 4, 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--installs", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=7)
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
        load(args.installs, args.events)
        print(f"loaded in {time.perf_counter() - started:.1f} s")
    run(args.repeat)


def _insert_sql(model, values: dict[str, str], rows: int) -> str:  # noqa: ANN001
    """INSERT … SELECT over generate_series(0, rows - 1) AS g: every column gets `values`' SQL
    expression, or the field's empty value (blank text, false, NULL, '{}')."""
    from django.db import models

    columns, expressions = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.name in values:
            expressions.append(values[field.name])
        elif field.null:
            expressions.append("NULL")
        elif isinstance(field, models.BooleanField):
            expressions.append("false")
        elif isinstance(field, models.JSONField):
            expressions.append("'{}'::jsonb")
        elif isinstance(field, models.CharField | models.TextField):
            expressions.append("''")
        else:
            raise SystemExit(f"no value for {model.__name__}.{field.name}")
    table = model._meta.db_table
    # Table and columns come from the model; the expressions are this script's own constants.
    insert = f"INSERT INTO {table} ({', '.join(columns)}) "
    return insert + f"SELECT {', '.join(expressions)} FROM generate_series(0, {rows - 1}) AS g"  # noqa: S608


def _attribution(seed: str) -> dict[str, str]:
    """Attribution columns from a row number: source, campaign, ad set and ad, as SQL."""
    sources = "ARRAY[" + ", ".join(f"'{s}'" for s in SOURCES) + "]"
    source = f"({sources})[1 + ({seed}) % {len(SOURCES)}]"
    organic = f"(({seed}) % {len(SOURCES)} = {len(SOURCES) - 1})"
    campaign = f"(({seed}) / 7 % {CAMPAIGNS})"
    adset = f"(({seed}) / 71 % {ADSETS})"
    ad = f"(({seed}) / 173 % {ADS})"
    source_no = f"(({seed}) % {len(SOURCES)})"

    def when_paid(expression: str) -> str:
        return f"CASE WHEN {organic} THEN '' ELSE {expression} END"

    campaign_id = f"(1780000000000000000 + {source_no} * 1000000 + {campaign} * 10000)"
    adset_id = f"({campaign_id} + 100 + {adset})"
    ad_id = f"({campaign_id} + 1000 + {adset} * 10 + {ad})"
    return {
        "media_source": source,
        "campaign": when_paid(f"'Campaign_' || {source_no} || '_' || {campaign}"),
        "campaign_id": when_paid(f"{campaign_id}::text"),
        "adset": when_paid(f"'Adset_' || {adset}"),
        "adset_id": when_paid(f"{adset_id}::text"),
        "ad": when_paid(f"'Ad_' || {ad}"),
        "ad_id": when_paid(f"{ad_id}::text"),
    }


def load(installs: int, events: int) -> None:
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from demo.seed import ensure_exchange_rates
    from events.models import InAppEvent, Install
    from integrations.services.apps import create_app
    from reporting.models import CostRecord

    app, _ = create_app(
        acting_user=None,
        app_id="web.bench",
        name="Bench shop",
        platform="web",
        website_url="https://shop.example.com/",
        domains=["https://shop.example.com"],
        timezone="America/New_York",
        currency="USD",
    )
    today = timezone.now().date()
    ensure_exchange_rates([today - timedelta(days=n) for n in range(DAYS + 2)])
    spread = f"(now() - ((g::float / {max(installs, events)}) * interval '{DAYS} days'))"
    with connection.cursor() as cursor:
        cursor.execute(
            _insert_sql(
                Install,
                _attribution("g")
                | {
                    "app": str(app.pk),
                    "installed_at": f"(now() - ((g::float / {installs}) * interval '{DAYS} days'))",
                    "received_at": "now()",
                    "device_id": "'dev-' || g",
                },
                installs,
            )
        )
        purchase = "(g % 5 = 0)"
        cursor.execute(
            _insert_sql(
                InAppEvent,
                _attribution(f"(g % {installs})")
                | {
                    "app": str(app.pk),
                    "event_id": "'evt-' || g",
                    "event_name": f"CASE WHEN {purchase} THEN 'purchase' ELSE 'view_content' END",
                    "event_time": spread,
                    "received_at": "now()",
                    "device_id": f"'dev-' || (g % {installs})",
                    "revenue": f"CASE WHEN {purchase} THEN 10 + (g % 9000) / 100.0 END",
                    "currency": f"CASE WHEN {purchase} THEN "
                    "(CASE WHEN g % 4 = 0 THEN 'EUR' ELSE 'USD' END) ELSE '' END",
                },
                events,
            )
        )
        # Cost: every paid source × campaign × ad set × ad × day, as one blank-country row and
        # three country rows, like a TikTok pull with a country split.
        per_day = len(PAID_SOURCES) * CAMPAIGNS * ADSETS * ADS * 4
        ad_no = f"(g / 4 % {len(PAID_SOURCES) * CAMPAIGNS * ADSETS * ADS})"
        source_no = f"({ad_no} % {len(PAID_SOURCES)})"
        paid = "ARRAY[" + ", ".join(f"'{s}'" for s in PAID_SOURCES) + "]"
        campaign = f"({ad_no} / {len(PAID_SOURCES)} % {CAMPAIGNS})"
        adset = f"({ad_no} / {len(PAID_SOURCES) * CAMPAIGNS} % {ADSETS})"
        ad = f"({ad_no} / {len(PAID_SOURCES) * CAMPAIGNS * ADSETS} % {ADS})"
        campaign_id = f"(1780000000000000000 + {source_no} * 1000000 + {campaign} * 10000)"
        media_source = (
            f"(CASE WHEN {source_no} = 0 THEN 'tiktokglobal_int' "
            f"ELSE ({paid})[1 + {source_no}] END)"
        )
        cursor.execute(
            _insert_sql(
                CostRecord,
                {
                    "app": str(app.pk),
                    "media_source": media_source,
                    "stat_date": f"(CURRENT_DATE - (g / {per_day}))",
                    "advertiser_id": "'70123456789' || " + source_no,
                    "campaign_id": f"{campaign_id}::text",
                    "campaign": f"'Campaign_' || {source_no} || '_' || {campaign}",
                    "adset_id": f"({campaign_id} + 100 + {adset})::text",
                    "adset": f"'Adset_' || {adset}",
                    "ad_id": f"({campaign_id} + 1000 + {adset} * 10 + {ad})::text",
                    "ad": f"'Ad_' || {ad}",
                    "country_code": "(ARRAY['', 'US', 'GB', 'DE'])[1 + g % 4]",
                    "currency": f"CASE WHEN {source_no} = 1 THEN 'EUR' ELSE 'USD' END",
                    "spend": "1 + (g % 5000) / 100.0",
                    "impressions": "1000 + g % 3000",
                    "clicks": "10 + g % 60",
                    "reported_conversions": "g % 7",
                    "pulled_at": "now()",
                },
                per_day * DAYS,
            )
        )
        cursor.execute("VACUUM ANALYZE")
    counts = {
        "installs": Install.objects.count(),
        "events": InAppEvent.objects.count(),
        "cost rows": CostRecord.objects.count(),
    }
    print(", ".join(f"{n:,} {what}" for what, n in counts.items()))


def timed(label: str, repeat: int, call: Callable[[], object]) -> None:
    call()  # warm-up: imports, connection, PostgreSQL's caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"{label}: p50 {statistics.median(times):.0f} ms, max {max(times):.0f} ms ({repeat} runs)"
    )


def run(repeat: int) -> None:
    from datetime import timedelta
    from unittest.mock import patch
    from zoneinfo import ZoneInfo

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from integrations.models import App
    from integrations.policy import access_for
    from reporting.overview import Filters, build_overview

    app = App.objects.get(app_id="web.bench")
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    access = access_for(user, app)
    today = timezone.now().astimezone(ZoneInfo(app.timezone)).date()
    month = Filters(date_from=today - timedelta(days=DAYS - 1), date_to=today)
    result = build_overview(access, month)
    print(
        f"30 days: {len(result.rows)} rows, {result.totals.installs:,} installs, "
        f"spend {result.totals.spend:,.2f}, revenue {result.totals.revenue:,.2f} "
        f"{result.currency}, ROAS {result.totals.roas:.2f}"
    )
    campaign = next(row.key for row in result.rows if row.is_key_an_id)
    drill = Filters(month.date_from, month.date_to, campaign_id=campaign)
    timed("build_overview, 30 days, by campaign", repeat, lambda: build_overview(access, month))
    timed(
        "build_overview, 30 days, one campaign's ad sets",
        repeat,
        lambda: build_overview(access, drill),
    )
    client = Client()
    client.force_login(user)
    url = reverse("reporting:overview", args=[app.app_id])
    query = {"date_from": month.date_from.isoformat(), "date_to": month.date_to.isoformat()}

    def get() -> None:
        response = client.get(url, query)
        assert response.status_code == 200, response.status_code

    timed("GET the overview page, 30 days", repeat, get)

    # The same overview from the raw rows (what SQLite does), to check the rollup and compare.
    with patch("reporting.overview.queries.uses_rollup", return_value=False):
        raw = build_overview(access, month)
        timed("build_overview from raw rows (no rollup)", 3, lambda: build_overview(access, month))
    same = [(r.key, r.installs, r.revenue) for r in raw.rows] == [
        (r.key, r.installs, r.revenue) for r in result.rows
    ]
    print(f"rollup agrees with the raw rows: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
