"""Ingestion benchmark: events per second through the batch endpoint, and single-event latency.

Starts a production-like server (gunicorn, DEBUG off, PostgreSQL in a database of its own, a
free port), seeds installs and touchpoints so that attribution does real work, and an active
TikTok web integration whose mapping forwards every event (so each event also writes its
postback to the outbox, as in production), then over HTTP:

1. sends batches of 1,000 events from a few concurrent senders and prints events/s (every
   event validated, attributed against its user's install or touchpoints, its postback
   planned, all committed), the CPU time per event of the web workers and of the PostgreSQL
   backends (from /proc), and, in the same run, PostgreSQL's own `COPY FROM` of the same rows
   into the same table (its indexes and triggers included) as the limit to compare with;
2. sends single events at a fixed 200 requests/s (open loop) and prints latency percentiles,
   measured from each request's scheduled start so a slow server cannot hide its queue, and
   the web workers' CPU time per request.

    .venv/bin/python bench/ingest.py [--batches 60] [--senders 3] [--rps 200] [--seconds 15]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
sb_bench_ingest); the database is dropped and created afresh. Nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests
from _measure import CpuMeter, backend_pids, children_of, cpu_seconds, free_port

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/sb_bench_ingest"
PORT = free_port()
# Every event the bench sends is mapped, so every event gets a postback.
MAPPED = {
    "view_content": "ViewContent",
    "add_to_cart": "AddToCart",
    "purchase": "Purchase",
    "sign_up": "CompleteRegistration",
    "search": "Search",
}
USERS_WITH_INSTALL = 20_000
USERS_WITH_CLICK_ONLY = 10_000
EVENT_NAMES = ["view_content", "add_to_cart", "purchase", "sign_up", "search"]
UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1"
)


def server_environment(database_url: str) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "x" * 50,
        "FIELD_ENCRYPTION_KEYS": "c2lnbmFsYm9hcmQtZGV2ZWxvcG1lbnQta2V5LTMyYj0=",
        "ALLOWED_HOSTS": "127.0.0.1",
        "EVENTS_API_RATE": "1000000/min",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "600",
    }


def recreate_database(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def seed(database_url: str) -> tuple[str, str]:
    """Migrate, create the app, and bulk-load users with installs and users with clicks."""
    os.environ.update(server_environment(database_url))
    os.environ["DJANGO_SETTINGS_MODULE"] = "attribution_site.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    from events.models import Install, Touchpoint
    from integrations.models import EventMapping, Integration, Partner, Pixel
    from integrations.services.apps import create_app

    call_command("migrate", verbosity=0)
    app, key = create_app(
        acting_user=None,
        app_id="web.bench",
        name="Bench shop",
        platform="web",
        website_url="https://shop.example.com/",
        domains=["https://shop.example.com"],
    )
    now = timezone.now()
    clicks = [
        Touchpoint(
            app=app,
            click_id=f"bench-{n}",
            occurred_at=now - timedelta(hours=n % 100),
            media_source="tiktokweb_int",
            campaign=f"WEB_Campaign_{n % 7}",
            campaign_id=str(1780000000000000000 + n % 7),
            ttclid=f"E.C.P.bench{n}",
            web_user_id=f"wu-bench-{n}",
        )
        for n in range(USERS_WITH_INSTALL + USERS_WITH_CLICK_ONLY)
    ]
    Touchpoint.objects.bulk_create(clicks, batch_size=2000)
    installs = [
        Install(
            app=app,
            touchpoint=clicks[n],
            installed_at=clicks[n].occurred_at,
            device_id=f"wu-bench-{n}",
            web_user_id=f"wu-bench-{n}",
            media_source="tiktokweb_int",
            campaign=clicks[n].campaign,
            campaign_id=clicks[n].campaign_id,
            ttclid=clicks[n].ttclid,
            touch_type="click",
            touch_time=clicks[n].occurred_at,
            match_type="ttclid",
        )
        for n in range(USERS_WITH_INSTALL)
    ]
    Install.objects.bulk_create(installs, batch_size=2000)
    integration = Integration.objects.create(
        app=app,
        partner=Partner.objects.get(media_source="tiktokweb_int"),
        is_active=True,
        in_app_postbacks_enabled=True,
    )
    Pixel.objects.create(
        integration=integration, pixel_code="CQ8RT3JC77U4D5MLS2A0", access_token="t" * 40
    )
    EventMapping.objects.bulk_create(
        EventMapping(
            integration=integration,
            app_event_name=ours,
            partner_event_name=theirs,
            users_from="all_sources",
            including="values_and_revenue",
        )
        for ours, theirs in MAPPED.items()
    )
    with connections["default"].cursor() as cursor:
        cursor.execute("ANALYZE")
    connections.close_all()
    return app.app_id, key


def make_event(n: int, rng: random.Random) -> dict:
    """70% users with an install, 20% with only a click, 10% unknown (organic)."""
    roll = rng.random()
    if roll < 0.7:
        user = f"wu-bench-{rng.randrange(USERS_WITH_INSTALL)}"
    elif roll < 0.9:
        user = f"wu-bench-{USERS_WITH_INSTALL + rng.randrange(USERS_WITH_CLICK_ONLY)}"
    else:
        user = f"wu-new-{n}"
    name = rng.choice(EVENT_NAMES)
    event = {
        "event_id": f"bench-{n}",
        "event_name": name,
        "event_time": int(time.time() * 1000),
        "web_user_id": user,
        "ip": f"203.0.113.{rng.randrange(1, 255)}",
        "user_agent": UA,
        "email": f"shopper{rng.randrange(100000)}@example.com",
        "url": "https://shop.example.com/checkout/thanks",
        "value": {"content_id": f"SKU-{rng.randrange(1000, 1099)}", "num_items": 2},
    }
    if name == "purchase":
        event |= {"revenue": round(rng.uniform(10, 150), 2), "currency": "USD"}
    return event


def start_server(database_url: str, workers: int) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "attribution_site.wsgi:application",
        f"--bind=127.0.0.1:{PORT}",
        f"--workers={workers}",
        "--worker-class=sync",
        "--log-level=warning",
        "--timeout=60",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=server_environment(database_url))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{PORT}/api/schema/", timeout=10)
            return server
        except (requests.ConnectionError, requests.Timeout):  # the first request warms it up
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def run_batches(
    url: str, headers: dict, batches: int, senders: int, meter_for: Callable[[], CpuMeter]
) -> tuple[float, int, CpuMeter]:
    rng = random.Random(4)
    bodies = [
        json.dumps({"events": [make_event(b * 1000 + i, rng) for i in range(1000)]})
        for b in range(batches)
    ]
    accepted = 0
    lock = threading.Lock()

    def send(body: str) -> None:
        nonlocal accepted
        response = requests.post(url, data=body, headers=headers, timeout=60)
        response.raise_for_status()
        with lock:
            accepted += response.json()["accepted"]

    # Warm-up batches so the workers have their connections and imports before timing.
    for _ in range(senders):
        requests.post(url, data=bodies.pop(), headers=headers, timeout=60).raise_for_status()
    meter = meter_for()
    meter.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        list(pool.map(send, bodies))
    elapsed = time.perf_counter() - started
    meter.stop(late=meter_for().groups)
    return elapsed, accepted, meter


def run_singles(url: str, headers: dict, rps: int, seconds: float) -> tuple[list[float], int]:
    rng = random.Random(5)
    count = int(rps * seconds)
    bodies = [json.dumps(make_event(10_000_000 + n, rng)) for n in range(count)]
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    session_local = threading.local()

    def send(scheduled: float, body: str) -> None:
        nonlocal failures
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        session = getattr(session_local, "session", None) or requests.Session()
        session_local.session = session
        response = session.post(url, data=body, headers=headers, timeout=30)
        elapsed = time.perf_counter() - scheduled
        with lock:
            latencies.append(elapsed * 1000)
            failures += response.status_code != 202

    start = time.perf_counter() + 0.5
    with ThreadPoolExecutor(max_workers=32) as pool:
        for n, body in enumerate(bodies):
            pool.submit(send, start + n / rps, body)
    return latencies, failures


def copy_limit(database_url: str, app_id: str) -> tuple[int, float, float]:
    """PostgreSQL's own `COPY FROM` of the rows the batch phase stored, into the same table
    (its indexes and the rollup's triggers included), event ids suffixed so none collides:
    (rows, wall seconds, backend CPU seconds). The copies are deleted afterwards."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        columns = [
            name
            for (name,) in connection.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'events_inappevent' AND column_name <> 'id' "
                "ORDER BY ordinal_position"
            )
        ]
        selected = ", ".join(
            "e.event_id || '-copy'" if name == "event_id" else f"e.{name}" for name in columns
        )
        data = bytearray()
        query = (
            f"COPY (SELECT {selected} FROM events_inappevent e "  # noqa: S608 - names from the catalog
            "JOIN integrations_app a ON a.id = e.app_id WHERE a.app_id = %s) TO STDOUT"
        )
        with connection.cursor().copy(query, [app_id]) as copy:
            for chunk in copy:
                data += chunk
        rows = data.count(b"\n")
        pid = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        before = cpu_seconds(pid)
        started = time.perf_counter()
        with connection.cursor().copy(
            f"COPY events_inappevent ({', '.join(columns)}) FROM STDIN"
        ) as copy:
            copy.write(bytes(data))
        connection.commit()
        elapsed = time.perf_counter() - started
        used = cpu_seconds(pid) - before
        connection.execute("DELETE FROM events_inappevent WHERE event_id LIKE '%%-copy'")
        connection.commit()
    return rows, elapsed, used


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--senders", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rps", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)

    recreate_database(database_url)
    app_id, key = seed(database_url)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    base = f"http://127.0.0.1:{PORT}/api/v1/apps/{app_id}"
    database = urlsplit(database_url).path.lstrip("/")
    server = start_server(database_url, args.workers)
    import psycopg

    watcher = psycopg.connect(database_url, autocommit=True)

    def meter_for() -> CpuMeter:
        meter = CpuMeter()
        meter.add("web workers", children_of(server.pid))
        meter.add("PostgreSQL backends", backend_pids(watcher, database))
        return meter

    try:
        seconds, accepted, batch_meter = run_batches(
            f"{base}/events/batch", headers, args.batches, args.senders, meter_for
        )
        postbacks = watcher.execute("SELECT count(*) FROM events_postback").fetchone()[0]
        events = watcher.execute("SELECT count(*) FROM events_inappevent").fetchone()[0]
        copy_rows, copy_seconds, copy_cpu = copy_limit(database_url, app_id)
        single_meter = meter_for()
        single_meter.start()
        latencies, failures = run_singles(f"{base}/events", headers, args.rps, args.seconds)
        single_meter.stop()
    finally:
        watcher.close()
        server.terminate()
        server.wait(timeout=30)

    rate = accepted / seconds
    copy_rate = copy_rows / copy_seconds
    print(f"machine: {os.cpu_count()} cores; gunicorn {args.workers} sync workers; PostgreSQL")
    print(
        f"batch endpoint: {accepted:,} events in {seconds:.2f} s = {rate:,.0f} events/s "
        f"({args.senders} concurrent senders, 1,000 events per batch, attribution and the "
        f"postback outbox included: {postbacks:,} postbacks for {events:,} stored events)"
    )
    print(*batch_meter.per_event_lines(accepted), sep="\n")
    print(
        f"PostgreSQL COPY FROM of the same {copy_rows:,} rows into the same table: "
        f"{copy_seconds:.2f} s = {copy_rate:,.0f} rows/s, backend "
        f"{copy_cpu / copy_rows * 1e6:,.0f} µs CPU per row; the API is "
        f"{copy_rate / rate:.1f}× slower in wall-clock, "
        f"{sum(batch_meter.used.values()) / accepted / (copy_cpu / copy_rows):.1f}× in CPU"
    )
    requests_sent = len(latencies)
    print(
        f"single events at {args.rps} requests/s for {args.seconds:.0f} s "
        f"({requests_sent:,} requests, {failures} not 202): "
        f"p50 {percentile(latencies, 50):.1f} ms, p90 {percentile(latencies, 90):.1f} ms, "
        f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms, "
        f"mean {statistics.fmean(latencies):.1f} ms"
    )
    print(
        *[
            f"  {name}: {used / requests_sent * 1e3:.2f} ms CPU per request"
            for name, used in single_meter.used.items()
        ],
        sep="\n",
    )


if __name__ == "__main__":
    main()
