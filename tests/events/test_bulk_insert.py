"""The bulk inserts behind ingest (events/services/bulk.py): what goes in comes back exactly,
whether a column differs from row to row or holds one value for the whole batch (on PostgreSQL
the second kind is sent once, not as an array), and repeats are told apart from new rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from events.models import InAppEvent, Postback
from events.services.bulk import insert_columns, insert_new_rows
from tests import factories

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
COMPARED = [
    *("event_id", "event_name", "event_time", "app_id", "customer_user_id", "ip", "value"),
    *("revenue", "currency", "media_source", "sub1", "install_time", "user_agent"),
]


def event(app, n: int, **fields) -> InAppEvent:
    return InAppEvent(app=app, event_id=f"bulk-{n}", event_name="purchase", event_time=AT, **fields)


def stored(events: list[InAppEvent]) -> list[tuple]:
    rows = InAppEvent.objects.filter(event_id__in=[e.event_id for e in events])
    by_id = {row.event_id: row for row in rows}
    return [tuple(getattr(by_id[e.event_id], name) for name in COMPARED) for e in events]


def given(events: list[InAppEvent]) -> list[tuple]:
    return [tuple(getattr(e, name) for name in COMPARED) for e in events]


def test_columns_that_vary_and_columns_shared_by_the_whole_batch_come_back_as_given():
    app = factories.make_app()
    events = [
        event(app, 1, customer_user_id="u-1", ip="203.0.113.9", value={"n": 1},
              revenue=Decimal("9.99"), currency="EUR", media_source="tiktok_int"),
        event(app, 2, customer_user_id="u-1", ip="2001:db8::1", value={"n": 1.0},
              revenue=Decimal("9.99"), currency="EUR", media_source="tiktok_int"),
        event(app, 3, customer_user_id="u-1", ip=None, value={},
              revenue=None, currency="EUR", media_source="tiktok_int", sub1="s"),
    ]  # fmt: skip
    inserted = insert_new_rows(InAppEvent, events, ["id", "event_id"])
    assert sorted(event_id for _, event_id in inserted) == ["bulk-1", "bulk-2", "bulk-3"]
    assert stored(events) == given(events)
    # One batch is received at one instant.
    assert InAppEvent.objects.values("received_at").distinct().count() == 1


def test_json_values_python_finds_equal_are_each_stored_as_sent():
    """1 and 1.0 are different numbers to a JSON reader, though Python calls them equal."""
    app = factories.make_app()
    insert_new_rows(
        InAppEvent, [event(app, 1, value={"n": 1}), event(app, 2, value={"n": 1.0})], ["id"]
    )
    values = dict(InAppEvent.objects.values_list("event_id", "value"))
    assert repr(values["bulk-1"]) == "{'n': 1}" and repr(values["bulk-2"]) == "{'n': 1.0}"


def test_rows_given_column_by_column_hold_their_own_values_shared_ones_and_defaults():
    app = factories.make_app()
    integration = factories.make_integration(app)
    first, second = factories.make_event(app), factories.make_event(app)
    count = insert_columns(
        Postback,
        per_row={
            "event_id": [first.pk, first.pk, second.pk],
            "event_time": [first.event_time, first.event_time, second.event_time],
            "partner_event_name": ["Purchase", "AddToCart", "Purchase"],
        },
        shared={"integration_id": integration.pk, "next_attempt_at": AT},
    )
    assert count == 3
    rows = Postback.objects.order_by("event_id", "partner_event_name")
    assert [
        (p.event_id, p.partner_event_name, p.integration_id, p.next_attempt_at) for p in rows
    ] == [
        (first.pk, "AddToCart", integration.pk, AT),
        (first.pk, "Purchase", integration.pk, AT),
        (second.pk, "Purchase", integration.pk, AT),
    ]
    # Fields not named take their defaults, the creation time included.
    assert [(p.status, p.attempts, p.include_values, p.attempt_log) for p in rows] == [
        ("pending", 0, False, [])
    ] * 3
    assert all(p.created_at is not None for p in rows)

    # One row (the single-event API) goes as plain parameters.
    assert (
        insert_columns(
            Postback,
            per_row={
                "event_id": [second.pk],
                "event_time": [second.event_time],
                "include_values": [True],
            },
            shared={
                "integration_id": integration.pk,
                "partner_event_name": "AddToCart",
                "next_attempt_at": AT,
            },
        )
        == 1
    )
    single = Postback.objects.get(event=second, partner_event_name="AddToCart")
    assert (single.include_values, single.status, single.attempt_log) == (True, "pending", [])


def test_columns_given_wrong_change_nothing():
    app = factories.make_app()
    event = factories.make_event(app)
    with pytest.raises(ValueError, match="not columns of Postback"):
        insert_columns(Postback, per_row={"event_id": [event.pk]}, shared={"nope": 1})
    with pytest.raises(ValueError, match="one value per row"):
        insert_columns(
            Postback, per_row={"event_id": [event.pk], "partner_event_name": []}, shared={}
        )
    assert not Postback.objects.exists()


def test_repeats_are_skipped_and_only_new_rows_are_returned():
    app = factories.make_app()
    insert_new_rows(InAppEvent, [event(app, 1), event(app, 2)], ["event_id"])
    again = [event(app, 2, currency="EUR"), event(app, 3), event(app, 4)]
    inserted = insert_new_rows(InAppEvent, again, ["event_id"])
    assert sorted(row[0] for row in inserted) == ["bulk-3", "bulk-4"]
    assert InAppEvent.objects.get(event_id="bulk-2").currency == ""  # the first one stays
