"""The retention rollup on PostgreSQL: triggers keep `CohortDay` equal to what a rebuild from
the raw rows gives, through bulk inserts, updates, deletes, a re-attributed install, a session
that finds its install later, and a change of the app's timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from events.models import InAppEvent, Install, SessionDay
from events.services.ingest import record_events
from integrations.models import App
from reporting.models import CohortDay
from tests import factories

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the rollup's triggers exist on PostgreSQL only"
    ),
]
INSTALLED = datetime(2026, 3, 2, 12, tzinfo=UTC)


def rollup(app: App) -> dict[tuple, tuple[int, Decimal]]:
    rows = CohortDay.objects.filter(app=app).values_list(
        "cohort_day", "media_source", "dimension", "value", "currency", "kind", "n",
        "users", "revenue",
    )  # fmt: skip
    return {row[:7]: (row[7], row[8]) for row in rows if row[7] or row[8]}


def rebuilt(app: App) -> dict[tuple, tuple[int, Decimal]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporting_cohort_day_rebuild(%s)", [app.pk])
    return rollup(app)


def sessions(app: App, device: str, *days_after: int) -> None:
    record_events(app, [
        {"event_id": f"open-{device}-{n}-{d}", "event_name": "af_app_opened", "device_id": device,
         "event_time": (INSTALLED + timedelta(days=d)).isoformat()}
        for n, d in enumerate(days_after)
    ])  # fmt: skip


def purchase(app: App, device: str, day: int, amount: str, currency: str = "USD") -> None:
    record_events(app, [
        {"event_id": f"buy-{device}-{day}-{amount}", "event_name": "purchase", "device_id": device,
         "revenue": amount, "currency": currency,
         "event_time": (INSTALLED + timedelta(days=day)).isoformat()}
    ])  # fmt: skip


@pytest.fixture
def installs(app):
    for n in range(4):
        factories.make_install(
            app, device_id=f"d{n}", media_source="tiktokweb_int", campaign="Spring",
            country_code="US", installed_at=INSTALLED,
        )  # fmt: skip
    factories.make_install(app, device_id="org", installed_at=INSTALLED)
    factories.make_install(app, device_id="again", installed_at=INSTALLED, is_reengagement=True)
    return app


def test_sessions_count_users_per_day_and_distinct_users_per_week(installs):
    sessions(installs, "d0", 1, 1, 2, 7, 8)
    sessions(installs, "d1", 3)
    key = (date(2026, 3, 2), "tiktokweb_int", "campaign", "Spring", "")
    figures = rollup(installs)
    assert figures[(*key, "s", 0)] == (4, 0)
    assert figures[(*key, "d", 1)] == (1, 0)  # two opens, one user
    assert figures[(*key, "w", 1)] == (2, 0)  # d0 (days 1, 2, 7) and d1 (day 3)
    assert figures[(*key, "w", 2)] == (1, 0)  # d0 on day 8
    # Every grouping counts each install once: by country, and by the media source alone.
    assert figures[(date(2026, 3, 2), "tiktokweb_int", "country_code", "US", "", "w", 1)] == (2, 0)
    assert figures[(date(2026, 3, 2), "tiktokweb_int", "media_source", "", "", "s", 0)] == (4, 0)
    assert figures == rebuilt(installs)


def test_revenue_per_day_and_currency_with_refunds(installs):
    purchase(installs, "d0", 0, "9.99")
    purchase(installs, "d0", 5, "5", "EUR")
    purchase(installs, "d1", 5, "-2", "EUR")  # a refund
    key = (date(2026, 3, 2), "tiktokweb_int", "adset", "")
    figures = rollup(installs)
    assert figures[(*key, "USD", "r", 0)] == (0, Decimal("9.99"))
    assert figures[(*key, "EUR", "r", 5)] == (0, Decimal("3"))
    assert figures == rebuilt(installs)


def test_updates_and_deletes_keep_it_equal_to_a_rebuild(installs):
    sessions(installs, "d0", 1, 2, 9)
    sessions(installs, "d1", 1, 15)
    sessions(installs, "org", 4)
    purchase(installs, "d1", 2, "4")
    before = rollup(installs)
    # A week's last session day goes, another week keeps one of two.
    SessionDay.objects.filter(user_key="d1", day=date(2026, 3, 17)).delete()
    SessionDay.objects.filter(user_key="d0", day=date(2026, 3, 3)).delete()
    assert rollup(installs) == rebuilt(installs) != before
    # The install is re-attributed: its sessions and revenue move with it.
    Install.objects.filter(device_id="d1").update(media_source="organic", campaign="")
    moved = (date(2026, 3, 2), "organic", "country_code", "US", "USD", "r", 2)
    assert rollup(installs)[moved][1] == 4
    assert rollup(installs) == rebuilt(installs)
    # An event's revenue is corrected, then the event is deleted.
    InAppEvent.objects.filter(event_id__startswith="buy-d1").update(revenue=Decimal("6"))
    assert rollup(installs) == rebuilt(installs)
    InAppEvent.objects.filter(event_id__startswith="buy-d1").delete()
    assert rollup(installs) == rebuilt(installs)
    # Sessions recorded before their install was known, then linked to it.
    SessionDay.objects.create(app=installs, user_key="late", day=date(2026, 3, 5), sessions=1)
    late = factories.make_install(installs, device_id="late", installed_at=INSTALLED)
    SessionDay.objects.filter(user_key="late").update(install=late)
    assert rollup(installs) == rebuilt(installs)
    # An install deleted (Django unlinks its sessions and events first).
    Install.objects.filter(device_id="d0").delete()
    assert rollup(installs) == rebuilt(installs)


def test_a_timezone_change_moves_cohorts_to_their_new_days(installs):
    late = datetime(2026, 3, 2, 3, tzinfo=UTC)  # 1 March in New York
    factories.make_install(installs, device_id="ny", installed_at=late, media_source="x_int")
    installs.timezone = "America/New_York"
    installs.save(update_fields=["timezone"])
    figures = rollup(installs)
    assert figures[(date(2026, 3, 1), "x_int", "media_source", "", "", "s", 0)] == (1, 0)
    assert figures == rebuilt(installs)


def test_deleting_the_app_leaves_no_rows(installs):
    sessions(installs, "d0", 1)
    app_pk = installs.pk
    installs.delete()
    assert not CohortDay.objects.filter(app_id=app_pk).exists()


@pytest.mark.parametrize("period", ["day", "week"])
@pytest.mark.parametrize("group_by", ["media_source", "campaign", "adset", "country_code"])
def test_the_pages_figures_from_the_rollup_equal_those_from_the_raw_rows(
    installs, analyst, group_by, period
):
    from unittest.mock import patch

    from integrations.policy import access_for
    from reporting import retention_figures
    from reporting.models import ExchangeRate
    from reporting.retention import cohorts

    for day, rate in ((date(2026, 3, 2), "0.9"), (date(2026, 3, 6), "0.8")):
        ExchangeRate.objects.create(day=day, currency="EUR", per_usd=Decimal(rate))
    sessions(installs, "d0", 1, 2, 7, 8, 20)
    sessions(installs, "d1", 3, 9)
    sessions(installs, "org", 1)
    purchase(installs, "d0", 0, "9.99")
    purchase(installs, "d0", 5, "5", "EUR")  # at 0.9 (the latest rate on 7 March is 6 March's)
    purchase(installs, "d1", 5, "-2", "EUR")
    purchase(installs, "org", 40, "3")
    filters = {"date_from": date(2026, 3, 1), "date_to": date(2026, 3, 3),
               "group_by": group_by, "period": period, "media_source": ""}  # fmt: skip
    access = access_for(analyst, installs)
    with patch("django.utils.timezone.now", return_value=datetime(2026, 6, 1, tzinfo=UTC)):
        from_rollup = cohorts(access, filters, with_revenue=True)
        with patch.object(retention_figures.connection, "vendor", "sqlite"):
            from_rows = cohorts(access, filters, with_revenue=True)
    assert from_rollup == from_rows
    assert sum(c.installs for c in from_rollup) == 5
    assert any(c.revenue for c in from_rollup)
