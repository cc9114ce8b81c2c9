"""django-q2 tasks of the events side. Thin: they call a service and report what it did."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django_q.tasks import async_task

from events.services.delivery import deliver_due_postbacks

QUEUED_KEY = "events:postback-delivery-queued"


def deliver_postbacks() -> dict[str, Any]:
    """Deliver every due postback. Safe to run twice at once: claims never overlap."""
    cache.delete(QUEUED_KEY)
    return asdict(deliver_due_postbacks())


def enqueue_delivery() -> None:
    """Queue a delivery run (called on commit). With a shared cache (Redis), one queued run at a
    time is enough: it clears the flag when it starts, so rows committed after that queue a new
    run. Without one, each commit queues a run; runs that find nothing due end at once."""
    if settings.REDIS_URL and not cache.add(QUEUED_KEY, 1, timeout=60):
        return
    async_task("events.tasks.deliver_postbacks", task_name="deliver postbacks", group="postbacks")


def maintain_event_tables() -> dict[str, Any]:
    """Daily: make the coming months' partitions, then drop months past retention."""
    from events.services.partitions import apply_retention, ensure_partitions

    created = ensure_partitions()
    outcome = apply_retention()
    return {
        "created": created,
        "cutoff": outcome.cutoff.isoformat() if outcome.cutoff else None,
        "dropped": outcome.dropped,
        "deleted_rows": outcome.deleted_rows,
    }
