"""The Overview: exact figures on a hand-built dataset, date edges in the app's timezone,
drill-down, exchange rates, what each role sees, and the demo data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from demo import seed as demo
from events.models import ORGANIC, Install, SessionDay
from integrations.policy import access_for
from reporting.exchange_rates import Rates
from reporting.models import CostRecord, ExchangeRate
from reporting.overview import COLUMNS, Filters, build_overview
from reporting.templatetags.overview_metrics import metric
from tests import factories

SPRING = "1800000001"  # campaign with cost in EUR and GBP, and installs of ours
AWARENESS = "1800000002"  # campaign with cost in USD and no install of ours
S1, S2 = "1900000001", "1900000002"
A1, A2 = "2000000001", "2000000002"
COLUMN = {column.key: column for column in COLUMNS}


def at(text: str) -> datetime:
    """A UTC moment; the app is in New York (UTC-5 all of early March 2026)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_cost(app, **overrides) -> CostRecord:
    fields = {
        "app": app,
        "media_source": "tiktokglobal_int",
        "stat_date": date(2026, 3, 1),
        "advertiser_id": "7012345678901234567",
        "campaign_id": SPRING,
        "campaign": "Spring sale",
        "adset_id": S1,
        "adset": "Broad",
        "ad_id": A1,
        "ad": "Video A",
        "country_code": "",
        "currency": "EUR",
        "spend": Decimal("4.00"),
        "impressions": 500,
        "clicks": 10,
        "reported_conversions": 1,
        "pulled_at": timezone.now(),
    }
    fields.update(overrides)
    return CostRecord.objects.create(**fields)


def spring(**overrides) -> dict:
    fields = {
        "media_source": "tiktokweb_int",
        "campaign": "Spring sale",
        "campaign_id": SPRING,
        "adset": "Broad",
        "adset_id": S1,
        "ad": "Video A",
        "ad_id": A1,
    }
    return fields | overrides


@pytest.fixture
def ny_app(app):
    app.timezone = "America/New_York"
    app.save(update_fields=["timezone"])
    return app


@pytest.fixture
def dataset(ny_app):
    """Two days, 2026-03-01 and 02 in New York. In USD:
    Spring sale: spend 10 + 5 + 10 = 25, 3,000 impressions, 60 clicks, 5 installs, revenue 50.
    Awareness: spend 12, 4,000 impressions, 0 clicks, no install of ours, TikTok reports 7.
    Organic: 2 installs, revenue 10, no cost."""
    app = ny_app
    for currency, first, second in (
        ("USD", "1", "1"),
        ("EUR", "0.8", "0.5"),
        ("GBP", "0.5", "0.8"),
    ):
        ExchangeRate.objects.create(day=date(2026, 3, 1), currency=currency, per_usd=Decimal(first))
        ExchangeRate.objects.create(
            day=date(2026, 3, 2), currency=currency, per_usd=Decimal(second)
        )
    # A1 on day 1: a GB row and the blank-country remainder; EUR 8 + 4 at 0.8 = USD 15.
    make_cost(app, country_code="GB", spend=Decimal("8.00"), impressions=1000, clicks=20)
    make_cost(app)
    # A2 on day 2 in GBP: 8 at 0.8 = USD 10.
    make_cost(
        app,
        stat_date=date(2026, 3, 2),
        adset_id=S2,
        adset="Lookalike",
        ad_id=A2,
        ad="Video B",
        currency="GBP",
        spend=Decimal("8.00"),
        impressions=1500,
        clicks=30,
        reported_conversions=2,
    )
    make_cost(
        app,
        campaign_id=AWARENESS,
        campaign="Awareness",
        adset_id="1900000009",
        ad_id="2000000009",
        stat_date=date(2026, 3, 2),
        currency="USD",
        spend=Decimal("12.00"),
        impressions=4000,
        clicks=0,
        reported_conversions=7,
    )
    make_cost(app, stat_date=date(2026, 2, 28), spend=Decimal("99"))  # before the range

    installs = [
        spring(installed_at=at("2026-03-01T05:00:00")),  # 00:00 in New York: the first moment
        spring(installed_at=at("2026-03-01T18:00:00")),
        spring(installed_at=at("2026-03-02T12:00:00")),
        spring(installed_at=at("2026-03-03T04:59:59"), adset_id=S2, adset="Lookalike", ad_id=A2),
        # Our row lacks the ids: it matches the cost's campaign by name.
        spring(
            installed_at=at("2026-03-02T15:00:00"),
            campaign_id="",
            adset="",
            adset_id="",
            ad="",
            ad_id="",
        ),
        {"media_source": ORGANIC, "installed_at": at("2026-03-01T15:00:00")},
        {"media_source": ORGANIC, "installed_at": at("2026-03-02T15:00:00")},
        # Not counted: a re-engagement, and the edges just outside the range in New York.
        spring(installed_at=at("2026-03-01T20:00:00"), is_reengagement=True),
        spring(installed_at=at("2026-03-01T04:59:59")),
        spring(installed_at=at("2026-03-03T05:00:00")),
    ]
    for fields in installs:
        factories.make_install(app, **fields)

    events = [
        spring(event_time=at("2026-03-01T16:00:00"), revenue=Decimal("30.00"), currency="USD"),
        spring(event_time=at("2026-03-02T16:00:00"), revenue=Decimal("10.00"), currency="EUR"),
        spring(event_time=at("2026-03-02T17:00:00"), event_name="view_content"),
        {
            "media_source": ORGANIC,
            "event_time": at("2026-03-01T16:00:00"),
            "revenue": Decimal("5.00"),
            "currency": "GBP",
        },
        spring(
            event_time=at("2026-03-01T17:00:00"),
            revenue=Decimal("100"),
            currency="USD",
            is_reengagement=True,
        ),
        spring(event_time=at("2026-03-03T06:00:00"), revenue=Decimal("100"), currency="USD"),
    ]
    for fields in events:
        factories.make_event(app, **fields)
    return app


FILTERS = Filters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 2))


def overview_for(user, app, filters: Filters = FILTERS):
    return build_overview(access_for(user, app), filters)


def rows_by_key(result) -> dict[tuple[str, str], object]:
    return {(row.media_source, row.key): row for row in result.rows}


def cells(row) -> dict[str, str]:
    return {column.key: metric(row, column) for column in COLUMNS}


def get(client, app, **params):
    query = {"date_from": "2026-03-01", "date_to": "2026-03-02", **params}
    return client.get(reverse("reporting:overview", args=[app.app_id]), query)


def test_it_computes_the_twelve_metrics_of_a_campaign(dataset, analyst):
    row = rows_by_key(overview_for(analyst, dataset))[("tiktokweb_int", SPRING)]
    assert row.label == "Spring sale"
    assert row.spend == Decimal(25)
    assert row.installs == 5
    assert row.impressions == 3000
    assert row.clicks == 60
    assert row.revenue == Decimal(50)
    assert row.cpi == Decimal(5)
    assert row.roas == Decimal(2)
    assert row.ctr == Decimal("0.02")
    assert cells(row) == {
        "spend": "25.00",
        "installs": "5",
        "cpi": "5.00",
        "ipm": "1.67",
        "impressions": "3,000",
        "cpm": "8.33",
        "clicks": "60",
        "cpc": "0.42",
        "ctr": "2.00%",
        "cti": "8.33%",
        "roas": "2.00",
        "revenue": "50.00",
        "loyal": "0",  # nobody opened the app in this dataset
        "loyal_rate": "0.00%",
    }


def test_totals_are_ratios_of_totals_in_the_apps_currency(dataset, analyst):
    totals = overview_for(analyst, dataset).totals
    assert totals.spend == Decimal(37)
    assert totals.revenue == Decimal(60)
    assert cells(totals) == {
        "spend": "37.00",
        "installs": "7",
        "cpi": "5.29",
        "ipm": "1.00",
        "impressions": "7,000",
        "cpm": "5.29",
        "clicks": "60",
        "cpc": "0.62",
        "ctr": "0.86%",
        "cti": "11.67%",
        "roas": "1.62",
        "revenue": "60.00",
        "loyal": "0",
        "loyal_rate": "0.00%",
    }
    assert totals.tiktok_reported == 7


def test_tiktoks_reported_figure_is_shown_apart_and_not_added_to_ours(dataset, analyst):
    result = overview_for(analyst, dataset)
    awareness = rows_by_key(result)[("tiktokweb_int", AWARENESS)]
    assert awareness.installs == 0
    assert awareness.shown_tiktok_reported == 7
    assert awareness.tiktok_reported_kind == "conversions"
    assert rows_by_key(result)[("tiktokweb_int", SPRING)].shown_tiktok_reported is None
    assert cells(awareness) == {
        "spend": "12.00",
        "installs": "0",
        "cpi": "–",
        "ipm": "0.00",
        "impressions": "4,000",
        "cpm": "3.00",
        "clicks": "0",
        "cpc": "–",
        "ctr": "0.00%",
        "cti": "–",
        "roas": "0.00",
        "revenue": "0.00",
        "loyal": "0",
        "loyal_rate": "–",  # no installs
    }


def test_the_organic_row_has_installs_and_revenue_but_no_spend(dataset, analyst):
    organic = rows_by_key(overview_for(analyst, dataset))[(ORGANIC, "")]
    assert organic.installs == 2
    assert organic.revenue == Decimal(10)  # GBP 5 at 0.5 per USD
    assert cells(organic)["spend"] == "–"
    assert cells(organic)["cpi"] == "–"
    assert cells(organic)["roas"] == "–"
    assert cells(organic)["ctr"] == "–"
    assert organic.shown_tiktok_reported is None


def test_the_page_shows_the_table_the_marked_figure_and_dashes(client, dataset, analyst):
    client.force_login(analyst)
    response = get(client, dataset)
    assert response.status_code == 200
    body = response.content.decode()
    assert "7 reported by TikTok" in body
    assert "–" in body
    assert 'id="overview-chart"' in body
    headers = [column.label for column in response.context["overview"].columns]
    assert headers == [
        "Spend",
        "Installs",
        "CPI",
        "IPM",
        "Impressions",
        "CPM",
        "Clicks",
        "CPC",
        "CTR",
        "CTI",
        "ROAS",
        "Revenue",
        "Loyal users",
        "Loyal / installs",
    ]
    assert f"campaign_id={SPRING}" in body


def test_the_daily_series_has_each_day_in_the_apps_timezone(dataset, analyst):
    days = overview_for(analyst, dataset).days
    assert [day.day for day in days] == [date(2026, 3, 1), date(2026, 3, 2)]
    assert [day.installs for day in days] == [3, 4]
    assert [day.spend for day in days] == [Decimal(15), Decimal(22)]
    assert [day.revenue for day in days] == [Decimal(40), Decimal(20)]


def test_one_day_range_counts_from_midnight_to_midnight_in_new_york(dataset, analyst):
    day_one = overview_for(analyst, dataset, Filters(date(2026, 3, 1), date(2026, 3, 1)))
    assert day_one.totals.installs == 3  # 00:00 and 13:00 Spring, 10:00 organic
    day_two = overview_for(analyst, dataset, Filters(date(2026, 3, 2), date(2026, 3, 2)))
    assert day_two.totals.installs == 4  # including 23:59:59 on the 2nd


def test_it_drills_down_to_ad_sets_and_ads(client, dataset, analyst):
    adsets = overview_for(analyst, dataset, Filters(**FILTERS.__dict__ | {"campaign_id": SPRING}))
    assert adsets.level == "adset"
    assert adsets.campaign_name == "Spring sale"
    by_key = rows_by_key(adsets)
    assert by_key[("tiktokweb_int", S1)].spend == Decimal(15)
    assert by_key[("tiktokweb_int", S1)].installs == 3
    assert by_key[("tiktokweb_int", S2)].spend == Decimal(10)
    assert by_key[("tiktokweb_int", S2)].installs == 1
    assert by_key[("tiktokweb_int", "")].installs == 1  # the row we know only by campaign name
    assert ("tiktokweb_int", AWARENESS) not in by_key
    assert adsets.totals.installs == 5

    client.force_login(analyst)
    response = get(client, dataset, campaign_id=SPRING, adset_id=S1)
    ads = response.context["overview"]
    assert ads.level == "ad"
    assert [(row.key, row.label, row.installs, row.spend) for row in ads.rows] == [
        (A1, "Video A", 3, Decimal(15))
    ]
    body = response.content.decode()
    assert "All campaigns" in body and "Spring sale" in body and "Broad" in body


def test_an_ad_set_without_its_campaign_is_refused(client, dataset, analyst):
    client.force_login(analyst)
    assert get(client, dataset, adset_id=S1).status_code == 400


def test_a_day_without_a_rate_uses_the_latest_earlier_one(db):
    ExchangeRate.objects.create(day=date(2026, 3, 1), currency="EUR", per_usd=Decimal("0.8"))
    ExchangeRate.objects.create(day=date(2026, 3, 1), currency="USD", per_usd=Decimal("1"))
    rates = Rates("USD", ["EUR"], date(2026, 3, 2), date(2026, 3, 5))
    assert rates.convert(Decimal(8), "EUR", date(2026, 3, 4)) == Decimal(10)
    assert rates.convert(Decimal(8), "USD", date(2026, 3, 4)) == Decimal(8)
    assert rates.missing == set()


def test_money_without_any_rate_is_missing_not_one_to_one(client, dataset, analyst):
    make_cost(dataset, campaign_id="1800000003", campaign="Japan", currency="JPY")
    client.force_login(analyst)
    response = get(client, dataset)
    result = response.context["overview"]
    japan = rows_by_key(result)[("tiktokweb_int", "1800000003")]
    assert japan.spend is None
    assert japan.is_spend_missing
    assert cells(japan)["spend"] == "–"
    assert cells(japan)["cpm"] == "–"
    assert result.totals.spend is None
    assert result.missing_rates == [("JPY", date(2026, 3, 1))]
    assert "no exchange rate on or before" in response.content.decode().lower()


def test_the_default_range_is_the_last_seven_days(client, app, analyst):
    factories.make_install(app, media_source="tiktokweb_int", installed_at=timezone.now())
    client.force_login(analyst)
    response = client.get(reverse("reporting:overview", args=[app.app_id]))
    assert response.status_code == 200
    assert response.context["overview"].totals.installs == 1


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("admin_user", 200),
        ("marketer", 200),
        ("analyst", 200),
        ("superuser", 200),
        ("partner_user", 404),
        ("outsider", 404),
    ],
)
def test_who_may_open_the_overview(client, dataset, persona, status, request):
    client.force_login(request.getfixturevalue(persona))
    assert get(client, dataset).status_code == status


def test_anonymous_users_are_sent_to_log_in(client, dataset):
    assert get(client, dataset).status_code == 302


@pytest.mark.parametrize("persona", ["admin_user", "marketer", "analyst"])
def test_team_roles_see_every_column(dataset, persona, request):
    result = overview_for(request.getfixturevalue(persona), dataset)
    assert len(result.columns) == 14  # the twelve metrics and the two of loyal users
    assert {row.media_source for row in result.rows} == {"tiktokweb_int", ORGANIC}


def test_a_partner_user_sees_only_their_source_and_no_money(client, dataset, partner_user):
    factories.make_event(dataset, **spring(event_time=at("2026-03-01T16:00:00")))
    factories.make_install(
        dataset, media_source="bytedanceglobal_int", installed_at=at("2026-03-01T16:00:00")
    )
    factories.grant(dataset, can_view_in_app_events=True)
    client.force_login(partner_user)
    response = get(client, dataset)
    assert response.status_code == 200
    result = response.context["overview"]
    assert {row.media_source for row in result.rows} == {"tiktokweb_int"}
    assert [c.key for c in result.columns] == [
        "installs",
        "ipm",
        "impressions",
        "clicks",
        "ctr",
        "cti",
    ]
    assert all(row.spend is None and row.revenue is None for row in result.rows)
    assert result.totals.installs == 5
    body = response.content.decode()
    assert "Spend" not in body and "Revenue" not in body and "25.00" not in body


def test_a_partner_user_with_the_revenue_grant_sees_revenue_but_not_cost(dataset, partner_user):
    factories.grant(dataset, can_view_revenue=True)
    result = overview_for(partner_user, dataset)
    assert [c.key for c in result.columns] == [
        "installs",
        "ipm",
        "impressions",
        "clicks",
        "ctr",
        "cti",
        "revenue",
    ]
    assert result.totals.revenue == Decimal(50)
    assert result.totals.spend is None


def test_a_partner_user_cannot_ask_for_another_source(client, dataset, partner_user):
    factories.grant(dataset, can_view_revenue=True)
    client.force_login(partner_user)
    assert get(client, dataset, media_source=ORGANIC).status_code == 400


def test_filtering_by_web_source_keeps_cost_pulled_as_web_cost(client, dataset, analyst):
    client.force_login(analyst)
    result = get(client, dataset, media_source="tiktokweb_int").context["overview"]
    assert {row.media_source for row in result.rows} == {"tiktokweb_int"}
    assert result.totals.spend == Decimal(37)
    organic = get(client, dataset, media_source=ORGANIC).context["overview"]
    assert organic.totals.installs == 2
    assert organic.totals.spend is None


@pytest.mark.django_db
def test_the_demo_gives_every_metric_of_the_tiktok_web_campaigns(client):
    demo.seed(days=7)
    from django.contrib.auth.models import User

    app_id = "web.trailhead-outfitters"
    client.force_login(User.objects.get(username="demo-analyst"))
    response = client.get(reverse("reporting:overview", args=[app_id]))
    assert response.status_code == 200
    result = response.context["overview"]
    web_rows = [row for row in result.rows if row.media_source == "tiktokweb_int"]
    assert len(web_rows) == 3
    for row in web_rows:
        assert all(value != "–" for value in cells(row).values()), row.label
    assert (ORGANIC, "") in rows_by_key(result)
    assert result.missing_rates == []


def test_the_media_source_list_shows_sources_as_the_rows_do(client, dataset, analyst):
    client.force_login(analyst)
    choices = dict(get(client, dataset).context["form"].fields["media_source"].choices)
    assert {"tiktokweb_int", "bytedanceglobal_int", ORGANIC} <= set(choices)
    assert "tiktokglobal_int" not in choices


def test_it_says_when_web_cost_shows_under_the_web_source(client, dataset, analyst):
    client.force_login(analyst)
    assert get(client, dataset).context["overview"].cost_shown_under == {
        "tiktokglobal_int": "tiktokweb_int"
    }
    CostRecord.objects.all().delete()
    body = get(client, dataset).content.decode()
    assert "shows under" not in body


def test_loyal_users_are_installs_of_the_range_with_the_apps_number_of_sessions(
    dataset, analyst, partner_user
):
    spring = Install.objects.filter(app=dataset, campaign_id=SPRING).order_by("pk")
    for n, install in enumerate(spring[:3]):
        SessionDay.objects.create(app=dataset, user_key=install.device_id, install=install,
                                  day=date(2026, 3, 3), sessions=3 if n < 2 else 2)  # fmt: skip
    result = overview_for(analyst, dataset)
    row = rows_by_key(result)[("tiktokweb_int", SPRING)]
    assert (row.loyal, cells(row)["loyal_rate"]) == (2, "40.00%")  # 2 of 5 installs
    assert result.totals.loyal == 2
    dataset.loyal_after_sessions = 2
    dataset.save(update_fields=["loyal_after_sessions"])
    assert rows_by_key(overview_for(analyst, dataset))[("tiktokweb_int", SPRING)].loyal == 3
    factories.grant(dataset, partner_user=partner_user.partner_user)
    keys = [c.key for c in overview_for(partner_user, dataset).columns]
    assert "loyal" not in keys  # "aggregate loyal user data" is a grant of its own
