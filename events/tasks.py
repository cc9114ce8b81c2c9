"""django-q2 tasks of the events side. Thin: they call a service and report what it did."""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.utils import timezone
from django_q.brokers import Broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.tasks import async_task

from events.services.delivery import deliver_due_postbacks

QUEUED_KEY = "events:postback-delivery-queued"


def deliver_postbacks() -> dict[str, Any]:
    """Deliver every due postback. Safe to run twice at once: claims never overlap."""
    cache.delete(QUEUED_KEY)
    return asdict(deliver_due_postbacks())


def enqueue_delivery() -> None:
    """Queue a delivery run (called on commit) unless one queued earlier has not started yet: a
    run claims every row due when it starts, so it takes this commit's rows too. With a shared
    cache (Redis) the queued run clears a flag when it starts; with the ORM broker this process
    asks whether the run it queued last is still waiting in the queue table (a primary-key
    read, where queueing a run per commit cost an insert, and a task run that found nothing)."""
    if settings.REDIS_URL:
        if cache.add(QUEUED_KEY, 1, timeout=60):
            _queue_run()
        return
    if Conf.ORM and not Conf.SYNC:
        broker = _orm_broker()
        if broker.last_queued is not None and broker.is_waiting(broker.last_queued):
            return
        _queue_run(broker)
        return
    _queue_run()


def _queue_run(broker: Broker | None = None) -> None:
    async_task(
        "events.tasks.deliver_postbacks",
        task_name="deliver postbacks",
        group="postbacks",
        broker=broker,
    )


class _RememberingOrmBroker(ORM):
    """django-q2's ORM broker, remembering the queue row of the last task it queued."""

    last_queued: int | None = None

    def enqueue(self, task: str) -> int:
        self.last_queued = super().enqueue(task)
        return self.last_queued

    def is_waiting(self, row: int) -> bool:
        """Queued and not yet taken by a cluster (taking it moves its lock into the future;
        a finished task's row is deleted). Plain SQL: the ORM's query cost three times as
        much CPU, and its get_connection() closes connections past CONN_MAX_AGE mid-request."""
        connection = connections[Conf.ORM]
        table = connection.ops.quote_name(OrmQ._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {table} WHERE id = %s AND lock <= %s",  # noqa: S608
                [row, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            return cursor.fetchone() is not None


@functools.cache
def _orm_broker() -> _RememberingOrmBroker:
    return _RememberingOrmBroker(list_key=Conf.CLUSTER_NAME)


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
