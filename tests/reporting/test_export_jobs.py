"""Background exports: a large export is prepared as a file by django-q2, with progress, and
only its owner downloads it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_q.conf import Conf

from events.models import Postback
from events.services.ingest import record_events
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import ReceivedEvent
from reporting import export_jobs, tasks
from reporting.models import ExportJob
from tests import factories

MOMENT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FILTERS = {"report": "in_app_events", "from": "2026-03-01", "to": "2026-03-07"}


@pytest.fixture(autouse=True)
def export_dir(tmp_path):
    with override_settings(EXPORT_DIR=str(tmp_path)):
        yield tmp_path


@pytest.fixture
def events(app):
    for n in range(5):
        factories.make_event(
            app, event_time=MOMENT + timedelta(minutes=n), media_source="tiktokweb_int"
        )


def _start(client, app, django_capture_on_commit_callbacks, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            reverse("reporting:export-job-start", args=[app.app_id]), {**FILTERS, **extra}
        )


def test_a_prepared_file_has_the_same_bytes_as_the_direct_export(
    client, app, analyst, events, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    response = _start(client, app, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert (job.status, job.total_rows, job.rows_written) == ("done", 5, 5)
    download = client.get(reverse("reporting:export-job-download", args=[app.app_id, job.pk]))
    direct = client.get(reverse("reporting:raw-data-export", args=[app.app_id]), FILTERS)
    assert b"".join(download.streaming_content) == b"".join(direct.streaming_content)
    page = client.get(response["Location"])
    assert "Preparing the file (5 rows)" in page.content.decode()
    assert page.context["jobs"][0] == job


def test_the_status_endpoint_reports_progress(client, app, analyst, events):
    client.force_login(analyst)
    job = ExportJob.objects.create(
        app=app, user=analyst, report="in_app_events", params=FILTERS, total_rows=5, rows_written=2
    )
    response = client.get(reverse("reporting:export-job-status", args=[app.app_id, job.pk]))
    assert response.json() == {
        "status": "queued",
        "status_label": "Queued",
        "rows_written": 2,
        "total_rows": 5,
        "error": "",
    }


def test_nobody_else_sees_or_downloads_someone_elses_file(
    client, app, analyst, admin_user, events, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    _start(client, app, django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    client.force_login(admin_user)
    assert (
        client.get(reverse("reporting:export-job-download", args=[app.app_id, job.pk])).status_code
        == 404
    )
    assert (
        client.get(reverse("reporting:export-job-status", args=[app.app_id, job.pk])).status_code
        == 404
    )


def test_bad_filters_start_no_job(client, app, analyst, events, django_capture_on_commit_callbacks):
    client.force_login(analyst)
    response = _start(client, app, django_capture_on_commit_callbacks, to="2026-05-01")
    assert ExportJob.objects.count() == 0
    page = client.get(response["Location"])
    assert "longer than 31 days" in page.content.decode()


def test_a_job_whose_user_lost_access_fails_with_the_reason(app, analyst, events):
    job = ExportJob.objects.create(
        app=app, user=analyst, report="in_app_events", params=FILTERS, file_name="x.csv"
    )
    analyst.app_memberships.all().delete()
    export_jobs.run_export_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert "no longer have access" in job.error


def _job(app, user, **fields) -> ExportJob:
    fields = {"report": "in_app_events", "params": FILTERS, "total_rows": 5, **fields}
    job = ExportJob.objects.create(app=app, user=user, **fields)
    job.file_name = f"job-{job.pk}.csv"
    job.save(update_fields=["file_name"])
    return job


def test_a_job_whose_worker_was_stopped_ends_failed_with_the_reason_on_the_page(
    client, app, analyst, events, export_dir, settings
):
    stopped = timezone.now() - timedelta(seconds=settings.Q_TASK_TIMEOUT + 20)
    job = _job(app, analyst, status="running", started_at=stopped, rows_written=3)
    export_jobs.file_path(job).with_suffix(".part").write_bytes(b"half a file")
    client.force_login(analyst)
    html = client.get(reverse("reporting:raw-data", args=[app.app_id]), FILTERS).content.decode()
    assert "Failed: Stopped after 300 s: an export may take at most Q_TASK_TIMEOUT (300 s)." in html
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert not list(export_dir.iterdir())
    assert export_jobs.run_export_job(job.pk) is None  # a re-delivered task does not restart it


def test_a_job_running_within_its_timeout_keeps_running(client, app, analyst, events, settings):
    started = timezone.now() - timedelta(seconds=settings.Q_TASK_TIMEOUT - 20)
    job = _job(app, analyst, status="running", started_at=started, rows_written=3)
    client.force_login(analyst)
    response = client.get(reverse("reporting:export-job-status", args=[app.app_id, job.pk]))
    assert response.json()["status"] == "running"
    assert export_jobs.run_export_job(job.pk) is None  # nor does a second task for it


@override_settings(Q_TASK_TIMEOUT=10)
def test_a_job_that_runs_out_of_time_stops_itself_with_the_reason(app, analyst, events, export_dir):
    job = _job(app, analyst)
    export_jobs.run_export_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == (
        "Stopped after 0 s: an export may take at most Q_TASK_TIMEOUT (10 s). "
        "Export fewer rows or a shorter period."
    )
    assert not list(export_dir.iterdir())


@override_settings(EXPORT_MAX_RUNNING=1)
def test_a_second_job_waits_for_a_free_slot_and_starts_when_the_first_ends(app, analyst, events):
    running = _job(app, analyst, status="running", started_at=timezone.now())
    waiting = _job(app, analyst)
    assert export_jobs.run_export_job(waiting.pk) is None
    waiting.refresh_from_db()
    assert waiting.status == "queued"
    first, second = _job(app, analyst), _job(app, analyst)
    running.delete()
    export_jobs.run_export_job(first.pk)  # its end starts the oldest waiting job, then the next
    statuses = dict(ExportJob.objects.values_list("pk", "status"))
    assert statuses == {waiting.pk: "done", first.pk: "done", second.pk: "done"}


def test_the_page_offers_a_background_file_above_the_threshold(client, app, analyst, events):
    client.force_login(analyst)
    with override_settings(EXPORT_BACKGROUND_ROWS=4):
        html = client.get(
            reverse("reporting:raw-data", args=[app.app_id]), FILTERS
        ).content.decode()
    assert "This is a large export (5 rows)" in html
    assert "Prepare CSV file" in html
    with override_settings(EXPORT_BACKGROUND_ROWS=5):
        html = client.get(
            reverse("reporting:raw-data", args=[app.app_id]), FILTERS
        ).content.decode()
    assert "This is a large export" not in html
    assert "Export CSV" in html


def test_the_sweep_schedule_fails_a_stopped_job_and_starts_the_one_waiting_for_its_slot(
    app, analyst, events, settings
):
    stopped = timezone.now() - timedelta(seconds=settings.Q_TASK_TIMEOUT + 20)
    stuck = _job(app, analyst, status="running", started_at=stopped)
    waiting = _job(app, analyst)
    assert tasks.sweep_export_jobs()["failed"] == 1
    statuses = dict(ExportJob.objects.values_list("pk", "status"))
    assert statuses == {stuck.pk: "failed", waiting.pk: "done"}


def test_old_files_are_deleted(app, analyst, export_dir):
    job = ExportJob.objects.create(
        app=app, user=analyst, report="in_app_events", params=FILTERS, file_name="old.csv"
    )
    (export_dir / "old.csv").write_text("x")
    ExportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=49))
    assert export_jobs.delete_old_exports() == 1
    assert not (export_dir / "old.csv").exists()
    assert not ExportJob.objects.exists()


# --- PostgreSQL: exports of several megabytes, written by COPY --------------------------------

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the COPY writer and its connection are PostgreSQL's"
)
BIG_FILTERS = {"report": "in_app_events", "from": "2026-03-01", "to": "2026-03-07"}


def load_events(app, count: int) -> None:
    """`count` paid in-app events over 2026-03-01..07 in one INSERT … SELECT (~380 bytes of
    CSV each), committed so that other connections and processes see them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO events_inappevent (media_source, campaign, campaign_id, adset, adset_id,
              ad, ad_id, site_id, channel, keywords, touch_type, touch_time, ttclid, match_type,
              event_id, event_name, event_time, received_at, device_id, customer_user_id,
              web_user_id, idfa, idfv, gaid, ip, user_agent, country_code, email_sha256,
              phone_sha256, value, revenue, currency, url, referrer, is_reengagement,
              is_ad_revenue, app_id, install_id, ttp)
            SELECT 'tiktokweb_int', 'Spring sale ' || (g %% 7), (1800000000 + g %% 7)::text,
              'Ad group ' || (g %% 13), (1900000000 + g %% 13)::text,
              'Video ' || (g %% 29), (2000000000 + g %% 29)::text, '', '', '', 'click',
              TIMESTAMPTZ '2026-03-01 00:00+00', 'E.C.P.' || md5(g::text), 'ttclid',
              'evt-big-' || g, 'purchase',
              TIMESTAMPTZ '2026-03-01 00:00+00' + (g %% 600000) * interval '1 second',
              now(), 'device-' || g, 'customer-' || g, 'w' || g, '', '', '',
              '10.1.2.3'::inet,
              'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15',
              'US', md5(g::text) || md5(g::text), '', '{}'::jsonb, 12.5, 'EUR',
              'https://shop.example/checkout', 'https://www.tiktok.com/', false, false, %s, NULL,
              ''
            FROM generate_series(1, %s) g
            """,
            [app.pk, count],
        )


def run_with_deadline(job_id: int, seconds: float) -> None:
    """Run the job as a worker would, on its own connection, failing the test instead of
    hanging it. A hung worker's backend is terminated so the test database can be flushed."""
    backend: list[int] = []

    def work() -> None:
        try:
            connection.ensure_connection()
            backend.append(connection.connection.info.backend_pid)
            export_jobs.run_export_job(job_id)
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", backend)
        pytest.fail(f"the export job did not finish within {seconds} s")


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_prepared_export_of_several_megabytes_finishes_with_progress_on_postgresql(
    app, analyst, monkeypatch
):
    load_events(app, 30_000)
    monkeypatch.setattr(export_jobs, "PROGRESS_EVERY_BYTES", 256 * 1024)
    job = ExportJob.objects.create(
        app=app,
        user=analyst,
        report="in_app_events",
        params=BIG_FILTERS,
        total_rows=30_000,
        file_name="big.csv",
    )
    seen: list[tuple[str, int, int]] = []
    watching = threading.Event()

    def watch() -> None:
        try:
            while not watching.is_set():
                seen.append(
                    ExportJob.objects.values_list("status", "rows_written", "file_bytes").get()
                )
                time.sleep(0.01)
        finally:
            connection.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run_with_deadline(job.pk, 30)
    finally:
        watching.set()
        watcher.join(5)
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert job.file_bytes > 8 * 1024 * 1024
    path = export_jobs.file_path(job)
    assert path.stat().st_size == job.file_bytes
    assert path.read_bytes().count(b"\n") == 30_001
    partial = [(rows, size) for status, rows, size in seen if status == "running" and rows]
    assert partial, "the page never saw the export's progress"
    assert all(0 < rows < 30_000 and 0 < size < job.file_bytes for rows, size in partial)


PIXEL = "CQ8RT3JC77U4D5MLS2A0"
TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"
ROOT = Path(__file__).resolve().parents[2]


@on_postgresql
def test_a_delivery_goes_out_while_two_large_exports_run_on_a_two_worker_cluster(
    client, app, analyst, tiktok_sandbox, monkeypatch, export_dir
):
    """The issue's scene: a real qcluster with 2 workers, two exports of many MB queued, then
    a postback. One export runs at a time (EXPORT_MAX_RUNNING=1), so the other worker sends
    the postback before the first export ends, and both files are finished."""
    load_events(app, 100_000)
    state.issue_token(sources=[PIXEL], token=TOKEN)
    integration = factories.make_integration(app, is_active=True, in_app_postbacks_enabled=True)
    factories.make_pixel(integration, pixel_code=PIXEL, access_token=TOKEN)
    factories.make_mapping(integration, users_from="all_sources", including="values_and_revenue")
    monkeypatch.setattr(Conf, "SYNC", False)  # queue tasks for the cluster
    client.force_login(analyst)
    for _ in range(2):
        client.post(reverse("reporting:export-job-start", args=[app.app_id]), BIG_FILTERS)
    purchase = {"event_id": "order-1", "event_name": "purchase", "web_user_id": "wu-1"}
    record_events(app, [{**purchase, "event_time": timezone.now().isoformat()}])
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "Q_WORKERS": "2",
        "EXPORT_MAX_RUNNING": "1",
        "EXPORT_DIR": str(export_dir),
        "TIKTOK_API_BASE_URL": tiktok_sandbox,
        "DJANGO_SETTINGS_MODULE": "attribution_site.settings",
    }
    cluster = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            ExportJob.objects.exclude(status="done").exists()
            or not Postback.objects.filter(status="delivered").exists()
        ):
            time.sleep(0.2)
    finally:
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(timeout=10)
    jobs = list(ExportJob.objects.order_by("started_at"))
    assert [(job.status, job.error) for job in jobs] == [("done", ""), ("done", "")]
    assert all(job.file_bytes > 20_000_000 for job in jobs)
    postback = Postback.objects.get()
    assert postback.status == "delivered"
    assert postback.delivered_at < jobs[0].finished_at  # not after an export freed a worker
    assert jobs[0].finished_at <= jobs[1].started_at  # one export at a time
    assert ReceivedEvent.objects.get().event_id == "order-1"
