"""Raw-data export benchmark: a 1,000,000-row in-app events export through the Pull API,
beside PostgreSQL's own `COPY (…) TO STDOUT WITH CSV` of the same rows, in the same run.

Loads 1M events (with their installs and clicks) over 30 days into a fresh database, serves
the site with one gunicorn worker, pulls `in_app_events_report` with `maximum_rows=1000000`
over real HTTP, and prints rows per second, the ratio to COPY, and the serving worker's peak
memory (VmHWM). Run it twice with --events to see memory stay flat as the size grows.

    .venv/bin/python bench/export.py [--events 1000000]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
sb_bench_export); the database is dropped and created afresh.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._measure import free_port  # noqa: E402
from bench.forward import environment, gunicorn, recreate_database  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/sb_bench_export"
PORT = free_port()
DAYS = 30
START = "2026-03-01"
LANDING = "https://bench.example/l/pk/tiktokweb_int?c=Spring"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    recreate_database(database_url)
    os.environ.update(environment(database_url))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    token, app_id = load(args.events)
    server = gunicorn(database_url, PORT, 1)
    try:
        measure(token, app_id, args.events)
    finally:
        server.terminate()
        server.wait()


def load(events: int) -> tuple[str, str]:
    """Bulk-load with INSERT … SELECT generate_series: realistic widths, 15% with revenue in
    three currencies, a JSON value on purchases, every event tied to an install and its click,
    all from two paid media sources (in_app_events_report is the non-organic report)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from integrations.models import AppMembership, Role
    from integrations.services.apps import create_app
    from reporting.api_tokens import create_api_token
    from reporting.models import ExchangeRate

    started = time.monotonic()
    app, _ = create_app(acting_user=None, app_id="web.bench", name="Bench", platform="web")
    user = get_user_model().objects.create_user("bench-analyst")
    AppMembership.objects.create(user=user, app=app, role=Role.ANALYST)
    _, token = create_api_token(acting_user=user, name="bench")
    from datetime import date, timedelta
    from decimal import Decimal

    for day in range(DAYS + 1):
        stamp = date.fromisoformat(START) + timedelta(days=day)
        ExchangeRate.objects.create(day=stamp, currency="EUR", per_usd=Decimal("0.92"))
        ExchangeRate.objects.create(day=stamp, currency="GBP", per_usd=Decimal("0.79"))
    users = max(events // 5, 1)
    attribution = f"""
        (ARRAY['tiktokweb_int','googleadwords_int'])[1 + g % 2],
        CASE WHEN g % 3 = 2 THEN '' ELSE 'Spring sale ' || (g % 7) END,
        CASE WHEN g % 3 = 2 THEN '' ELSE (1800000000 + g % 7)::text END,
        'Ad group ' || (g % 13), (1900000000 + g % 13)::text,
        'Video ' || (g % 29), (2000000000 + g % 29)::text,
        '', '', '', 'click', TIMESTAMPTZ '{START} 00:00+00' + (g % {users}) * interval '1 second',
        'E.C.P.' || md5(g::text), 'ttclid'
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO events_touchpoint (id, media_source, campaign, campaign_id, adset,
              adset_id, ad, ad_id, site_id, channel, keywords, touch_type, touch_time, ttclid,
              match_type, app_id, kind, click_id, occurred_at, sub1, sub2, sub3, sub4, sub5,
              idfa, gaid, web_user_id, ip, user_agent, referrer, url, is_retargeting)
            SELECT g, {attribution},
              {app.pk}, 'click', 'c' || g,
              TIMESTAMPTZ '{START} 00:00+00' + (g % {DAYS}) * interval '1 day',
              'creative-' || (g % 5), '', '', '', '', '', '', 'w' || g,
              ('10.' || (g % 250) || '.' || (g % 200) || '.' || (g % 199 + 1))::inet,
              'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15',
              'https://www.tiktok.com/', '{LANDING}', false
            FROM generate_series(1, {users}) g
            """
        )
        cursor.execute(
            f"""
            INSERT INTO events_install (id, media_source, campaign, campaign_id, adset, adset_id,
              ad, ad_id, site_id, channel, keywords, touch_type, touch_time, ttclid, match_type,
              installed_at, received_at, device_id, customer_user_id, web_user_id, idfa, idfv,
              gaid, ip, user_agent, country_code, os_version, app_version, play_referrer,
              is_reengagement, app_id, touchpoint_id, sub1, click_url, click_referrer)
            SELECT g, {attribution},
              TIMESTAMPTZ '{START} 00:00+00' + (g % {DAYS}) * interval '1 day'
                + interval '5 minutes',
              now(), 'device-' || g, 'customer-' || g, 'w' || g, '', '', '',
              ('10.' || (g % 250) || '.' || (g % 200) || '.' || (g % 199 + 1))::inet,
              'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15',
              (ARRAY['US','GB','DE','FR'])[1 + g % 4], '17.4', '3.2.1', '', false, {app.pk}, g,
              {click_details("g")}
            FROM generate_series(1, {users}) g
            """
        )
        cursor.execute(
            f"""
            INSERT INTO events_inappevent (media_source, campaign, campaign_id, adset, adset_id,
              ad, ad_id, site_id, channel, keywords, touch_type, touch_time, ttclid, match_type,
              event_id, event_name, event_time, received_at, device_id, customer_user_id,
              web_user_id, idfa, idfv, gaid, ip, user_agent, country_code, email_sha256,
              phone_sha256, value, revenue, currency, url, referrer, is_reengagement,
              is_ad_revenue, app_id, install_id, ttp, install_time, os_version, app_version,
              sub1, click_url, click_referrer)
            SELECT {attribution},
              'evt-' || g,
              CASE WHEN g % 7 = 0 THEN 'purchase'
                   ELSE (ARRAY['view','add_to_cart','search'])[1 + g % 3] END,
              TIMESTAMPTZ '{START} 00:00+00'
                + (g::bigint * {DAYS * 86400 - 1} / {events}) * interval '1 second',
              now(), 'device-' || (1 + g % {users}), 'customer-' || (1 + g % {users}),
              'w' || (1 + g % {users}), '', '', '',
              ('10.' || (g % 250) || '.' || (g % 200) || '.' || (g % 199 + 1))::inet,
              'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15',
              (ARRAY['US','GB','DE','FR'])[1 + g % 4], md5(g::text) || md5(g::text), '',
              CASE WHEN g % 7 = 0
                   THEN jsonb_build_object('sku', 'tent-' || (g % 40), 'qty', 1 + g % 3)
                   ELSE '{{}}'::jsonb END,
              CASE WHEN g % 7 = 0 THEN round((g % 9000) / 100.0 + 0.99, 2) END,
              CASE WHEN g % 7 = 0 THEN (ARRAY['USD','EUR','GBP'])[1 + g % 3] ELSE '' END,
              'https://bench.example/checkout', 'https://www.tiktok.com/', false, false,
              {app.pk}, 1 + g % {users}, '',
              TIMESTAMPTZ '{START} 00:00+00' + ((1 + g % {users}) % {DAYS}) * interval '1 day'
                + interval '5 minutes', '17.4', '3.2.1',
              {click_details(f"(1 + g % {users})")}
            FROM generate_series(1, {events}) g
            """
        )
        cursor.execute("ANALYZE")
    seconds = time.monotonic() - started
    print(f"loaded {events:,} events, {users:,} installs and clicks in {seconds:.1f} s")
    return token, app.app_id


def click_details(install: str) -> str:
    """What ingest copies from the winning click (whose id is the install's) onto the install
    and its events: sub1, the landing URL and the referrer."""
    return f"'creative-' || ({install} % 5), '{LANDING}', 'https://www.tiktok.com/'"


def measure(token: str, app_id: str, events: int) -> None:
    from datetime import date, timedelta

    from django.db import connection

    last_day = (date.fromisoformat(START) + timedelta(days=DAYS - 1)).isoformat()
    url = f"http://127.0.0.1:{PORT}/api/raw-data/export/app/{app_id}/in_app_events_report/v5"
    params = {"from": START, "to": last_day, "maximum_rows": "1000000", "timezone": "UTC"}
    rows_expected = None
    copy_seconds = copy_rows = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM events_inappevent WHERE media_source <> 'organic'")
        rows_expected = cursor.fetchone()[0]
    for attempt in range(2):
        started = time.monotonic()
        size = rows = 0
        with requests.get(
            url,
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            stream=True,
            timeout=600,
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_content(chunk_size=1 << 16):
                size += len(chunk)
                rows += chunk.count(b"\n")
        api_seconds = time.monotonic() - started
        rows -= 1  # the header
        started = time.monotonic()
        with connection.cursor() as cursor:
            raw = cursor.connection.cursor()
            statement = (
                "COPY (SELECT * FROM events_inappevent WHERE media_source <> 'organic' "
                "AND event_time >= %s AND event_time < %s ORDER BY event_time, id) "
                "TO STDOUT WITH (FORMAT csv)"
            )
            end = (date.fromisoformat(last_day) + timedelta(days=1)).isoformat()
            copy_rows = 0
            with raw.copy(statement, (START + " 00:00+00", end + " 00:00+00")) as copy:
                for chunk in copy:
                    copy_rows += bytes(chunk).count(b"\n")
        copy_seconds = time.monotonic() - started
        print(
            f"run {attempt + 1}: Pull API {rows:,} rows ({size / 1e6:.0f} MB) "
            f"in {api_seconds:.2f} s "
            f"= {rows / api_seconds:,.0f} rows/s; COPY {copy_rows:,} rows in {copy_seconds:.2f} s "
            f"= {copy_rows / copy_seconds:,.0f} rows/s; ratio {api_seconds / copy_seconds:.2f}x"
        )
    assert rows == rows_expected == copy_rows, (rows, rows_expected, copy_rows)
    print(f"peak memory of the serving worker (VmHWM): {worker_peak_mb():.0f} MB")


def worker_peak_mb() -> float:
    """The largest VmHWM among gunicorn processes serving on PORT (the worker)."""
    output = subprocess.run(
        ["pgrep", "-f", f"bind=127.0.0.1:{PORT}"], capture_output=True, text=True, check=False
    ).stdout.split()
    peaks = []
    for pid in output:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


if __name__ == "__main__":
    main()
