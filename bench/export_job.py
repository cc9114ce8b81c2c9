"""Prepared-export benchmark: two ~10 MB prepared raw-data exports on the django-q2 cluster
(2 workers, EXPORT_MAX_RUNNING=1) while events keep arriving and their postbacks keep flowing
to the TikTok sandbox (issue 18: exports used to hang a worker each and stop deliveries).

Loads the export benchmark's in-app events (with their installs and clicks) into a fresh
database, serves the events API and the sandbox with gunicorn, starts `manage.py qcluster`,
sends purchases at a steady rate through the events API, queues two prepared exports of every
event, and prints each export's size and time and the arrival → delivery times of the postbacks
that arrived while the exports were queued or running.

    .venv/bin/python bench/export_job.py [--events 25000] [--rate 100]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
sb_bench_export_job); the database is dropped and created afresh. Nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.export import DAYS, START, load  # noqa: E402
from bench.forward import (  # noqa: E402
    PIXEL,
    SANDBOX_PORT,
    TOKEN,
    WEB_PORT,
    environment,
    gunicorn,
    percentile,
    recreate_database,
)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/sb_bench_export_job"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=25_000, help="rows of each export")
    parser.add_argument("--rate", type=int, default=100, help="purchases/s through the API")
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    export_dir = tempfile.mkdtemp(prefix="sb-bench-exports-")
    recreate_database(database_url)
    os.environ.update(environment(database_url) | {"EXPORT_DIR": export_dir})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _, app_id = load(args.events)
    key = connect_tiktok(app_id)
    servers = [gunicorn(database_url, SANDBOX_PORT, 2), gunicorn(database_url, WEB_PORT, 2)]
    cluster = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=os.environ | {"Q_WORKERS": "2", "EXPORT_MAX_RUNNING": "1"},
    )
    try:
        time.sleep(3)  # let the cluster start
        measure(app_id, key, args.rate)
    finally:
        for process in [cluster, *servers]:
            process.terminate()
        for process in [cluster, *servers]:
            process.wait(timeout=30)


def connect_tiktok(app_id: str) -> str:
    """The TikTok web integration with a mapped purchase, and a server API key."""
    from integrations.models import App, EventMapping, Integration, Partner, Pixel
    from integrations.services.apps import rotate_api_key
    from integrations.tiktok.sandbox import state

    app = App.objects.get(app_id=app_id)
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
    return rotate_api_key(app, acting_user=None)


def measure(app_id: str, key: str, rate: int) -> None:
    from datetime import date, timedelta

    from django.contrib.auth import get_user_model

    from events.models import Postback
    from integrations.models import App
    from integrations.policy import access_for
    from reporting import export_jobs, raw_data
    from reporting.models import ExportJob

    stop = threading.Event()
    sender = threading.Thread(target=send_purchases, args=(app_id, key, rate, stop))
    sender.start()
    try:
        time.sleep(2)  # deliveries flowing before the exports
        user = get_user_model().objects.get(username="bench-analyst")
        access = access_for(user, App.objects.get(app_id=app_id))
        last_day = date.fromisoformat(START) + timedelta(days=DAYS - 1)
        params = {"from": START, "to": last_day.isoformat(), "maximum_rows": "1000000"}
        queued_at = time.monotonic()
        for _ in range(2):
            query = raw_data.parse_query(access, params, kind_key="in_app_events")
            export_jobs.start_export_job(query, acting_user=user)
        deadline = time.monotonic() + 300
        while ExportJob.objects.filter(status__in=["queued", "running"]).exists():
            if time.monotonic() > deadline:
                raise SystemExit("the exports did not finish within 300 s")
            time.sleep(0.2)
        all_done = time.monotonic() - queued_at
        time.sleep(2)
    finally:
        stop.set()
        sender.join()
    time.sleep(3)  # the last postbacks go out
    jobs = list(ExportJob.objects.order_by("started_at"))
    for job in jobs:
        seconds = (job.finished_at - job.started_at).total_seconds()
        print(
            f"export {job.pk}: {job.status} {job.error}, {job.rows_written:,} rows, "
            f"{job.file_bytes / 1e6:.1f} MB in {seconds:.2f} s "
            f"({job.rows_written / seconds:,.0f} rows/s)"
        )
    print(f"both exports ready {all_done:.1f} s after they were queued")
    during = Postback.objects.filter(
        event__received_at__gte=jobs[0].created_at, event__received_at__lte=jobs[-1].finished_at
    )
    before = Postback.objects.filter(event__received_at__lt=jobs[0].created_at)
    report_latencies("while the exports were queued or running", during)
    report_latencies("in the 2 s before the exports (for comparison)", before)


def report_latencies(label: str, postbacks) -> None:  # noqa: ANN001 - a Postback QuerySet
    latencies = [
        (delivered - received).total_seconds()
        for delivered, received in postbacks.filter(status="delivered").values_list(
            "delivered_at", "event__received_at"
        )
    ]
    summary = (
        f", arrival → delivery p50 {percentile(latencies, 50):.2f} s, "
        f"p99 {percentile(latencies, 99):.2f} s, max {max(latencies):.2f} s"
        if latencies
        else ""
    )
    print(
        f"postbacks of purchases that arrived {label}: "
        f"{len(latencies):,} of {postbacks.count():,} delivered{summary}"
    )


def send_purchases(app_id: str, key: str, rate: int, stop: threading.Event) -> None:
    url = f"http://127.0.0.1:{WEB_PORT}/api/v1/apps/{app_id}/events/batch"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    per_tick = max(1, rate // 10)
    session = requests.Session()
    sent = 0
    start = time.perf_counter()
    tick = 0
    while not stop.is_set():
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
        session.post(url, data=json.dumps({"events": events}), headers=headers).raise_for_status()
        sent += per_tick
        tick += 1


if __name__ == "__main__":
    main()
