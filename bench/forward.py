"""Forwarding benchmark: postbacks per second from the outbox to the TikTok sandbox, and the time
from an event's arrival to its delivery at a steady load.

Everything runs on this machine against PostgreSQL (a database of its own), over real HTTP:

1. Throughput. N events with their postbacks are written to the outbox, then delivery worker
   processes (`manage.py deliver_postbacks`, the same code the task cluster runs) send them in
   the real batches of up to 1,000 to the sandbox, served by a separate gunicorn process. Prints
   events/s from the first claim to the last recorded answer, and checks the sandbox received
   each event exactly once.
2. Latency. A gunicorn web server takes events through the events API at a steady rate while
   the django-q2 cluster delivers them (enqueued on commit, as in production). Prints the
   percentiles of delivered_at - received_at.

    .venv/bin/python bench/forward.py [--events 50000] [--workers 2] [--rate 200] [--seconds 20]
                                      [--sink] [--history-months 24]

`--sink` sends to bench/_sink.py instead, which only parses each body and answers success: the
ceiling of our own side, without the sandbox's checks and records. `--history-months N` first
stores N earlier months of events (a partition each, nothing to forward), as a deployment that
keeps its history has them.

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
sb_bench_forward); the database is dropped and created afresh. Nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._measure import free_port  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/sb_bench_forward"
SANDBOX_PORT = free_port()
WEB_PORT = free_port()
PIXEL = "BENCHPIXEL0001"
TOKEN = "bench0000000000000000000000000000000000a"  # noqa: S105 - the sandbox's fake token
EMAIL_SHA = "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"


def environment(database_url: str) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "x" * 50,
        "FIELD_ENCRYPTION_KEYS": "c2lnbmFsYm9hcmQtZGV2ZWxvcG1lbnQta2V5LTMyYj0=",
        "ALLOWED_HOSTS": "127.0.0.1",
        "EVENTS_API_RATE": "1000000/min",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "600",
        "TIKTOK_SANDBOX": "true",
        "TIKTOK_API_BASE_URL": f"http://127.0.0.1:{SANDBOX_PORT}/tiktok-sandbox",
        "TIKTOK_HTTP_TIMEOUT": "30",
        "DJANGO_SETTINGS_MODULE": "attribution_site.settings",
    }


def recreate_database(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def set_up(database_url: str):  # noqa: ANN201 - returns (app, api key) once Django is loaded
    os.environ.update(environment(database_url))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from integrations.models import EventMapping, Integration, Partner, Pixel
    from integrations.services.apps import create_app
    from integrations.tiktok.sandbox import state

    call_command("migrate", verbosity=0)
    app, key = create_app(
        acting_user=None,
        app_id="web.bench",
        name="Bench shop",
        platform="web",
        website_url="https://shop.example.com/",
    )
    integration = Integration.objects.create(
        app=app,
        partner=Partner.objects.get(media_source="tiktokweb_int"),
        is_active=True,
        in_app_postbacks_enabled=True,
    )
    Pixel.objects.create(integration=integration, pixel_code=PIXEL, access_token=TOKEN)
    EventMapping.objects.create(
        integration=integration,
        app_event_name="purchase",
        partner_event_name="Purchase",
        users_from="all_sources",
        including="values_and_revenue",
    )
    state.issue_token(sources=[PIXEL], token=TOKEN)
    return app, integration, key


def add_history(app, months: int, per_month: int) -> None:  # noqa: ANN001
    """Earlier months of events, each month in its own partition as a deployment that keeps its
    history has them, and none waiting to be forwarded: what a claim's join to the events must
    not slow down with."""
    from datetime import UTC, datetime

    from django.utils import timezone

    from events.models import InAppEvent
    from events.services import partitions

    this_month = partitions.month_start(timezone.now().date())
    for back in range(months, 0, -1):
        month = partitions.add_months(this_month, -back)
        partitions.ensure_partitions(today=month)  # that month and the three after it
        start = datetime(month.year, month.month, 1, tzinfo=UTC)
        for first in range(0, per_month, 5000):
            InAppEvent.objects.bulk_create(
                [
                    InAppEvent(
                        app=app,
                        event_id=f"history-{back}-{n}",
                        event_name="purchase",
                        event_time=start + timedelta(seconds=n * 60),
                        web_user_id=f"history-{n}",
                        revenue="19.99",
                        currency="USD",
                        media_source="tiktokweb_int",
                    )
                    for n in range(first, min(per_month, first + 5000))
                ]
            )


def fill_outbox(app, integration, count: int, prefix: str = "bench") -> None:  # noqa: ANN001
    """N purchases with their postbacks, as ingestion would have left them."""
    from django.db import connections
    from django.utils import timezone

    from events.models import InAppEvent, Postback

    now = timezone.now()
    for start in range(0, count, 5000):
        events = InAppEvent.objects.bulk_create(
            [
                InAppEvent(
                    app=app,
                    event_id=f"{prefix}-{n}",
                    event_name="purchase",
                    event_time=now - timedelta(seconds=n % 3600),
                    web_user_id=f"wu-{n}",
                    ip="203.0.113.24",
                    user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X)",
                    email_sha256=EMAIL_SHA,
                    customer_user_id=f"cust-{n}",
                    value={"order_id": n, "contents": [{"content_id": n, "quantity": 1}]},
                    revenue="19.99",
                    currency="USD",
                    media_source="tiktokweb_int",
                    ttclid=f"E.C.P.{n}",
                    url="https://shop.example.com/thanks",
                )
                for n in range(start, min(count, start + 5000))
            ]
        )
        Postback.objects.bulk_create(
            [
                Postback(
                    integration=integration,
                    event=event,
                    event_time=event.event_time,
                    partner_event_name="Purchase",
                    include_values=True,
                    include_revenue=True,
                    next_attempt_at=now,
                )
                for event in events
            ]
        )
    with connections["default"].cursor() as cursor:
        cursor.execute("ANALYZE")
    connections.close_all()


def gunicorn(
    database_url: str, port: int, workers: int, app: str = "attribution_site.wsgi:application"
) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        app,
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--log-level=warning",
        "--timeout=120",
    ]
    # PGAPPNAME names its database connections, so their backends' CPU is told apart from ours.
    server = subprocess.Popen(
        command, cwd=ROOT, env=environment(database_url) | {"PGAPPNAME": f"gunicorn-{port}"}
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=5)
            return server
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"gunicorn on {port} did not start")


def run_throughput(
    database_url: str, count: int, workers: int, sandbox: subprocess.Popen
) -> tuple[float, int, int, dict[str, float]]:
    """Deliver the outbox with `workers` processes; also returns CPU seconds per group of
    processes (delivery workers from their rusage, PostgreSQL backends and the sandbox's
    gunicorn workers from /proc, sampled while they run). The sandbox records what it receives
    in the same database: its backends are counted apart, as the sandbox's."""
    import psycopg
    from django.db.models import Max, Min

    from bench._measure import backends_by_application, children_of, cpu_seconds
    from events.models import Postback
    from integrations.tiktok.sandbox.models import ReceivedEvent

    name = urlsplit(database_url).path.lstrip("/")
    sandbox_workers = children_of(sandbox.pid)
    sandbox_before = sum(cpu_seconds(pid) for pid in sandbox_workers)
    backends_seen: dict[int, float] = {}
    sandbox_backends: set[int] = set()
    stop = threading.Event()

    def sample() -> None:
        with psycopg.connect(database_url, autocommit=True) as watcher:
            while not stop.is_set():
                for pid, application in backends_by_application(watcher, name).items():
                    backends_seen[pid] = max(backends_seen.get(pid, 0.0), cpu_seconds(pid))
                    if application == f"gunicorn-{SANDBOX_PORT}":
                        sandbox_backends.add(pid)
                time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    time.sleep(0.2)
    backend_before = dict(backends_seen)
    processes = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "deliver_postbacks"],
            cwd=ROOT,
            env=environment(database_url),
            stdout=subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    worker_cpu = delivering_cpu = 0.0
    for process in processes:
        report = process.stdout.read() if process.stdout else b""
        _pid, _status, usage = os.wait4(process.pid, 0)
        process.returncode = 0
        worker_cpu += usage.ru_utime + usage.ru_stime
        delivering_cpu += json.loads(report.splitlines()[-1])["cpu_seconds"]
    stop.set()
    sampler.join(5)
    used = {pid: seconds - backend_before.get(pid, 0.0) for pid, seconds in backends_seen.items()}
    cpu = {
        "delivery workers": worker_cpu,
        "delivery workers, in delivering (their own report)": delivering_cpu,
        "PostgreSQL backends": sum(
            seconds for pid, seconds in used.items() if pid not in sandbox_backends
        ),
        "receiver (gunicorn)": sum(cpu_seconds(pid) for pid in sandbox_workers) - sandbox_before,
        "receiver's PostgreSQL backends": sum(used[pid] for pid in sandbox_backends & set(used)),
    }
    span = Postback.objects.aggregate(first=Min("last_attempt_at"), last=Max("delivered_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    delivered = Postback.objects.filter(status="delivered").count()
    unique = ReceivedEvent.objects.filter(is_duplicate=False).count()
    return seconds, delivered, unique, cpu


def run_latency(database_url: str, app_id: str, key: str, rate: int, seconds: float) -> list[float]:
    """Send `rate` events/s in batches of rate/10 every 100 ms; the cluster delivers them."""
    from events.models import Postback

    web = gunicorn(database_url, WEB_PORT, workers=2)
    cluster = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=environment(database_url) | {"Q_WORKERS": "2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(3)  # let the cluster start
    url = f"http://127.0.0.1:{WEB_PORT}/api/v1/apps/{app_id}/events/batch"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    per_tick = max(1, rate // 10)
    session = requests.Session()
    sent = 0
    try:
        start = time.perf_counter()
        ticks = int(seconds * 10)
        for tick in range(ticks):
            delay = start + tick / 10 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            events = [
                {
                    "event_id": f"steady-{sent + i}",
                    "event_name": "purchase",
                    "event_time": int(time.time()),
                    "web_user_id": f"steady-{sent + i}",
                    "revenue": 9.99,
                    "currency": "USD",
                }
                for i in range(per_tick)
            ]
            response = session.post(url, data=json.dumps({"events": events}), headers=headers)
            response.raise_for_status()
            sent += per_tick
        deadline = time.monotonic() + 60
        steady = Postback.objects.filter(event__event_id__startswith="steady-")
        while steady.exclude(status="delivered").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        cluster.terminate()
        web.terminate()
        cluster.wait(timeout=30)
        web.wait(timeout=30)
    return [
        (delivered - received).total_seconds()
        for delivered, received in steady.filter(status="delivered").values_list(
            "delivered_at", "event__received_at"
        )
    ]


def startup_cpu(database_url: str) -> float:
    """CPU seconds a delivery process spends before its first claim: Python, Django and our
    modules loaded (the command's --help loads the same and exits)."""
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "deliver_postbacks", "--help"],
        cwd=ROOT,
        env=environment(database_url),
        stdout=subprocess.DEVNULL,
    )
    _pid, _status, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2, help="delivery worker processes")
    parser.add_argument("--sandbox-workers", type=int, default=3)
    parser.add_argument("--rate", type=int, default=200, help="events/s in the latency run")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--history-months",
        type=int,
        default=0,
        help="earlier months of events, each in its own partition, none to be forwarded",
    )
    parser.add_argument("--history-events-per-month", type=int, default=20_000)
    parser.add_argument(
        "--sink",
        action="store_true",
        help="send to a stand-in that only parses and answers (bench/_sink.py), not the sandbox",
    )
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)

    recreate_database(database_url)
    app, integration, key = set_up(database_url)
    add_history(app, args.history_months, args.history_events_per_month)
    fill_outbox(app, integration, args.events)
    receiver = "bench._sink:application" if args.sink else "attribution_site.wsgi:application"
    sandbox = gunicorn(database_url, SANDBOX_PORT, workers=args.sandbox_workers, app=receiver)
    try:
        seconds, delivered, unique, cpu = run_throughput(
            database_url, args.events, args.workers, sandbox
        )
        latencies = run_latency(database_url, app.app_id, key, args.rate, args.seconds)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)

    target = "a sink that parses and answers" if args.sink else "the sandbox"
    print(
        f"machine: {os.cpu_count()} cores; PostgreSQL; {target}: gunicorn "
        f"{args.sandbox_workers} workers in its own processes"
    )
    if args.history_months:
        print(
            f"history: {args.history_months} earlier months of "
            f"{args.history_events_per_month:,} events each, a partition per month"
        )
    counted = "" if args.sink else f"; the sandbox counted {unique:,} unique events"
    print(
        f"outbox → {target}: {delivered:,} of {args.events:,} postbacks delivered in "
        f"{seconds:.2f} s = {delivered / seconds:,.0f} events/s ({args.workers} worker "
        f"processes, batches of 1,000){counted}"
    )
    for group, used in cpu.items():
        print(f"  CPU {group}: {used:.2f} s = {used / max(delivered, 1) * 1e6:,.0f} µs per event")
    ours = cpu["delivery workers"] + cpu["PostgreSQL backends"]
    print(
        f"  CPU delivery workers + PostgreSQL: {ours / max(delivered, 1) * 1e6:,.0f} µs per event"
    )
    startup = startup_cpu(database_url) * args.workers
    steady = ours - startup
    print(
        f"  of which the worker processes' start-up (Django loaded, {args.workers} × "
        f"{startup / args.workers:.2f} s): without it {steady / max(delivered, 1) * 1e6:,.0f} µs "
        "per event"
    )
    delivering = cpu["delivery workers, in delivering (their own report)"]
    print(
        "  CPU of the delivery itself (the workers' own count from their first claim) + "
        f"PostgreSQL: {(delivering + cpu['PostgreSQL backends']) / max(delivered, 1) * 1e6:,.0f} "
        "µs per event"
    )
    if latencies:
        print(
            f"arrival → delivery at {args.rate} events/s for {args.seconds:.0f} s "
            f"({len(latencies):,} events, django-q2 cluster, ORM broker): "
            f"p50 {percentile(latencies, 50):.2f} s, p95 {percentile(latencies, 95):.2f} s, "
            f"p99 {percentile(latencies, 99):.2f} s, max {max(latencies):.2f} s, "
            f"mean {statistics.fmean(latencies):.2f} s"
        )
    else:
        print("arrival → delivery: nothing was delivered")


if __name__ == "__main__":
    threading.excepthook = lambda info: print(info, file=sys.stderr)
    main()
