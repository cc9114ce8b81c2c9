"""Sessions, retention cohorts and loyal users: counted from app opens and visits, scoped for
partners by the "retention report" and "aggregate loyal user data" grants."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import SessionDay
from events.services.ingest import record_events
from tests import factories

pytestmark = pytest.mark.django_db
ZONE = ZoneInfo("UTC")


def noon(days_ago: int) -> datetime:
    day = timezone.now().astimezone(ZONE).date() - timedelta(days=days_ago)
    return datetime.combine(day, datetime.min.time(), tzinfo=ZONE) + timedelta(hours=12)


def opens(app, device: str, *days_ago: int) -> None:
    record_events(
        app,
        [
            {
                "event_id": f"open-{device}-{n}-{ago}",
                "event_name": "af_app_opened",
                "device_id": device,
                "event_time": noon(ago).isoformat(),
            }
            for n, ago in enumerate(days_ago)
        ],
    )


@pytest.fixture
def cohort(app):
    """Ten installs from TikTok and four organic, ten days ago; some came back."""
    for n in range(10):
        factories.make_install(app, device_id=f"tt-{n}", media_source="tiktokweb_int",
                               campaign="Spring", installed_at=noon(10))  # fmt: skip
    for n in range(4):
        factories.make_install(app, device_id=f"org-{n}", installed_at=noon(10))
    for n in range(5):
        opens(app, f"tt-{n}", 9)  # day 1: five of ten
    opens(app, "tt-0", 3, 3, 3)  # day 7, three sessions
    opens(app, "org-0", 9, 8, 7)
    return app


def test_app_opens_become_one_row_per_user_and_day(cohort):
    row = SessionDay.objects.get(user_key="tt-0", day=noon(3).date())
    assert row.sessions == 3 and row.install.device_id == "tt-0"


def test_day_n_retention_is_the_share_of_the_cohort_back_on_that_day(client, cohort, analyst):
    client.force_login(analyst)
    page = client.get(reverse("reporting:retention", args=[cohort.app_id]))
    assert page.status_code == 200
    rows = {row.group: row for row in page.context["cohorts"]}
    tiktok = rows["tiktokweb_int"]
    assert tiktok.installs == 10
    assert tiktok.rates()[0] == 0.5  # day 1
    assert tiktok.retained[6] == 1  # day 7
    assert tiktok.retained[10] is None  # day 11 has not come yet
    assert rows["organic"].retained[:3] == [1, 1, 1]
    export = client.get(reverse("reporting:retention", args=[cohort.app_id]), {"format": "csv"})
    lines = list(csv.reader(io.StringIO(export.content.decode())))
    assert lines[0][:4] == ["Install day", "Media source", "Installs", "Day 1"]
    assert ["tiktokweb_int", "10", "5"] in [line[1:4] for line in lines[1:]]


def test_loyal_users_had_the_apps_number_of_sessions(client, cohort, analyst):
    client.force_login(analyst)
    page = client.get(reverse("reporting:loyal-users", args=[cohort.app_id]))
    rows = {row.group: row for row in page.context["rows"]}
    assert (rows["tiktokweb_int"].loyal, rows["tiktokweb_int"].installs) == (1, 10)
    assert rows["organic"].loyal == 1 and rows["organic"].sessions == 3
    cohort.loyal_after_sessions = 5
    cohort.save()
    page = client.get(reverse("reporting:loyal-users", args=[cohort.app_id]))
    assert all(row.loyal == 0 for row in page.context["rows"])


def test_a_partner_granted_retention_sees_its_cohorts_and_nothing_else(
    client, cohort, partner_user
):
    grants = factories.grant(cohort, partner_user=partner_user.partner_user, can_view_revenue=True)
    client.force_login(partner_user)
    url = reverse("reporting:retention", args=[cohort.app_id])
    assert client.get(url).status_code == 403
    assert client.get(reverse("reporting:loyal-users", args=[cohort.app_id])).status_code == 403
    grants.can_view_retention = True
    grants.save()
    groups = {row.group for row in client.get(url).context["cohorts"]}
    assert groups == {"tiktokweb_int"}


def test_ltv_is_cumulative_revenue_per_installed_user_in_the_apps_currency(
    client, cohort, analyst, partner_user
):
    for n, ago in enumerate((10, 9, 3)):
        record_events(
            cohort,
            [
                {
                    "event_id": f"buy-{n}",
                    "event_name": "purchase",
                    "device_id": "tt-1",
                    "revenue": 20,
                    "currency": "USD",
                    "event_time": noon(ago).isoformat(),
                }
            ],
        )
    client.force_login(analyst)
    page = client.get(reverse("reporting:retention", args=[cohort.app_id]))
    tiktok = next(row for row in page.context["cohorts"] if row.group == "tiktokweb_int")
    # 20 on the install day, 40 by day 1, 60 by day 7; ten installs. Days 0, 1, 3, 7, 14, 30.
    money = [Decimal(v) for v in ("2.00", "4.00", "4.00", "6.00")]
    assert tiktok.ltv_milestones == [*money, None, None]  # day 14 has not come
    assert "Lifetime value per installed user" in page.content.decode()
    grants = factories.grant(
        cohort, partner_user=partner_user.partner_user, can_view_retention=True
    )
    client.force_login(partner_user)
    page = client.get(reverse("reporting:retention", args=[cohort.app_id]))
    assert "Lifetime value" not in page.content.decode()  # revenue needs its own grant
    assert grants.can_view_revenue is False


def test_weekly_cohorts_count_each_user_once_per_week(client, cohort, analyst):
    opens(cohort, "tt-1", 8)  # tt-1 back on days 2 only; tt-0..4 on day 1, tt-0 on day 7
    client.force_login(analyst)
    page = client.get(reverse("reporting:retention", args=[cohort.app_id]), {"period": "week"})
    rows = {row.group: row for row in page.context["cohorts"]}
    tiktok = rows["tiktokweb_int"]
    assert tiktok.day.weekday() == 0  # cohorts start on Mondays
    assert tiktok.installs == 10
    # Week 1 (days 1-7): tt-0..tt-4 (tt-1 twice, tt-0 on days 1 and 7): five users.
    assert tiktok.retained[0] == 5
    assert tiktok.retained[1] == 0  # nobody back on days 8-14
    assert tiktok.retained[11] is None  # week 12 has not begun
    assert page.context["columns"][:2] == ["Week 1", "Week 2"]
    export = client.get(
        reverse("reporting:retention", args=[cohort.app_id]), {"period": "week", "format": "csv"}
    )
    header = next(csv.reader(io.StringIO(export.content.decode())))
    assert header[:5] == ["Install week", "Media source", "Installs", "Week 1", "Week 2"]


def test_the_chart_draws_one_curve_per_group_from_the_same_figures(client, cohort, analyst):
    client.force_login(analyst)
    page = client.get(reverse("reporting:retention", args=[cohort.app_id]))
    curves = {curve.name: curve for curve in page.context["chart"].curves}
    assert set(curves) == {"tiktokweb_int", "organic"}
    assert curves["tiktokweb_int"].rates[0] == 0.5 and curves["organic"].rates[0] == 0.25
    assert curves["tiktokweb_int"].rates[10] is None  # no cohort has reached day 11
    html = page.content.decode()
    assert 'id="retention-chart"' in html and html.count("<polyline") == 2


def test_roas_per_cohort_is_its_revenue_over_the_spend_on_its_install_day(client, cohort, analyst):
    record_events(cohort, [{"event_id": "buy", "event_name": "purchase", "device_id": "tt-2",
                            "revenue": 30, "currency": "USD",
                            "event_time": noon(5).isoformat()}])  # fmt: skip
    factories.make_cost_record(
        cohort, media_source="tiktokglobal_int", stat_date=noon(10).date(), spend="60",
        currency="USD", campaign="Spring",
    )  # fmt: skip
    client.force_login(analyst)
    page = client.get(reverse("reporting:retention", args=[cohort.app_id]))
    tiktok = next(row for row in page.context["cohorts"] if row.group == "tiktokweb_int")
    assert (tiktok.revenue, tiktok.cost, tiktok.roas) == (Decimal(30), Decimal(60), 0.5)
    assert "ROAS" in page.content.decode()
    by_campaign = client.get(
        reverse("reporting:retention", args=[cohort.app_id]), {"group_by": "campaign"}
    )
    spring = next(row for row in by_campaign.context["cohorts"] if row.group == "Spring")
    assert spring.roas == 0.5


def test_cohorts_group_by_ad_set(client, cohort, analyst):
    factories.make_install(cohort, device_id="as-1", media_source="tiktokweb_int",
                           adset="Lookalike", installed_at=noon(10))  # fmt: skip
    client.force_login(analyst)
    page = client.get(reverse("reporting:retention", args=[cohort.app_id]), {"group_by": "adset"})
    groups = {row.group: row.installs for row in page.context["cohorts"]}
    assert groups == {"—": 14, "Lookalike": 1}
