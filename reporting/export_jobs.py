"""Exports too big to wait on: a django-q2 job writes the CSV to a file the user downloads
when it is ready, with progress shown meanwhile.

The threshold is EXPORT_BACKGROUND_ROWS (default 200,000, AppsFlyer's default rows per call):
at ~500 bytes a row that is ~100 MB, minutes of download on an ordinary link, and a dropped
connection loses a streamed download while a prepared file can be fetched again.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from integrations.policy import Action, access_for
from reporting import raw_data, raw_data_csv
from reporting.models import ExportJob

PROGRESS_EVERY_BYTES = 4 * 1024 * 1024


def export_dir() -> Path:
    path = Path(settings.EXPORT_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_path(job: ExportJob) -> Path:
    return export_dir() / job.file_name


def start_export_job(query: raw_data.RawDataQuery, *, acting_user: AbstractBaseUser) -> ExportJob:
    """Queue a background export of exactly these filters."""
    total = min(raw_data.report_rows(query).count(), query.maximum_rows)
    job = ExportJob.objects.create(
        app=query.app,
        user=acting_user,
        report=query.kind.key,
        params=query.params,
        total_rows=total,
    )
    job.file_name = f"export-{job.pk}-{os.urandom(8).hex()}.csv"
    job.save(update_fields=["file_name"])
    transaction.on_commit(lambda: async_task("reporting.tasks.run_export_job", job.pk))
    return job


def run_export_job(job_id: int) -> ExportJob | None:
    """Write the file. Safe to run again after a killed worker: it starts the file over."""
    claimed = ExportJob.objects.filter(
        pk=job_id, status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING]
    ).update(status=ExportJob.Status.RUNNING, started_at=timezone.now(), rows_written=0)
    if not claimed:
        return None
    job = ExportJob.objects.select_related("app", "user").get(pk=job_id)
    access = access_for(job.user, job.app)
    try:
        if access is None:
            raise raw_data.BadQuery("You no longer have access to this app.")
        query = raw_data.parse_query(access, job.params, kind_key=job.report)
        access.require(query.kind.need)
        access.require(Action.EXPORT_REPORTS)
        _write(job, query)
    except Exception as error:  # the job records any failure for the user; nothing is retried
        file_path(job).unlink(missing_ok=True)
        job.status = ExportJob.Status.FAILED
        job.error = str(error) or error.__class__.__name__
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        return job
    return job


def _write(job: ExportJob, query: raw_data.RawDataQuery) -> None:
    target = file_path(job)
    partial = target.with_suffix(".part")
    lines = written = reported = 0
    with partial.open("wb") as out:
        for chunk in raw_data_csv.stream_csv(query):
            data = chunk.encode() if isinstance(chunk, str) else chunk
            out.write(data)
            written += len(data)
            lines += data.count(b"\n")
            if written - reported >= PROGRESS_EVERY_BYTES:
                reported = written
                ExportJob.objects.filter(pk=job.pk).update(
                    rows_written=max(lines - 1, 0), file_bytes=written
                )
    partial.replace(target)
    job.status = ExportJob.Status.DONE
    job.rows_written = job.total_rows
    job.file_bytes = written
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "rows_written", "file_bytes", "finished_at"])


def delete_old_exports() -> int:
    """The daily clean-up: files and rows older than EXPORT_KEEP_HOURS."""
    cutoff = timezone.now() - timezone.timedelta(hours=settings.EXPORT_KEEP_HOURS)
    old = ExportJob.objects.filter(created_at__lt=cutoff)
    for job in old:
        if job.file_name:
            file_path(job).unlink(missing_ok=True)
            file_path(job).with_suffix(".part").unlink(missing_ok=True)
    deleted, _ = old.delete()
    return deleted
