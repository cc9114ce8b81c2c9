"""django-q2 tasks of the raw-data exports. Thin: look up ids, call a service."""

from __future__ import annotations

from typing import Any

from reporting import export_jobs


def run_export_job(job_id: int) -> dict[str, Any]:
    job = export_jobs.run_export_job(job_id)
    if job is None:
        return {"job": job_id, "status": "not started: finished, running or waiting for a slot"}
    return {"job": job.pk, "status": job.status, "rows": job.rows_written, "error": job.error}


def delete_old_exports() -> dict[str, Any]:
    return {"deleted": export_jobs.delete_old_exports()}


def sweep_export_jobs() -> dict[str, Any]:
    """Fail jobs that outlived Q_TASK_TIMEOUT and start jobs waiting for a free slot."""
    failed = export_jobs.fail_stalled_export_jobs()
    return {"failed": failed, "queued": export_jobs.queue_waiting_exports()}
