"""The sandbox answers the requests TikTok's published clients send (SDK, Airbyte, Singer):
every report level summed from the ads, user/info, and advertiser create_time."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from integrations.tiktok.sandbox import marketing, state

US = "7012345678901234568"
BASE = "/tiktok-sandbox/open_api/v1.3"

pytestmark = pytest.mark.django_db


def get(client, path: str, token: str, **params):
    return client.get(f"{BASE}/{path}", params, HTTP_ACCESS_TOKEN=token).json()


def report(client, token: str, level: str, dimensions: str, **extra):
    params = {
        "advertiser_id": US,
        "report_type": "BASIC",
        "data_level": level,
        "dimensions": dimensions,
        "metrics": '["spend","impressions","clicks","conversion"]',
        "start_date": "2026-03-01",
        "end_date": "2026-03-02",
        "page_size": "1000",
    }
    params.update(extra)
    return get(client, "report/integrated/get/", token, **params)


def summed(answer) -> tuple[Decimal, int]:
    rows = answer["data"]["list"]
    return (
        sum(Decimal(r["metrics"]["spend"]) for r in rows),
        sum(int(r["metrics"]["impressions"]) for r in rows),
    )


def test_every_report_level_sums_to_the_same_totals_as_the_ads(client):
    token = state.issue_token(advertiser_ids=[US])
    ads = report(client, token, "AUCTION_AD", '["ad_id","stat_time_day"]')
    adgroups = report(client, token, "AUCTION_ADGROUP", '["adgroup_id","stat_time_day"]')
    campaigns = report(client, token, "AUCTION_CAMPAIGN", '["campaign_id"]')
    advertiser = report(client, token, "AUCTION_ADVERTISER", '["advertiser_id","stat_time_day"]')
    assert ads["code"] == adgroups["code"] == campaigns["code"] == advertiser["code"] == 0
    assert summed(ads) == summed(adgroups) == summed(campaigns) == summed(advertiser)
    assert {r["dimensions"]["campaign_id"] for r in campaigns["data"]["list"]} == {
        r["metrics"]["campaign_id"]
        for r in report(
            client, token, "AUCTION_AD", '["ad_id","stat_time_day"]', metrics='["campaign_id"]'
        )["data"]["list"]
    }
    assert len(advertiser["data"]["list"]) == 2  # one row per day
    assert len(adgroups["data"]["list"]) < len(ads["data"]["list"])


def test_a_level_answers_only_its_own_id_dimension(client):
    token = state.issue_token(advertiser_ids=[US])
    answer = report(client, token, "AUCTION_CAMPAIGN", '["ad_id","stat_time_day"]')
    assert answer["code"] == 40002 and "campaign_id" in answer["message"]


def test_documented_basic_metrics_come_as_strings_and_unknown_ones_are_refused(client):
    token = state.issue_token(advertiser_ids=[US])
    metrics = '["spend","impressions","reach","frequency","gross_impressions","tt_app_id"]'
    answer = report(client, token, "AUCTION_AD", '["ad_id","stat_time_day"]', metrics=metrics)
    assert answer["code"] == 0
    row = answer["data"]["list"][0]["metrics"]
    assert all(isinstance(value, str) for value in row.values())
    refused = report(
        client, token, "AUCTION_AD", '["ad_id","stat_time_day"]', metrics='["made_up"]'
    )
    assert refused["code"] == 40002 and "made_up" in refused["message"]


@pytest.mark.parametrize("path", ["user/info/", "user/info"])
def test_user_info_answers_with_and_without_the_trailing_slash(client, path):
    token = state.issue_token(advertiser_ids=[US])
    answer = get(client, path, token)
    assert answer["code"] == 0 and answer["data"]["display_name"]
    assert get(client, path, "nope")["code"] == 40105


def test_advertiser_info_has_tiktoks_create_time(client):
    token = state.issue_token(advertiser_ids=[US])
    answer = get(client, "advertiser/info/", token, advertiser_ids=f'["{US}"]')
    row = answer["data"]["list"][0]
    assert isinstance(row["create_time"], int) and row["create_time"] > 1_500_000_000
    assert re.fullmatch(r"\w[\w ]*", row["name"])


@pytest.mark.parametrize(("entity", "count"), [("campaign", 2), ("adgroup", 4), ("ad", 8)])
def test_campaigns_adgroups_and_ads_page_with_tiktoks_times(client, entity, count):
    token = state.issue_token(advertiser_ids=[US])
    first = get(client, f"{entity}/get/", token, advertiser_id=US, page="1", page_size="1")
    assert first["code"] == 0
    assert first["data"]["page_info"] == {
        "page": 1, "page_size": 1, "total_number": count, "total_page": count,
    }  # fmt: skip
    row = first["data"]["list"][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row["create_time"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row["modify_time"])
    picked = get(
        client,
        f"{entity}/get",
        token,
        advertiser_id=US,
        filtering=f'{{"{entity}_ids": ["{row[f"{entity}_id"]}"]}}',
    )
    assert [r[f"{entity}_id"] for r in picked["data"]["list"]] == [row[f"{entity}_id"]]


def test_campaign_get_hides_deleted_campaigns_unless_asked(client):
    uk = "7012345678901234567"
    token = state.issue_token(advertiser_ids=[uk])
    shown = get(client, "campaign/get/", token, advertiser_id=uk)
    everything = get(
        client,
        "campaign/get/",
        token,
        advertiser_id=uk,
        filtering='{"secondary_status": "STATUS_ALL"}',
    )
    assert shown["data"]["page_info"]["total_number"] == 1
    assert everything["data"]["page_info"]["total_number"] == 2


def test_the_official_sdks_campaign_report_request_sums_like_the_sandbox(client):
    """The query string tiktok-business-api-sdk-official 1.1.3 sends for a campaign report
    (lists JSON-encoded with ", " separators), replayed as sent."""
    token = state.issue_token(advertiser_ids=[US])
    query = (
        f"advertiser_id={US}&report_type=BASIC&data_level=AUCTION_CAMPAIGN"
        "&dimensions=%5B%22campaign_id%22%5D"
        "&metrics=%5B%22spend%22%2C+%22impressions%22%2C+%22clicks%22%5D"
        "&start_date=2026-03-01&end_date=2026-03-12"
    )
    answer = client.get(f"{BASE}/report/integrated/get/?{query}", HTTP_ACCESS_TOKEN=token).json()
    expected = marketing.totals(US, date(2026, 3, 1), date(2026, 3, 12))
    assert summed(answer) == (expected.spend, expected.impressions)
    assert answer["data"]["page_info"]["total_number"] == 2


UK = "7012345678901234567"  # has a deleted campaign


@pytest.mark.parametrize(
    ("report_type", "level", "dimensions"),
    [
        ("AUDIENCE", "AUCTION_CAMPAIGN", ["campaign_id", "stat_time_day", "gender", "age"]),
        ("AUDIENCE", "AUCTION_AD", ["ad_id", "stat_time_day", "platform"]),
        ("AUDIENCE", "AUCTION_AD", ["ad_id", "stat_time_day", "province_id"]),
        ("AUDIENCE", "AUCTION_ADVERTISER", ["advertiser_id", "stat_time_day", "country_code"]),
        ("BASIC", "AUCTION_AD", ["ad_id", "stat_time_day", "country_code"]),
    ],
)
def test_breakdowns_airbyte_asks_for_sum_to_the_unbroken_report(
    client, report_type, level, dimensions
):
    """Airbyte's audience, platform, province and country streams (source-tiktok-marketing
    4.7.0): every split of a day's delivery adds up to the same spend and impressions."""
    token = state.issue_token(advertiser_ids=[US])
    whole = report(client, token, level, json.dumps(dimensions[:2]))
    split = report(client, token, level, json.dumps(dimensions), report_type=report_type)
    assert split["code"] == 0, split["message"]
    assert summed(split) == summed(whole)
    assert len(split["data"]["list"]) > len(whole["data"]["list"])


def test_hourly_reports_cover_one_day_and_sum_to_it(client):
    token = state.issue_token(advertiser_ids=[US])
    day = {"start_date": "2026-03-01", "end_date": "2026-03-01"}
    daily = report(client, token, "AUCTION_CAMPAIGN", '["campaign_id","stat_time_day"]', **day)
    hourly = report(client, token, "AUCTION_CAMPAIGN", '["campaign_id","stat_time_hour"]', **day)
    assert summed(hourly) == summed(daily)
    hours = {row["dimensions"]["stat_time_hour"] for row in hourly["data"]["list"]}
    assert hours == {f"2026-03-01 {h:02d}:00:00" for h in range(24)}


def test_lifetime_reports_sum_every_day_since_the_account_was_created(client):
    token = state.issue_token(advertiser_ids=[US])
    lifetime = report(
        client, token, "AUCTION_CAMPAIGN", '["campaign_id"]', query_lifetime="true",
        start_date="", end_date="",
    )  # fmt: skip
    assert lifetime["code"] == 0, lifetime["message"]
    created = datetime.fromtimestamp(marketing.created_at(US), tz=UTC).date()
    expected = marketing.totals(US, created, marketing.ADVERTISERS[US].local_today())
    assert summed(lifetime) == (expected.spend, expected.impressions)


def test_the_advertiser_level_includes_deleted_campaigns_and_lower_levels_do_not(client):
    token = state.issue_token(advertiser_ids=[UK])
    params = {"advertiser_id": UK}
    advertiser = report(client, token, "AUCTION_ADVERTISER", '["advertiser_id"]', **params)
    campaigns = report(client, token, "AUCTION_CAMPAIGN", '["campaign_id"]', **params)
    every = marketing.totals(UK, date(2026, 3, 1), date(2026, 3, 2))
    assert summed(advertiser) == (every.spend, every.impressions)
    assert summed(campaigns)[0] < every.spend


def test_airbytes_event_and_spend_metrics_are_answered(client):
    token = state.issue_token(advertiser_ids=[US])
    metrics = (
        '["cash_spend","voucher_spend","spend","total_purchase_value","purchase",'
        '"cost_per_purchase","complete_payment","value_per_complete_payment","vta_conversion"]'
    )
    answer = report(client, token, "AUCTION_ADVERTISER", '["advertiser_id"]', metrics=metrics)
    assert answer["code"] == 0, answer["message"]
    row = answer["data"]["list"][0]["metrics"]
    assert row["cash_spend"] == row["spend"] and Decimal(row["voucher_spend"]) == 0
    assert Decimal(row["total_purchase_value"]) == 35 * int(row["purchase"])


def test_costs_and_rates_with_nothing_to_divide_by_are_zero_not_a_dash(client):
    """tap-tiktok-ads 1.2.1 reads "-" as null only for secondary-goal metrics: a "-" in
    cost_per_conversion fails its schema check. Small audience slices have no conversions."""
    token = state.issue_token(advertiser_ids=[US])
    answer = report(
        client, token, "AUCTION_AD", '["ad_id","stat_time_day","gender"]',
        report_type="AUDIENCE", metrics='["ctr","cpc","cpm","cost_per_conversion","conversion"]',
    )  # fmt: skip
    rows = [row["metrics"] for row in answer["data"]["list"]]
    assert any(row["conversion"] == "0" for row in rows)
    for row in rows:
        assert all(Decimal(row[name]) >= 0 for name in ("ctr", "cpc", "cpm", "cost_per_conversion"))
