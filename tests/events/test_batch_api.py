"""POST /api/v1/apps/<app id>/events/batch: up to 1,000 events, one result per item."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from events.models import InAppEvent
from tests.events.conftest import KeyedApp


def event(n: int, **extra: object) -> dict:
    return {"event_id": f"e-{n}", "event_name": "view_content", "event_time": 1772000000} | extra


def test_it_stores_the_good_items_of_a_batch_and_explains_the_bad_ones(web_shop):
    response = web_shop.batch({"events": [event(1), event(2, currency="??"), "oops", event(3)]})
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 2)
    assert [r["status"] for r in body["results"]] == [
        "accepted",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert body["results"][1]["errors"] == {
        "currency": ["'??' is not an ISO 4217 currency code such as USD or EUR."]
    }
    assert body["results"][2] == {
        "index": 2,
        "status": "rejected",
        "errors": {"item": ["must be a JSON object."]},
    }
    stored = InAppEvent.objects.values_list("event_id", flat=True).order_by("event_id")
    assert list(stored) == ["e-1", "e-3"]


def test_a_bare_array_is_a_batch_too(web_shop):
    response = web_shop.batch([event(1), event(2)])
    assert response.json()["accepted"] == 2


def test_a_batch_of_only_bad_items_is_a_400_and_stores_nothing(web_shop):
    response = web_shop.batch([{"event_name": ""}, {"event_id": "x"}])
    assert response.status_code == 400
    assert response.json()["rejected"] == 2
    assert not InAppEvent.objects.exists()


def test_a_repeat_within_one_batch_is_stored_once(web_shop):
    response = web_shop.batch([event(1), event(1, event_name="other")])
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "duplicate"]
    assert InAppEvent.objects.get().event_name == "view_content"


def test_a_batch_acknowledges_events_stored_earlier_as_duplicates(web_shop):
    web_shop.batch([event(1), event(2)])
    response = web_shop.batch([event(2), event(3)])
    assert response.status_code == 202
    assert [r["status"] for r in response.json()["results"]] == ["duplicate", "accepted"]
    assert InAppEvent.objects.count() == 3


def test_it_stores_a_full_batch_of_a_thousand(web_shop):
    response = web_shop.batch([event(n, web_user_id=f"wu-{n % 50}") for n in range(1000)])
    assert response.json()["accepted"] == 1000
    assert InAppEvent.objects.count() == 1000


def test_it_refuses_a_batch_over_a_thousand(web_shop):
    response = web_shop.batch([event(n) for n in range(1001)])
    assert response.status_code == 400
    assert response.json()["detail"] == "events: send 1 to 1,000 events per batch, not 1,001."
    assert not InAppEvent.objects.exists()


def test_it_refuses_an_empty_batch(web_shop):
    response = web_shop.batch({"events": []})
    assert response.status_code == 400


def test_it_refuses_a_body_that_is_not_a_batch(web_shop):
    response = web_shop.batch({"event_name": "purchase"})
    assert response.status_code == 400
    assert response.json()["detail"] == 'Send {"events": [...]} or a JSON array of events.'


def test_the_number_of_queries_does_not_grow_with_the_batch(web_shop):
    """Set-based ingestion: no query per item, so 500 events cost what 10 do."""
    web_shop.batch([event(0)])  # the first batch also records the event name
    with CaptureQueriesContext(connection) as small:
        web_shop.batch([event(n, web_user_id=f"wu-{n}") for n in range(1, 11)])
    with CaptureQueriesContext(connection) as large:
        web_shop.batch([event(n, web_user_id=f"wu-{n}") for n in range(100, 600)])
    assert len(large.captured_queries) == len(small.captured_queries) <= 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_of_the_same_events_store_each_once(web_shop: KeyedApp):
    """Two servers retrying the same batch at once: every event is stored once, and for each
    event exactly one of the two requests hears "accepted"."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL's concurrency")
    batch = [event(n) for n in range(300)]
    answers: list[dict] = []
    barrier = threading.Barrier(2)

    def send() -> None:
        barrier.wait()
        answers.append(KeyedApp(web_shop.app, web_shop.key, Client()).batch(batch).json())
        connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert InAppEvent.objects.count() == 300
    assert sum(answer["accepted"] for answer in answers) == 300
    assert sum(answer["duplicates"] for answer in answers) == 300
