"""Touchpoints, events and postbacks by month: partitions on PostgreSQL, retention on both."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.test import override_settings
from django.urls import reverse

from events.models import InAppEvent, Install, Postback, Touchpoint
from events.services.partitions import (
    add_months,
    apply_retention,
    ensure_partitions,
    partitions,
)
from events.tasks import maintain_event_tables
from integrations.schedules import SCHEDULES
from reporting.models import AttributionDay
from tests import factories

postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="partitions are PostgreSQL's"
)

TODAY = datetime.now(UTC).date()


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _rows_in(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - test's own names
        return cursor.fetchone()[0]


def _purchase(event_id: str, when: datetime) -> dict:
    return {
        "event_id": event_id,
        "event_name": "purchase",
        "event_time": when.isoformat(),
        "revenue": "10.00",
        "currency": "EUR",
    }


@postgres_only
def test_the_three_tables_are_partitioned_by_month_with_months_ahead(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relkind FROM pg_class WHERE relname IN "
            "('events_touchpoint', 'events_inappevent', 'events_postback')"
        )
        assert dict(cursor.fetchall()) == {
            "events_touchpoint": "p",
            "events_inappevent": "p",
            "events_postback": "p",
        }
    this_month = datetime.now(UTC).date().replace(day=1)
    for table in ("events_touchpoint", "events_inappevent", "events_postback"):
        months = partitions(table)
        assert {add_months(this_month, n) for n in range(4)} <= set(months)


@postgres_only
def test_an_event_lands_in_its_month(web_shop):
    now = datetime.now(UTC)
    assert web_shop.event(_purchase("order-1", now)).status_code == 202
    assert _rows_in(f"events_inappevent_p{now:%Y%m}") == 1


def test_an_event_id_repeated_with_a_time_in_another_month_is_a_duplicate(web_shop):
    now = datetime.now(UTC)
    first = web_shop.event(_purchase("order-7", now))
    repeat = web_shop.event(_purchase("order-7", now - timedelta(days=40)))
    assert first.json()["status"] == "accepted"
    assert repeat.json() == {"status": "duplicate", "event_id": "order-7"}
    assert InAppEvent.objects.filter(app=web_shop.app, event_id="order-7").count() == 1


def test_a_batch_stores_an_id_once_even_across_months(web_shop):
    now = datetime.now(UTC)
    response = web_shop.batch(
        {
            "events": [
                _purchase("order-8", now),
                _purchase("order-8", now - timedelta(days=70)),
                _purchase("order-9", now - timedelta(days=70)),
            ]
        }
    )
    assert response.status_code == 202, response.content
    assert InAppEvent.objects.filter(app=web_shop.app).count() == 2
    assert InAppEvent.objects.get(event_id="order-8").event_time.date() == now.date()


def test_a_repeated_event_gets_no_second_postback(web_shop):
    integration = factories.make_integration(
        web_shop.app, is_active=True, in_app_postbacks_enabled=True
    )
    factories.make_pixel(integration)
    factories.make_mapping(integration, users_from="all_sources")
    now = datetime.now(UTC)
    web_shop.event(_purchase("order-12", now))
    web_shop.event(_purchase("order-12", now - timedelta(days=40)))
    assert list(Postback.objects.values_list("event__event_id", flat=True)) == ["order-12"]


def test_a_plain_insert_of_a_repeated_id_is_refused(web_shop):
    factories.make_event(web_shop.app, event_id="order-13")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.make_event(
            web_shop.app, event_id="order-13", event_time=datetime.now(UTC) - timedelta(days=60)
        )
    factories.make_touchpoint(web_shop.app, click_id="c-13")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.make_touchpoint(web_shop.app, click_id="c-13")
    assert InAppEvent.objects.filter(event_id="order-13").count() == 1


def test_a_deleted_event_frees_its_id(web_shop):
    now = datetime.now(UTC)
    web_shop.event(_purchase("order-10", now))
    InAppEvent.objects.filter(event_id="order-10").delete()
    assert web_shop.event(_purchase("order-10", now)).json()["status"] == "accepted"


@postgres_only
def test_an_event_moved_to_another_month_keeps_its_id_and_the_rollup_follows(web_shop):
    now = datetime.now(UTC)
    web_shop.event(_purchase("order-11", now))
    earlier = now - timedelta(days=45)
    assert InAppEvent.objects.filter(event_id="order-11").update(event_time=earlier) == 1
    event = InAppEvent.objects.get(event_id="order-11")
    assert event.event_time == earlier.replace(microsecond=event.event_time.microsecond)
    # Still one event with that id: a repeat is a duplicate, not a second row.
    assert web_shop.event(_purchase("order-11", now)).json()["status"] == "duplicate"
    days = AttributionDay.objects.filter(app=web_shop.app, revenue__gt=0)
    assert list(days.values_list("day", "revenue")) == [(event.event_time.date(), Decimal("10"))]


@postgres_only
def test_a_month_made_later_takes_its_rows_from_the_default_partition(web_shop):
    far = add_months(datetime.now(UTC).date().replace(day=1), 6)
    factories.make_event(web_shop.app, event_time=_at(far), event_id="future-1")
    assert _rows_in("events_inappevent_default") == 1
    created = ensure_partitions(today=add_months(far, -1))
    assert f"events_inappevent_p{far:%Y%m}" in created
    assert _rows_in("events_inappevent_default") == 0
    assert _rows_in(f"events_inappevent_p{far:%Y%m}") == 1
    assert InAppEvent.objects.get(event_id="future-1").event_time == _at(far)
    assert ensure_partitions(today=add_months(far, -1)) == []


@pytest.fixture
def old_and_new(web_shop):
    """Rows fourteen months old and from this month, linked as ingest links them."""
    old_month = add_months(TODAY.replace(day=1), -14)
    if connection.vendor == "postgresql":
        ensure_partitions(today=old_month)  # made when that month was current
    app = web_shop.app
    integration = factories.make_integration(app, "tiktokweb_int")
    old_click = factories.make_touchpoint(app, occurred_at=_at(old_month), click_id="old-click")
    new_click = factories.make_touchpoint(app, occurred_at=_at(TODAY), click_id="new-click")
    install = factories.make_install(app, touchpoint=old_click, installed_at=_at(old_month))
    old_event = factories.make_event(
        app, _at(old_month, 13), event_id="old", revenue=Decimal("5"), currency="EUR"
    )
    ancient = factories.make_event(app, _at(date(2019, 5, 1)), event_id="ancient")
    new_event = factories.make_event(app, _at(TODAY), event_id="new")
    factories.make_postback(integration, old_event)
    # A late event: dated in the old month, its postback made this month.
    Postback.objects.filter(event=old_event).update(created_at=_at(TODAY))
    factories.make_postback(integration, new_event)
    return {
        "app": app,
        "install": install,
        "new_click": new_click,
        "events": (old_event, ancient, new_event),
        "old_month": old_month,
    }


@override_settings(EVENT_RETENTION_MONTHS=12)
def test_retention_removes_months_past_it_and_what_points_into_them(old_and_new, web_shop):
    old_month = old_and_new["old_month"]
    outcome = apply_retention(today=TODAY)
    assert outcome.cutoff == add_months(TODAY.replace(day=1), -12)
    assert set(InAppEvent.objects.values_list("event_id", flat=True)) == {"new"}
    assert set(Touchpoint.objects.values_list("click_id", flat=True)) == {"new-click"}
    assert [p.event.event_id for p in Postback.objects.select_related("event")] == ["new"]
    install = Install.objects.get(pk=old_and_new["install"].pk)
    assert install.touchpoint is None  # the install stays, its click is gone
    if connection.vendor == "postgresql":
        assert f"events_inappevent_p{old_month:%Y%m}" in outcome.dropped
        assert f"events_touchpoint_p{old_month:%Y%m}" in outcome.dropped
        assert f"events_inappevent_p{old_month:%Y%m}" not in partitions("events_inappevent")
        assert f"events_inappevent_p{TODAY:%Y%m}" in partitions("events_inappevent").values()
        # The aggregate keeps the old month's revenue; the raw rows are gone.
        revenue = AttributionDay.objects.filter(app=old_and_new["app"]).aggregate(
            total=Sum("revenue")
        )["total"]
        assert revenue == Decimal("5")
    # Freed ids: the old event and click can be sent again.
    assert web_shop.event(_purchase("old", datetime.now(UTC))).json()["status"] == "accepted"


def test_without_retention_nothing_is_removed(old_and_new):
    with override_settings(EVENT_RETENTION_MONTHS=0):
        assert apply_retention(today=TODAY).cutoff is None
    assert InAppEvent.objects.count() == 3
    assert Touchpoint.objects.count() == 2


def test_the_daily_task_makes_months_and_applies_retention(old_and_new):
    with override_settings(EVENT_RETENTION_MONTHS=1):
        result = maintain_event_tables()
    assert result["cutoff"] == add_months(TODAY.replace(day=1), -1).isoformat()
    assert set(InAppEvent.objects.values_list("event_id", flat=True)) == {"new"}
    task = SCHEDULES["Event partitions and retention"]
    assert (task.func, task.minutes) == ("events.tasks.maintain_event_tables", 24 * 60)


def test_healthz_tells_how_many_months_are_ready(db, client):
    with override_settings(EVENT_RETENTION_MONTHS=13):
        tables = client.get("/healthz").json()["checks"]["event_tables"]
    expected = 4 if connection.vendor == "postgresql" else None
    assert tables == {"partitioned_months_ready": expected, "retention_months": 13}


def test_the_click_an_install_won_is_copied_and_its_events_export_it_after_the_click_is_gone(
    client, ios_app
):
    app = ios_app.app
    analyst = factories.make_user("ann-analyst")
    factories.make_membership(analyst, app, "analyst")
    idfa = "6D92078A-8246-4BA4-AE5B-000000000001"
    factories.make_touchpoint(
        app,
        media_source="bytedanceglobal_int",
        idfa=idfa,
        sub1="creative-7",
        url="https://signalboard.example/l/1/bytedanceglobal_int?af_sub1=creative-7",
        occurred_at=datetime.now(UTC) - timedelta(hours=2),
    )
    ios_app.install({"device_id": "d-1", "idfa": idfa, "os_version": "17.4"})
    install = Install.objects.get()
    assert (install.media_source, install.sub1) == ("bytedanceglobal_int", "creative-7")
    ios_app.event({"event_id": "e-1", "event_name": "purchase", "device_id": "d-1"})
    Touchpoint.objects.all().delete()  # as retention does once the click's month is dropped

    client.force_login(analyst)
    export = client.get(
        reverse("reporting:raw-data-export", args=[app.app_id]),
        {
            "report": "in_app_events",
            "from": (datetime.now(UTC) - timedelta(days=1)).date().isoformat(),
            "to": datetime.now(UTC).date().isoformat(),
        },
    )
    assert export.status_code == 200, export.content
    [row] = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    assert (row["Sub Param 1"], row["OS Version"]) == ("creative-7", "17.4")
    assert row["Original URL"].endswith("af_sub1=creative-7")
    assert row["Install Time"] == install.installed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
