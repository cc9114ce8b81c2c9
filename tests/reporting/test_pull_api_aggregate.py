"""The aggregate Pull API (`/api/agg-data/export/app/<app>/<report>/v5`): AppsFlyer's columns in
the connectors' order, the Overview's numbers, and the requests Airbyte's AppsFlyer source (0.3.3)
sends, replayed as it sends them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import ORGANIC
from integrations.policy import access_for
from reporting.api_tokens import create_api_token
from reporting.overview import build_overview
from tests import factories
from tests.reporting import test_overview
from tests.reporting.test_overview import FILTERS, at, spring

dataset = test_overview.dataset  # the Overview's own two days, as fixtures
ny_app = test_overview.ny_app

WINDOW = {"from": "2026-03-01", "to": "2026-03-02"}
KPIS = [
    "Agency/PMD (af_prt)",
    "Media Source (pid)",
    "Campaign (c)",
    "Impressions",
    "Clicks",
    "CTR",
    "Installs",
    "Conversion Rate",
    "Sessions",
    "Loyal Users",
    "Loyal Users/Installs",
    "Total Revenue",
    "Total Cost",
    "ROI",
    "ARPU",
    "Average eCPI",
]
EVENTS = [
    f"{name} {suffix}"
    for name in ("purchase", "view_content")
    for suffix in ("(Unique users)", "(Event counter)", "(Sales in USD)")
]


def _token(user) -> str:
    return create_api_token(acting_user=user, name="Airbyte")[1]


def _pull(client, app, report, token, **params):
    url = reverse("reporting:pull-api-aggregate", args=[app.app_id, report])
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(url, params, headers=headers)


def _table(response) -> tuple[list[str], list[dict[str, str]]]:
    assert response.status_code == 200, response.content
    reader = csv.DictReader(io.StringIO(response.content.decode()))
    return list(reader.fieldnames or []), list(reader)


def _by_campaign(rows) -> dict[tuple[str, str], dict[str, str]]:
    return {(row["Media Source (pid)"], row["Campaign (c)"]): row for row in rows}


def test_airbytes_connection_check_passes(client, app, analyst):
    """SourceAppsflyer.check_connection: partners_report for today, in UTC; anything but 200
    fails the check."""
    today = timezone.now().date().isoformat()
    response = _pull(
        client,
        app,
        "partners_report",
        _token(analyst),
        **{"from": today, "to": today, "timezone": "UTC"},
    )
    header, rows = _table(response)
    assert header == KPIS
    assert rows == []


@pytest.mark.parametrize(
    ("report", "leading", "has_revenue"),
    [
        ("partners_report", [], True),
        ("partners_by_date_report", ["Date"], True),
        ("daily_report", ["Date"], False),
        ("geo_report", ["Country"], True),
        ("geo_by_date_report", ["Date", "Country"], True),
    ],
)
def test_each_report_has_appsflyers_columns_in_order(
    client, dataset, analyst, report, leading, has_revenue
):
    header, _ = _table(_pull(client, dataset, report, _token(analyst), **WINDOW))
    revenue = {"Total Revenue", "ROI", "ARPU"}
    kpis = [name for name in KPIS if has_revenue or name not in revenue]
    assert header == leading + kpis + (EVENTS if has_revenue else [])


def test_partners_report_agrees_with_the_overview(client, dataset, analyst):
    overview = build_overview(access_for(analyst, dataset), FILTERS)
    _, rows = _table(
        _pull(client, dataset, "partners_report", _token(analyst), **WINDOW, currency="preferred")
    )
    pulled = _by_campaign(rows)
    assert len(pulled) == len(overview.rows)
    for row in overview.rows:
        line = pulled[(row.media_source, row.label)]
        assert int(line["Installs"]) == row.installs
        assert line["Total Revenue"] == f"{row.revenue:.2f}"
        if row.has_cost:
            assert int(line["Impressions"]) == row.impressions
            assert int(line["Clicks"]) == row.clicks
            assert line["Total Cost"] == f"{row.spend:.2f}"
    spend = sum(Decimal(r["Total Cost"]) for r in rows if r["Total Cost"] != "N/A")
    assert sum(int(r["Installs"]) for r in rows) == overview.totals.installs == 7
    assert spend == overview.totals.spend.quantize(Decimal("0.01")) == Decimal("37.00")


def test_the_spring_campaign_has_the_overviews_twelve_metrics(client, dataset, analyst):
    _, rows = _table(_pull(client, dataset, "partners_report", _token(analyst), **WINDOW))
    spring_row = _by_campaign(rows)[("tiktokweb_int", "Spring sale")]
    assert {key: spring_row[key] for key in KPIS[3:]} == {
        "Impressions": "3000",
        "Clicks": "60",
        "CTR": "0.0200",
        "Installs": "5",
        "Conversion Rate": "0.0833",
        "Sessions": "0",  # nobody opened the app in this dataset
        "Loyal Users": "0",
        "Loyal Users/Installs": "0.0000",
        "Total Revenue": "50.00",
        "Total Cost": "25.00",
        "ROI": "1.0000",
        "ARPU": "10.0000",
        "Average eCPI": "5.0000",
    }
    assert spring_row["Agency/PMD (af_prt)"] == ""


def test_per_event_columns_count_users_events_and_sales(client, dataset, analyst):
    _, rows = _table(_pull(client, dataset, "partners_report", _token(analyst), **WINDOW))
    by_campaign = _by_campaign(rows)
    spring_row = by_campaign[("tiktokweb_int", "Spring sale")]
    organic = by_campaign[(ORGANIC, "")]
    # USD 30 on 1 March, EUR 10 at 0.5 per USD on 2 March = USD 20.
    assert spring_row["purchase (Unique users)"] == "2"
    assert spring_row["purchase (Event counter)"] == "2"
    assert spring_row["purchase (Sales in USD)"] == "50.00"
    assert spring_row["view_content (Event counter)"] == "1"
    assert organic["purchase (Sales in USD)"] == "10.00"  # GBP 5 at 0.5
    assert organic["Total Cost"] == "N/A"


def test_by_date_rows_add_up_to_the_window(client, dataset, analyst):
    token = _token(analyst)
    _, window = _table(_pull(client, dataset, "partners_report", token, **WINDOW))
    _, days = _table(_pull(client, dataset, "partners_by_date_report", token, **WINDOW))
    assert {row["Date"] for row in days} == {"2026-03-01", "2026-03-02"}
    assert sum(int(r["Installs"]) for r in days) == sum(int(r["Installs"]) for r in window)
    spring_days = {
        row["Date"]: row["Installs"] for row in days if row["Campaign (c)"] == "Spring sale"
    }
    assert spring_days == {"2026-03-01": "2", "2026-03-02": "3"}


def test_geo_reports_split_cost_and_installs_by_country(client, dataset, analyst):
    factories.make_install(
        dataset, **spring(installed_at=at("2026-03-01T12:00:00"), country_code="GB")
    )
    _, rows = _table(_pull(client, dataset, "geo_report", _token(analyst), **WINDOW))
    gb = [row for row in rows if row["Country"] == "GB"]
    assert [(row["Campaign (c)"], row["Installs"], row["Total Cost"]) for row in gb] == [
        ("Spring sale", "1", "10.00")  # EUR 8 at 0.8
    ]


def test_retargeting_has_reengagements_and_no_cost(client, dataset, analyst):
    for reattr in ("true", "True"):  # Python's requests sends Airbyte's True as "True"
        _, rows = _table(
            _pull(client, dataset, "partners_report", _token(analyst), **WINDOW, reattr=reattr)
        )
        assert [(r["Campaign (c)"], r["Installs"], r["Total Cost"]) for r in rows] == [
            ("Spring sale", "1", "N/A")
        ]
        assert rows[0]["Total Revenue"] == "100.00"


def test_view_through_counts_impression_installs_only(client, dataset, analyst):
    factories.make_install(
        dataset, **spring(installed_at=at("2026-03-01T12:00:00"), touch_type="impression")
    )
    _, rows = _table(
        _pull(
            client,
            dataset,
            "partners_report",
            _token(analyst),
            **WINDOW,
            attribution_touch_type="impression",
        )
    )
    assert [(r["Campaign (c)"], r["Installs"], r["Clicks"]) for r in rows] == [
        ("Spring sale", "1", "N/A")
    ]


def test_the_timezone_decides_the_days(client, dataset, analyst):
    token = _token(analyst)
    day = {"from": "2026-03-01", "to": "2026-03-01"}
    _, new_york = _table(_pull(client, dataset, "partners_report", token, **day))
    _, utc = _table(_pull(client, dataset, "partners_report", token, **day, timezone="UTC"))
    assert sum(int(r["Installs"]) for r in new_york) == 3  # the app's timezone by default
    assert sum(int(r["Installs"]) for r in utc) == 4  # with 04:59:59, 28 February's in New York


def test_media_source_and_maximum_rows_narrow_the_report(client, dataset, analyst):
    token = _token(analyst)
    _, tiktok = _table(
        _pull(client, dataset, "partners_report", token, **WINDOW, media_source="tiktokweb_int")
    )
    _, one = _table(_pull(client, dataset, "partners_report", token, **WINDOW, maximum_rows="1"))
    assert {r["Media Source (pid)"] for r in tiktok} == {"tiktokweb_int"}
    assert {r["Campaign (c)"] for r in tiktok} == {"Spring sale", "Awareness"}
    assert len(one) == 1


def test_a_partner_user_gets_its_source_without_money(client, dataset, partner_user):
    factories.grant(dataset, "tiktokweb_int", can_view_in_app_events=True)
    token = _token(partner_user)
    _, rows = _table(_pull(client, dataset, "partners_report", token, **WINDOW))
    assert {r["Media Source (pid)"] for r in rows} == {"tiktokweb_int"}
    assert {r["Total Cost"] for r in rows} == {""}
    assert {r["Total Revenue"] for r in rows} == {""}
    other = _pull(client, dataset, "partners_report", token, **WINDOW, media_source=ORGANIC)
    assert other.status_code == 400
    assert "only tiktokweb_int" in other.content.decode()


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"from": ""}, "'from' is required"),
        ({"from": "2026-03-01 00:00:00"}, "must look like yyyy-mm-dd"),
        ({"to": "2026-02-30"}, "not a real date"),
        ({"to": "2026-02-27"}, "before 'from'"),
        ({"to": "2027-03-02"}, "longer than 366 days"),
        ({"to": "9999-12-31"}, "outside the years"),
        ({"timezone": "Mars/Olympus"}, "Unknown timezone"),
        ({"currency": "EUR"}, "'currency' is 'preferred'"),
        ({"reattr": "yes"}, "'reattr' is true or false"),
        ({"attribution_touch_type": "click"}, "'attribution_touch_type' is 'impression'"),
        ({"maximum_rows": "0"}, "'maximum_rows' is a whole number"),
        ({"maximum_rows": "²"}, "'maximum_rows' is a whole number"),
    ],
)
def test_bad_parameters_get_400_with_a_plain_text_reason(client, app, analyst, params, reason):
    response = _pull(client, app, "partners_report", _token(analyst), **{**WINDOW, **params})
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert reason in response.content.decode()


def test_tokens_apps_and_reports_are_checked_like_the_raw_data_api(client, app, analyst, outsider):
    assert _pull(client, app, "partners_report", None, **WINDOW).status_code == 401
    assert _pull(client, app, "partners_report", "sbr_nope", **WINDOW).status_code == 401
    assert _pull(client, app, "partners_report", _token(outsider), **WINDOW).status_code == 404
    unknown = _pull(client, app, "master_report", _token(analyst), **WINDOW)
    assert unknown.status_code == 404
    assert "partners_by_date_report" in unknown.content.decode()


def test_airbytes_aggregate_windows_are_answered(client, dataset, analyst):
    """AggregateDataMixin: 60-day slices as dates, both ends inclusive, sharing the boundary."""
    token = _token(analyst)
    params = {"timezone": "UTC", "maximum_rows": "1000000"}
    for report in ("partners_by_date_report", "daily_report", "geo_by_date_report"):
        first = _pull(
            client, dataset, report, token, **params, **{"from": "2026-01-01", "to": "2026-03-02"}
        )
        second = _pull(
            client, dataset, report, token, **params, **{"from": "2026-03-02", "to": "2026-03-10"}
        )
        assert first.status_code == second.status_code == 200, report


def test_a_campaign_without_cost_or_installs_still_shows_its_events(client, app, analyst):
    factories.make_event(
        app, event_time=at("2026-03-01T12:00:00"), media_source="tiktokweb_int", campaign="Quiet"
    )
    _, rows = _table(_pull(client, app, "partners_report", _token(analyst), **WINDOW))
    assert [(r["Campaign (c)"], r["Installs"], r["purchase (Event counter)"]) for r in rows] == [
        ("Quiet", "0", "1")
    ]


def test_cells_that_look_like_formulas_are_neutralised(client, app, analyst):
    factories.make_install(
        app,
        installed_at=at("2026-03-01T12:00:00"),
        media_source="tiktokweb_int",
        campaign="=HYPERLINK(1)",
    )
    _, rows = _table(_pull(client, app, "partners_report", _token(analyst), **WINDOW))
    assert rows[0]["Campaign (c)"] == "'=HYPERLINK(1)"


def test_the_schema_documents_both_pull_apis_and_the_uninstall_reports(client):
    schema = client.get("/api/schema/?format=json").json()
    aggregate = schema["paths"]["/api/agg-data/export/app/{app_id}/{report}/v5"]["get"]
    raw = schema["paths"]["/api/raw-data/export/app/{app_id}/{report}/v5"]["get"]
    reports = {p["name"]: p for p in aggregate["parameters"]}["report"]["schema"]["enum"]
    raw_reports = {p["name"]: p for p in raw["parameters"]}["report"]["schema"]["enum"]
    assert reports == [
        "partners_report",
        "partners_by_date_report",
        "daily_report",
        "geo_report",
        "geo_by_date_report",
    ]
    assert {"uninstall_events_report", "organic_uninstall_events_report"} <= set(raw_reports)


def test_sessions_and_loyal_users_come_from_the_session_rollup(client, dataset, analyst):
    from events.models import Install, SessionDay

    window = (datetime(2026, 3, 1, 5, tzinfo=UTC), datetime(2026, 3, 3, 5, tzinfo=UTC))  # NY
    spring = list(
        Install.objects.filter(
            campaign="Spring sale", is_reengagement=False, installed_at__range=window
        ).order_by("pk")
    )[:2]
    for install, sessions in zip(spring, (4, 1), strict=True):
        SessionDay.objects.create(
            app=dataset, install=install, user_key=install.device_id,
            day=date(2026, 3, 2), sessions=sessions,
        )  # fmt: skip
    _, rows = _table(_pull(client, dataset, "partners_report", _token(analyst), **WINDOW))
    row = _by_campaign(rows)[("tiktokweb_int", "Spring sale")]
    assert (row["Sessions"], row["Loyal Users"], row["Loyal Users/Installs"]) == (
        "5",
        "1",
        "0.2000",
    )
