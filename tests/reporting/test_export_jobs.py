"""Background exports: a large export is prepared as a file by django-q2, with progress, and
only its owner downloads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from reporting import export_jobs
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


def test_a_job_run_again_after_a_killed_worker_starts_the_file_over(
    app, analyst, events, export_dir
):
    job = ExportJob.objects.create(
        app=app,
        user=analyst,
        report="in_app_events",
        params=FILTERS,
        total_rows=5,
        status="running",
        rows_written=3,
        file_name="again.csv",
    )
    (export_dir / "again.part").write_bytes(b"half a file")
    export_jobs.run_export_job(job.pk)
    job.refresh_from_db()
    assert job.status == "done"
    text = (export_dir / "again.csv").read_text()
    assert text.startswith("Attributed Touch Type,") and text.count("\n") == 6
    assert export_jobs.run_export_job(job.pk) is None  # done jobs are not run twice


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


def test_old_files_are_deleted(app, analyst, export_dir):
    job = ExportJob.objects.create(
        app=app, user=analyst, report="in_app_events", params=FILTERS, file_name="old.csv"
    )
    (export_dir / "old.csv").write_text("x")
    ExportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=49))
    assert export_jobs.delete_old_exports() == 1
    assert not (export_dir / "old.csv").exists()
    assert not ExportJob.objects.exists()
