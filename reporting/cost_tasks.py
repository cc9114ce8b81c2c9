"""django-q2 tasks of the cost pull. Thin: look up ids, call a service, report what it did."""

from __future__ import annotations

from typing import Any

from integrations.services.cost_connections import queue_daily_pulls, queue_retry_pull
from reporting.cost_pulls import run_pull


def pull_cost(pull_id: int) -> dict[str, Any]:
    """Run one queued pull. Safe to run twice: the second finds it already claimed."""
    pull = run_pull(pull_id)
    if pull is None:
        return {"pull": pull_id, "status": "already claimed"}
    return {
        "pull": pull.pk,
        "status": pull.status,
        "rows_read": pull.rows_read,
        "pages": pull.pages,
        "error": pull.error,
    }


def pull_all_cost() -> dict[str, Any]:
    """The daily schedule: queue a pull for every live connection."""
    return {"queued": [pull.pk for pull in queue_daily_pulls()]}


def retry_pull(connection_id: int) -> dict[str, Any]:
    """Scheduled after a pull ended on a rate limit or a TikTok-side error."""
    pull = queue_retry_pull(connection_id)
    return {"queued": pull.pk if pull else None}
