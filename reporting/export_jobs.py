"""Exports too big to wait on: a django-q2 job writes the CSV to a file the user downloads
when it is ready, with progress shown meanwhile.

The threshold is EXPORT_BACKGROUND_ROWS (default 200,000, AppsFlyer's default rows per call):
at ~500 bytes a row that is ~100 MB, minutes of download on an ordinary link, and a dropped
connection loses a streamed download while a prepared file can be fetched again.

At most EXPORT_MAX_RUNNING jobs run at once (default 1), so the other django-q2 workers stay
free for postback deliveries; a job that finds no free slot stays queued and is started when a
running one ends. A job may run Q_TASK_TIMEOUT seconds, like every task: one that takes longer
ends as failed with that reason, never as "running" forever.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from django_q.exceptions import TimeoutException
from django_q.tasks import async_task

from integrations.policy import access_for
from reporting import raw_data, raw_data_csv
from reporting.models import ExportJob

PROGRESS_EVERY_BYTES = 4 * 1024 * 1024
# A job stops itself this long before django-q2's alarm, so it can record why.
STOP_BEFORE_TIMEOUT_SECONDS = 10
# django-q2's guard kills a timed-out worker a few seconds after Q_TASK_TIMEOUT; a job still
# "running" this long after it has no worker left.
STALLED_AFTER_TIMEOUT_SECONDS = 15
PROGRESS_ALIAS = "export_progress"
Status = ExportJob.Status


class ExportTooSlow(Exception):
    pass


def export_dir() -> Path:
    path = Path(settings.EXPORT_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_path(job: ExportJob) -> Path:
    return export_dir() / job.file_name


def start_export_job(query: raw_data.RawDataQuery, *, acting_user: AbstractBaseUser) -> ExportJob:
    """Queue a background export of exactly these filters."""
    fail_stalled_export_jobs()
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
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    async_task("reporting.tasks.run_export_job", job_id, task_name=f"export {job_id}")


def run_export_job(job_id: int) -> ExportJob | None:
    """Write the file, if the job is still queued and a slot is free (else None: it waits, and
    the job that frees the slot starts it). Safe to run twice: only one run claims the job."""
    if not _claim(job_id):
        return None
    job = ExportJob.objects.select_related("app", "user").get(pk=job_id)
    try:
        access = access_for(job.user, job.app)
        if access is None:
            raise raw_data.BadQuery("You no longer have access to this app.")
        kind = raw_data.KINDS.get(job.report)
        if kind is None:
            raise raw_data.BadQuery(f"Unknown report {job.report!r}.")
        query = raw_data.open_report(access, kind, job.params)
        _write(job, query)
    except TimeoutException:  # django-q2's alarm (a SystemExit): record why, let it stop us
        _fail(job, _too_slow(settings.Q_TASK_TIMEOUT))
        raise
    except Exception as error:  # the job records any failure for the user; nothing is retried
        _fail(job, str(error) or error.__class__.__name__)
    queue_waiting_exports()
    return job


def _claim(job_id: int) -> bool:
    """queued → running, unless EXPORT_MAX_RUNNING jobs run already.

    Race: two workers claiming two jobs at once would both count the running jobs before
    either commits and both start. So each first locks every unfinished job in id order; the
    second waits for the first to commit, and then sees the job it started as running. (SQLite
    runs one worker and serialises writers.)"""
    with transaction.atomic():
        unfinished = ExportJob.objects.select_for_update().filter(
            status__in=[Status.QUEUED, Status.RUNNING]
        )
        statuses = list(unfinished.order_by("pk").values_list("status", flat=True))
        if statuses.count(Status.RUNNING) >= settings.EXPORT_MAX_RUNNING:
            return False
        return bool(
            ExportJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
                status=Status.RUNNING, started_at=timezone.now(), rows_written=0
            )
        )


def queue_waiting_exports() -> int:
    """Queue a run of the oldest waiting jobs, as many as there are free slots. A run that
    finds its job already started does nothing, so queueing one twice is harmless."""
    running = ExportJob.objects.filter(status=Status.RUNNING).count()
    free = max(settings.EXPORT_MAX_RUNNING - running, 0)
    waiting = ExportJob.objects.filter(status=Status.QUEUED).order_by("created_at", "pk")
    job_ids = list(waiting.values_list("pk", flat=True)[:free])
    for job_id in job_ids:
        _enqueue(job_id)
    return len(job_ids)


def fail_stalled_export_jobs() -> int:
    """Jobs still "running" after Q_TASK_TIMEOUT lost their worker (django-q2 stops a task at
    its timeout, or the worker died): they end as failed with the reason, and the jobs waiting
    for their slots start. Run by the page, the status poll, new exports and a schedule."""
    limit = settings.Q_TASK_TIMEOUT
    cutoff = timezone.now() - timedelta(seconds=limit + STALLED_AFTER_TIMEOUT_SECONDS)
    stalled = list(ExportJob.objects.filter(status=Status.RUNNING, started_at__lt=cutoff))
    if not stalled:
        return 0
    for job in stalled:
        file_path(job).with_suffix(".part").unlink(missing_ok=True)
    failed = ExportJob.objects.filter(
        pk__in=[job.pk for job in stalled], status=Status.RUNNING
    ).update(status=Status.FAILED, error=_too_slow(limit), finished_at=timezone.now())
    queue_waiting_exports()
    return failed


def _too_slow(seconds: float) -> str:
    return (
        f"Stopped after {seconds:.0f} s: an export may take at most Q_TASK_TIMEOUT "
        f"({settings.Q_TASK_TIMEOUT} s). Export fewer rows or a shorter period."
    )


def _fail(job: ExportJob, reason: str) -> None:
    file_path(job).with_suffix(".part").unlink(missing_ok=True)
    file_path(job).unlink(missing_ok=True)
    job.status = Status.FAILED
    job.error = reason
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])


def _write(job: ExportJob, query: raw_data.RawDataQuery) -> None:
    target = file_path(job)
    partial = target.with_suffix(".part")
    started = time.monotonic()
    stop_at = started + settings.Q_TASK_TIMEOUT - STOP_BEFORE_TIMEOUT_SECONDS
    lines = written = reported = 0
    stream = raw_data_csv.stream_csv(query)
    with partial.open("wb") as out, _progress_database() as progress_db:
        try:
            for chunk in stream:
                data = chunk.encode() if isinstance(chunk, str) else chunk
                out.write(data)
                written += len(data)
                lines += data.count(b"\n")
                if time.monotonic() > stop_at:
                    raise ExportTooSlow(_too_slow(time.monotonic() - started))
                if written - reported >= PROGRESS_EVERY_BYTES:
                    reported = written
                    ExportJob.objects.using(progress_db).filter(pk=job.pk).update(
                        rows_written=max(lines - 1, 0), file_bytes=written
                    )
        finally:
            stream.close()  # ends an unfinished COPY, so the failure can be recorded
    partial.replace(target)
    job.status = Status.DONE
    job.rows_written = job.total_rows
    job.file_bytes = written
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "rows_written", "file_bytes", "finished_at"])


@contextmanager
def _progress_database() -> Iterator[str]:
    """The database alias to write progress through while the rows stream.

    Race: on PostgreSQL the rows come from `COPY … TO STDOUT` on the default connection, and
    psycopg holds that connection's lock until the COPY ends; a progress UPDATE on it would
    wait for the COPY, which waits for us, and the worker would hang on itself until its
    timeout (issue 18). So progress goes through a second connection, opened at the first
    report and closed with the file. SQLite writes in Python between fetches, where the default
    connection is free (and a second one would wait for its read lock)."""
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        yield DEFAULT_DB_ALIAS
        return
    connections[PROGRESS_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        yield PROGRESS_ALIAS
    finally:
        connections[PROGRESS_ALIAS].close()
        del connections[PROGRESS_ALIAS]


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
