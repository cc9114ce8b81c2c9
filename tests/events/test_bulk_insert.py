"""The bulk inserts behind ingest (events/services/bulk.py): what goes in comes back exactly,
whether a column differs from row to row or holds one value for the whole batch (on PostgreSQL
the second kind is sent once, not as an array), and repeats are told apart from new rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from events.models import InAppEvent, Postback
from events.services.bulk import insert_new_rows, insert_rows
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


def test_a_batch_whose_rows_hold_the_same_value_in_every_column_but_one():
    app = factories.make_app()
    integration = factories.make_integration(app)
    first = factories.make_event(app)
    postbacks = [
        Postback(integration=integration, event=first, partner_event_name=name, next_attempt_at=AT)
        for name in ("Purchase", "AddToCart", "ViewContent")
    ]
    insert_rows(Postback, postbacks)
    rows = Postback.objects.filter(event=first).order_by("partner_event_name")
    assert [
        (p.partner_event_name, p.integration_id, p.next_attempt_at, p.status) for p in rows
    ] == [
        ("AddToCart", integration.pk, AT, "pending"),
        ("Purchase", integration.pk, AT, "pending"),
        ("ViewContent", integration.pk, AT, "pending"),
    ]


def test_repeats_are_skipped_and_only_new_rows_are_returned():
    app = factories.make_app()
    insert_new_rows(InAppEvent, [event(app, 1), event(app, 2)], ["event_id"])
    again = [event(app, 2, currency="EUR"), event(app, 3), event(app, 4)]
    inserted = insert_new_rows(InAppEvent, again, ["event_id"])
    assert sorted(row[0] for row in inserted) == ["bulk-3", "bulk-4"]
    assert InAppEvent.objects.get(event_id="bulk-2").currency == ""  # the first one stays
