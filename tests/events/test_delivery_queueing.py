"""Queueing delivery runs on commit with django-q2's ORM broker: one waiting run serves every
commit until a cluster takes it; after that the next commit queues a new one, so no committed
row is left to the every-minute sweep."""

from __future__ import annotations

import pytest
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from events import tasks

pytestmark = pytest.mark.django_db


def queued_runs() -> list[str]:
    """The functions of the tasks waiting in the queue table."""
    return [SignedPackage.loads(row.payload)["func"] for row in OrmQ.objects.order_by("id")]


@pytest.fixture(autouse=True)
def queued_for_a_cluster(monkeypatch):
    """As in production: tasks go to the queue table, not run in place (tests/conftest.py)."""
    monkeypatch.setattr(Conf, "SYNC", False)


def test_commits_share_a_waiting_run_and_queue_a_new_one_once_it_was_taken():
    for _ in range(3):
        tasks.enqueue_delivery()
    assert queued_runs() == ["events.tasks.deliver_postbacks"]

    taken = get_broker().dequeue()  # what a cluster does when it starts the run
    assert len(taken) == 1
    tasks.enqueue_delivery()
    tasks.enqueue_delivery()
    assert queued_runs() == ["events.tasks.deliver_postbacks"] * 2

    # A run that finished is acknowledged (its row deleted): the next commit queues again.
    broker = get_broker()
    for row_id, _ in broker.dequeue():
        broker.acknowledge(row_id)
    OrmQ.objects.filter(pk=taken[0][0]).delete()
    assert queued_runs() == []
    tasks.enqueue_delivery()
    assert queued_runs() == ["events.tasks.deliver_postbacks"]
