"""The daily rollup the overview reads on PostgreSQL: triggers keep it equal to the raw rows
through inserts, bulk inserts, updates, deletes and a change of the app's timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from unittest.mock import patch

import pytest
from django.db import connection
from django.db.models import Sum

from events.models import InAppEvent, Install
from integrations.models import App
from integrations.policy import access_for
from reporting.models import AttributionDay
from reporting.overview import Filters, build_overview
from tests import factories

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the rollup's triggers exist on PostgreSQL only"
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rollup(app: App, **filters) -> dict[tuple[date, str, str], tuple[int, Decimal]]:
    rows = AttributionDay.objects.filter(app=app, **filters).values_list(
        "day", "campaign_id", "currency", "installs", "revenue"
    )
    return {(day, c, cur): (n, rev) for day, c, cur, n, rev in rows if n or rev}


@pytest.fixture
def ny_app(app):
    app.timezone = "America/New_York"
    app.save(update_fields=["timezone"])
    return app


def test_installs_count_on_their_day_in_the_apps_timezone(ny_app):
    factories.make_install(ny_app, campaign_id="c1", installed_at=at("2026-03-02T04:59:59"))
    factories.make_install(ny_app, campaign_id="c1", installed_at=at("2026-03-02T05:00:00"))
    factories.make_install(
        ny_app, campaign_id="c1", installed_at=at("2026-03-02T06:00:00"), is_reengagement=True
    )
    assert rollup(ny_app) == {
        (date(2026, 3, 1), "c1", ""): (1, Decimal(0)),
        (date(2026, 3, 2), "c1", ""): (1, Decimal(0)),
    }


def test_revenue_sums_per_currency_and_skips_reengagements(ny_app):
    for revenue, currency, reengagement in (
        ("10.50", "USD", False),
        ("4.50", "USD", False),
        ("7", "EUR", False),
        ("100", "USD", True),
    ):
        factories.make_event(
            ny_app,
            event_time=at("2026-03-02T12:00:00"),
            campaign_id="c1",
            revenue=Decimal(revenue),
            currency=currency,
            is_reengagement=reengagement,
        )
    factories.make_event(ny_app, event_time=at("2026-03-02T12:00:00"), campaign_id="c1")
    assert rollup(ny_app) == {
        (date(2026, 3, 2), "c1", "USD"): (0, Decimal(15)),
        (date(2026, 3, 2), "c1", "EUR"): (0, Decimal(7)),
    }


def test_a_bulk_insert_is_rolled_up_once_per_statement(ny_app):
    Install.objects.bulk_create(
        Install(
            app=ny_app,
            device_id=f"d{n}",
            campaign_id=f"c{n % 3}",
            installed_at=at("2026-03-02T12:00:00"),
        )
        for n in range(300)
    )
    assert AttributionDay.objects.filter(app=ny_app).aggregate(n=Sum("installs"))["n"] == 300
    assert AttributionDay.objects.filter(app=ny_app).count() == 3


def test_updates_and_deletes_move_and_remove_figures(ny_app):
    moved = factories.make_install(ny_app, campaign_id="c1", installed_at=at("2026-03-02T12:00:00"))
    gone = factories.make_install(ny_app, campaign_id="c1", installed_at=at("2026-03-02T12:00:00"))
    event = factories.make_event(
        ny_app,
        event_time=at("2026-03-02T12:00:00"),
        campaign_id="c1",
        revenue=Decimal(5),
        currency="USD",
    )
    Install.objects.filter(pk=moved.pk).update(campaign_id="c2")
    gone.delete()
    InAppEvent.objects.filter(pk=event.pk).update(revenue=Decimal(8))
    assert rollup(ny_app) == {
        (date(2026, 3, 2), "c2", ""): (1, Decimal(0)),
        (date(2026, 3, 2), "c1", "USD"): (0, Decimal(8)),
    }


def test_an_update_that_moves_nothing_writes_nothing(ny_app):
    install = factories.make_install(
        ny_app, campaign_id="c1", installed_at=at("2026-03-02T12:00:00")
    )
    before = list(AttributionDay.objects.values_list("id", "installs"))
    Install.objects.filter(pk=install.pk).update(customer_user_id="u-1")
    assert list(AttributionDay.objects.values_list("id", "installs")) == before


def test_a_new_timezone_moves_every_figure_to_its_new_day(ny_app):
    factories.make_install(ny_app, campaign_id="c1", installed_at=at("2026-03-02T03:00:00"))
    assert set(rollup(ny_app)) == {(date(2026, 3, 1), "c1", "")}
    ny_app.timezone = "Europe/London"
    ny_app.save(update_fields=["timezone"])
    assert set(rollup(ny_app)) == {(date(2026, 3, 2), "c1", "")}


def test_deleting_the_app_takes_its_rollup_with_it(ny_app):
    install = factories.make_install(
        ny_app, campaign_id="c1", installed_at=at("2026-03-02T03:00:00")
    )
    # Deleting the install first nulls the event's install_id: an UPDATE that moves nothing.
    factories.make_event(
        ny_app,
        install=install,
        event_time=at("2026-03-02T04:00:00"),
        campaign_id="c1",
        revenue=Decimal(3),
        currency="USD",
    )
    ny_app.delete()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check the foreign keys now, not at commit
    assert not AttributionDay.objects.exists()


def test_the_overview_from_the_rollup_equals_the_overview_from_raw_rows(ny_app, analyst):
    for n in range(12):
        factories.make_install(
            ny_app,
            media_source="tiktokweb_int" if n % 3 else "organic",
            campaign_id="" if n % 3 == 0 else f"c{n % 2}",
            installed_at=at(f"2026-03-0{1 + n % 3}T0{n % 10}:30:00"),
        )
        factories.make_event(
            ny_app,
            event_time=at(f"2026-03-0{1 + n % 3}T0{n % 10}:45:00"),
            media_source="tiktokweb_int",
            campaign_id=f"c{n % 2}",
            revenue=Decimal(n) + Decimal("0.25"),
            currency="USD",
        )
    filters = Filters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 2))
    access = access_for(analyst, ny_app)
    from_rollup = build_overview(access, filters)
    with patch("reporting.overview.queries.uses_rollup", return_value=False):
        from_raw = build_overview(access, filters)

    def figures(result):
        return [(r.media_source, r.key, r.installs, r.revenue) for r in result.rows]

    assert figures(from_rollup) == figures(from_raw)
    assert [d.installs for d in from_rollup.days] == [d.installs for d in from_raw.days]
    assert from_rollup.totals.installs > 0


@pytest.mark.django_db(transaction=True)
def test_deleting_an_app_with_events_of_its_installs_commits():
    """Django sets events' install_id to NULL before deleting them; that UPDATE changes nothing
    the rollup reads, so it must not re-add rows of the app being deleted (the foreign key is
    checked at commit, which only a real transaction reaches)."""
    app = factories.make_app()
    install = factories.make_install(app, campaign_id="c1", installed_at=at("2026-03-02T03:00:00"))
    factories.make_event(
        app,
        install=install,
        event_time=at("2026-03-02T04:00:00"),
        revenue=Decimal("5"),
        currency="USD",
    )
    assert AttributionDay.objects.filter(app=app).exists()
    app.delete()  # autocommit: the commit (and its deferred checks) happens here
    assert not AttributionDay.objects.exists()
    assert not InAppEvent.objects.exists()
