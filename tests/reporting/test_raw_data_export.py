"""The raw-data CSV: AppsFlyer's headers and order, how each cell is written, revenue in the
event's currency and in USD, and (on PostgreSQL) the COPY writer giving the same bytes as
Python's."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from integrations.policy import access_for
from reporting import raw_data, raw_data_csv
from reporting.models import ExchangeRate
from reporting.raw_data_columns import BASE_COLUMNS
from tests import factories


@pytest.fixture
def shop(db):
    return factories.make_app(
        app_id="web.ledger",
        name='Ledger, "the" shop',
        timezone="America/New_York",
        currency="EUR",
    )


@pytest.fixture
def admin_access(shop):
    user = factories.make_user("ledger-admin")
    factories.make_membership(user, shop, "admin")
    return access_for(user, shop)


@pytest.fixture
def rates(db):
    for day, eur, gbp in [(date(2026, 3, 1), "0.9", "0.8"), (date(2026, 3, 3), "0.95", "0.75")]:
        ExchangeRate.objects.create(day=day, currency="EUR", per_usd=Decimal(eur))
        ExchangeRate.objects.create(day=day, currency="GBP", per_usd=Decimal(gbp))


def _moment(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def ledger_events(shop, rates):
    touch = factories.make_touchpoint(
        shop,
        occurred_at=_moment(2, 13),
        campaign='Spring, "big" sale',
        campaign_id="1800000001",
        sub1="=cmd|' /C calc'!A0",
        sub2="line\rbreak",
        referrer="https://www.tiktok.com/",
        url="https://signalboard.example/l/pk/tiktokweb_int?c=Spring",
        ttclid="E.C.P.abc",
    )
    install = factories.make_install(
        shop,
        touchpoint=touch,
        installed_at=_moment(2, 14),
        media_source="tiktokweb_int",
        campaign=touch.campaign,
        campaign_id="1800000001",
        touch_type="click",
        touch_time=touch.occurred_at,
        ttclid="E.C.P.abc",
        os_version="17.4",
    )
    common = {
        "install": install,
        "media_source": "tiktokweb_int",
        "campaign": touch.campaign,
        "campaign_id": "1800000001",
        "touch_type": "click",
        "touch_time": touch.occurred_at,
        "ip": "203.0.113.9",
        "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
    }
    factories.make_event(
        shop,
        event_id="e1",
        event_time=_moment(2, 15, 30),
        value={"sku": "tent-2p", "qty": 2, "items": [{"id": "a", "price": 9.5}], "ü": "ß"},
        revenue=Decimal("19.990000"),
        currency="GBP",
        **common,
    )
    factories.make_event(
        shop,
        event_id="e2",
        event_name="add_to_cart",
        event_time=_moment(3, 1),
        revenue=Decimal("10"),
        currency="EUR",
        **common,
    )
    factories.make_event(
        shop,
        event_id="e3",
        event_time=_moment(4, 2),
        revenue=Decimal("1000"),
        currency="JPY",  # no rate on record
        **common,
    )
    factories.make_event(
        shop, event_id="e4", event_time=_moment(4, 3), revenue=Decimal("5.5"), currency="USD"
    )
    factories.make_event(shop, event_id="e5", event_name="view", event_time=_moment(4, 4))


def _query(access, **params):
    base = {"from": "2026-03-01", "to": "2026-03-05"}
    return raw_data.parse_query(access, {**base, **params}, kind_key="in_app_events")


def _export(query) -> str:
    chunks = raw_data_csv.stream_csv(query)
    return "".join(c.decode() if isinstance(c, bytes) else c for c in chunks)


def _python_export(query) -> str:
    lines = [raw_data_csv.csv_line(raw_data.headers(query))]
    rows = raw_data.report_rows(query)[: query.maximum_rows]
    lines += [raw_data_csv.csv_line(cells) for cells in raw_data_csv.formatted_rows(query, rows)]
    return "".join(lines)


def _records(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_it_writes_appsflyers_81_headers_in_order(admin_access, ledger_events):
    text = _export(_query(admin_access))
    header = next(csv.reader(io.StringIO(text)))
    assert len(header) == 81
    assert header == [name for name, _ in BASE_COLUMNS]
    assert header[:3] == ["Attributed Touch Type", "Attributed Touch Time", "Install Time"]
    assert header[-1] == "Original URL"


def test_additional_fields_come_after_the_base_columns_in_the_order_asked(
    admin_access, ledger_events
):
    text = _export(_query(admin_access, additional_fields="ttclid,match_type,custom_data"))
    header = next(csv.reader(io.StringIO(text)))
    assert header[81:] == ["TikTok Click ID", "Match Type", "Custom Data"]
    first = _records(text)[0]
    assert first["TikTok Click ID"] == ""  # ttclid lives on the attribution, not copied here
    assert first["Custom Data"] == ""


def test_it_writes_times_in_the_reports_timezone(admin_access, ledger_events):
    first = _records(_export(_query(admin_access)))[0]
    assert first["Event Time"] == "2026-03-02 10:30:00"  # 15:30 UTC in New York (EST)
    assert first["Install Time"] == "2026-03-02 09:00:00"
    assert first["Attributed Touch Time"] == "2026-03-02 08:00:00"
    tokyo = _records(_export(_query(admin_access, timezone="Asia/Tokyo")))[0]
    assert tokyo["Event Time"] == "2026-03-03 00:30:00"


def test_it_writes_revenue_in_its_currency_and_in_usd_at_the_days_rate(admin_access, ledger_events):
    rows = {
        row["Event Name"] + row["Event Revenue"]: row
        for row in _records(_export(_query(admin_access)))
    }
    gbp = rows["purchase19.99"]
    assert (gbp["Event Revenue Currency"], gbp["Event Revenue USD"]) == ("GBP", "24.9875")
    eur = rows["add_to_cart10"]  # 3 March 01:00 UTC: the 3 March rate
    assert (eur["Event Revenue Currency"], eur["Event Revenue USD"]) == ("EUR", "10.526316")
    jpy = rows["purchase1000"]
    assert (jpy["Event Revenue Currency"], jpy["Event Revenue USD"]) == ("JPY", "")
    usd = rows["purchase5.5"]
    assert (usd["Event Revenue Currency"], usd["Event Revenue USD"]) == ("USD", "5.5")


def test_preferred_currency_shows_revenue_in_the_apps_currency(admin_access, ledger_events):
    rows = _records(_export(_query(admin_access, currency="preferred")))
    by_id = {row["Event Name"] + row["Event Revenue USD"]: row for row in rows}
    gbp = by_id["purchase24.9875"]  # 19.99 GBP at 0.8 → 24.9875 USD → ×0.9 EUR
    assert (gbp["Event Revenue"], gbp["Event Revenue Currency"]) == ("22.48875", "EUR")
    jpy = by_id["purchase"]  # no JPY rate: left in its own currency, and says so
    assert (jpy["Event Revenue"], jpy["Event Revenue Currency"]) == ("1000", "JPY")


def test_empty_cells_are_empty_and_values_keep_their_json(admin_access, ledger_events):
    rows = _records(_export(_query(admin_access)))
    view = rows[-1]
    assert view["Event Name"] == "view"
    assert view["Event Value"] == view["Event Revenue"] == view["Campaign"] == ""
    assert view["Media Source"] == "organic"
    assert rows[0]["Event Value"] == (
        '{"ü": "ß", "qty": 2, "sku": "tent-2p", "items": [{"id": "a", "price": 9.5}]}'
    )
    assert ',"",' not in _export(_query(admin_access))


def test_it_defuses_spreadsheet_formulas_in_text_from_links(admin_access, ledger_events):
    first = _records(_export(_query(admin_access)))[0]
    assert first["Sub Param 1"] == "'=cmd|' /C calc'!A0"
    assert first["Sub Param 2"] == "line\rbreak"
    assert first["Campaign"] == 'Spring, "big" sale'
    assert first["Campaign ID"] == "1800000001"


@pytest.fixture
def formula_ids(shop):
    """Ids that arrive through links (Campaign, Adset, Ad, TikTok Click ID), the SDK or the
    API (AppsFlyer ID, Event ID), each starting with a character a spreadsheet runs."""
    ids = {
        "campaign_id": "=1+2",
        "adset_id": "+SUM(1,2)",
        "ad_id": "-2+3",
        "ttclid": "@SUM(1)",
        "idfa": "\t=1+2",
        "user_agent": "\r=1+2",
    }
    touch = factories.make_touchpoint(shop, occurred_at=_moment(2, 13), **ids)
    install = factories.make_install(
        shop, touchpoint=touch, installed_at=_moment(2, 14), device_id="=HYPERLINK(1)", **ids
    )
    factories.make_event(
        shop,
        install=install,
        event_id='=HYPERLINK("https://evil.example")',
        event_time=_moment(2, 15),
        device_id="=HYPERLINK(1)",
        **ids,
    )


FORMULA_CELLS = {
    "Campaign ID": "'=1+2",
    "Adset ID": "'+SUM(1,2)",
    "Ad ID": "'-2+3",
    "TikTok Click ID": "'@SUM(1)",
    "IDFA": "'\t=1+2",
    "User Agent": "'\r=1+2",
}


@pytest.mark.parametrize(
    ("kind_key", "expected"),
    [
        ("installs", {**FORMULA_CELLS, "AppsFlyer ID": "'=HYPERLINK(1)"}),
        (
            "in_app_events",
            {
                **FORMULA_CELLS,
                "AppsFlyer ID": "'=HYPERLINK(1)",
                "Event ID": '\'=HYPERLINK("https://evil.example")',
            },
        ),
        ("touchpoints", FORMULA_CELLS),
    ],
)
def test_it_defuses_spreadsheet_formulas_in_ids_from_links_sdks_and_the_api(
    admin_access, formula_ids, kind_key, expected
):
    query = raw_data.parse_query(
        admin_access,
        {"from": "2026-03-01", "to": "2026-03-05", "additional_fields": "ttclid,event_id"},
        kind_key=kind_key,
    )
    for text in (_export(query), _python_export(query)):  # COPY's and Python's on PostgreSQL
        [row] = _records(text)
        assert {header: row[header] for header in expected} == expected


def test_it_fills_the_click_details_and_the_app(admin_access, ledger_events):
    first = _records(_export(_query(admin_access)))[0]
    assert first["Original URL"].startswith("https://signalboard.example/l/pk/")
    assert first["HTTP Referrer"] == "https://www.tiktok.com/"
    assert first["IP"] == "203.0.113.9"
    assert first["OS Version"] == "17.4"
    assert first["Is Retargeting"] == "false"
    assert first["Attributed Touch Type"] == "click"


def test_maximum_rows_cuts_the_export(admin_access, ledger_events):
    rows = _records(_export(_query(admin_access, maximum_rows="2")))
    assert [row["Event Revenue"] for row in rows] == ["19.99", "10"]


def test_a_partner_user_without_the_revenue_grant_gets_no_revenue_or_values(shop, ledger_events):
    user = factories.make_user("tt-partner")
    factories.make_partner_user(user, "tiktokweb_int")
    factories.grant(shop, "tiktokweb_int", can_view_in_app_events=True)
    access = access_for(user, shop)
    rows = _records(_export(_query(access)))
    assert {row["Media Source"] for row in rows} == {"tiktokweb_int"}
    assert {
        row["Event Revenue"] + row["Event Revenue USD"] + row["Event Value"] for row in rows
    } == {""}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY writer is PostgreSQL's")
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"currency": "preferred"},
        {"timezone": "Asia/Kolkata", "additional_fields": "ttclid,event_id,match_type"},
        {"media_source": "tiktokweb_int", "event_name": "purchase"},
        {"maximum_rows": "2", "reattr": "false"},
    ],
)
def test_copy_writer_gives_the_same_bytes_as_python(admin_access, ledger_events, params):
    query = _query(admin_access, **params)
    assert _export(query) == _python_export(query)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY writer is PostgreSQL's")
@pytest.mark.parametrize("kind_key", ["installs", "touchpoints"])
def test_copy_writer_matches_python_for_installs_and_clicks(admin_access, ledger_events, kind_key):
    query = raw_data.parse_query(
        admin_access, {"from": "2026-03-01", "to": "2026-03-05"}, kind_key=kind_key
    )
    text = _export(query)
    assert len(_records(text)) == 1
    assert text == _python_export(query)
