"""The seam where forwarding will plan postbacks: called inside the ingestion transaction with
exactly the rows that were new, never the duplicates."""

from __future__ import annotations

import pytest
from django.db import connection

from events.services import ingest, installs


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], bool]]:
    calls: list[tuple[list[str], bool]] = []

    def record(app, new_events) -> None:
        assert all(event.pk for event in new_events)
        calls.append(([event.event_id for event in new_events], connection.in_atomic_block))

    monkeypatch.setattr(ingest, "plan_postbacks_for_events", record)
    return calls


def test_it_hands_only_new_events_to_the_postback_planner_inside_the_transaction(web_shop, planned):
    web_shop.batch([{"event_id": "a", "event_name": "x"}])
    web_shop.batch([{"event_id": "a", "event_name": "x"}, {"event_id": "b", "event_name": "x"}])
    assert planned == [(["a"], True), (["b"], True)]


def test_it_hands_a_new_install_to_the_postback_planner(ios_app, monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(
        installs, "plan_postbacks_for_install", lambda app, install: seen.append(install.device_id)
    )
    ios_app.install({"device_id": "af-1"})
    ios_app.install({"device_id": "af-1"})
    assert seen == ["af-1"]
