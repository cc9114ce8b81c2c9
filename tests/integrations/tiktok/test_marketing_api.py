"""The Marketing API client and the sandbox's OAuth and reporting rules, over real HTTP."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests
from django.test import override_settings

from integrations.tiktok import marketing_api
from integrations.tiktok.sandbox import marketing, state
from integrations.tiktok.transport import PermanentError

APP_ID = "7301234567890123457"
SECRET = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
US = "7012345678901234568"


@pytest.fixture
def sandbox(tiktok_sandbox):
    with override_settings(TIKTOK_APP_ID=APP_ID, TIKTOK_APP_SECRET=SECRET):
        yield tiktok_sandbox


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("20.00", Decimal("20.00")),
        (4696, Decimal(4696)),
        (1.5, Decimal("1.5")),
        ("-", None),
        ("", None),
        (None, None),
    ],
)
def test_metrics_parse_as_decimals(raw, parsed):
    assert marketing_api.parse_decimal(raw) == parsed


def test_an_unreadable_metric_is_an_error():
    with pytest.raises(PermanentError):
        marketing_api.parse_decimal("12,5")


def test_a_row_parses_like_tiktoks_fixture():
    row = marketing_api.parse_row(
        {
            "dimensions": {"ad_id": "2001", "stat_time_day": "2025-03-01 00:00:00"},
            "metrics": {
                "spend": "120.50",
                "impressions": "38412",
                "clicks": 402,
                "conversion": "-",
                "campaign_name": "Spring sale",
                "currency": "GBP",
            },
        }
    )
    assert row.stat_date == date(2025, 3, 1)
    assert row.spend == Decimal("120.50") and row.impressions == 38412 and row.clicks == 402
    assert row.conversions is None and row.currency == "GBP" and row.country_code == ""


def test_advertisers_and_their_details(sandbox):
    token = state.issue_token(advertiser_ids=[US, "7012345678901234569"])
    listed = marketing_api.authorized_advertisers(token)
    assert {a.advertiser_id for a in listed} == {US, "7012345678901234569"}
    details = marketing_api.advertiser_details(token, [US])
    assert details == [
        marketing_api.Advertiser(US, "Trailhead Shop US", currency="USD", timezone="Etc/GMT+5")
    ]


def test_a_report_over_thirty_days_is_refused_before_asking(sandbox):
    token = state.issue_token(advertiser_ids=[US])
    with pytest.raises(PermanentError):
        list(
            marketing_api.report_rows(
                token, US, date(2026, 1, 1), date(2026, 1, 31), by_country=False
            )
        )


def test_small_pages_are_all_read(sandbox):
    token = state.issue_token(advertiser_ids=[US])
    today = marketing.ADVERTISERS[US].local_today()
    progress = marketing_api.PageProgress()
    rows = list(
        marketing_api.report_rows(
            token,
            US,
            today - timedelta(days=2),
            today,
            by_country=True,
            progress=progress,
            page_size=5,
        )
    )
    expected = marketing.delivery(marketing.ADVERTISERS[US], today - timedelta(days=2), today)
    assert len(rows) == len(expected) and progress.pages == -(-len(expected) // 5)


def call(base: str, path: str, token: str = "", **params):
    response = requests.get(
        f"{base}/open_api/v1.3/{path}", params=params, headers={"Access-Token": token}, timeout=5
    )
    return response.json()


def report_params(**overrides):
    params = {
        "advertiser_id": US,
        "report_type": "BASIC",
        "data_level": "AUCTION_AD",
        "dimensions": '["ad_id","stat_time_day"]',
        "start_date": "2026-03-01",
        "end_date": "2026-03-02",
    }
    params.update(overrides)
    return params


@pytest.mark.parametrize(
    ("overrides", "code", "words"),
    [
        ({"end_date": "2026-04-15"}, 40002, "exceeds 30 days"),
        # §5.1: a BASIC report may break down by country, a lifetime one may not.
        ({"dimensions": '["ad_id","stat_time_day","country_code"]'}, 0, "OK"),
        (
            {"dimensions": '["ad_id","country_code"]', "query_lifetime": "true"},
            40002,
            "country_code",
        ),
        ({"dimensions": '["ad_id","stat_time_hour"]'}, 40002, "exceeds 1 day"),
        ({"page_size": "1001"}, 40002, "page_size"),
        ({"advertiser_id": "7012345678901234570"}, 40001, "No permission"),
        ({"dimensions": "['ad_id', 'stat_time_day']"}, 0, "OK"),  # old clients' repr
    ],
)
def test_the_sandbox_applies_tiktoks_report_rules(sandbox, overrides, code, words):
    token = state.issue_token(advertiser_ids=[US])
    answer = call(sandbox, "report/integrated/get/", token, **report_params(**overrides))
    assert answer["code"] == code and words in answer["message"]


def test_the_sandbox_answers_without_the_trailing_slash_and_wants_a_token(sandbox):
    assert call(sandbox, "report/integrated/get", "", **report_params())["code"] == 40104
    assert call(sandbox, "report/integrated/get", "nope", **report_params())["code"] == 40105


def test_deleted_campaigns_need_status_all(sandbox):
    uk = "7012345678901234567"
    token = state.issue_token(advertiser_ids=[uk])
    params = report_params(advertiser_id=uk, page_size="1000")
    hidden = call(sandbox, "report/integrated/get/", token, **params)
    shown = call(
        sandbox,
        "report/integrated/get/",
        token,
        filtering='[{"field_name":"campaign_status","filter_type":"IN",'
        '"filter_value":"[\\"STATUS_ALL\\"]"}]',
        **params,
    )
    assert shown["data"]["page_info"]["total_number"] > hidden["data"]["page_info"]["total_number"]


@override_settings(PUBLIC_BASE_URL="https://signalboard.example")
def test_an_auth_code_works_once(sandbox, client):
    response = client.post(
        "/tiktok-sandbox/portal/auth",
        {
            "app_id": APP_ID,
            "redirect_uri": "https://signalboard.example/oauth/complete/tiktok-business/",
            "state": "abc",
            "advertiser_id": [US],
            "approve": "",
        },
    )
    code = response["Location"].split("auth_code=")[1].split("&")[0]
    body = {"app_id": APP_ID, "secret": SECRET, "auth_code": code}
    url = f"{sandbox}/open_api/v1.3/oauth2/access_token/"
    first = requests.post(url, json=body, timeout=5).json()
    assert first["code"] == 0 and first["data"]["advertiser_ids"] == [US]
    assert first["data"]["scope"] == [1, 2, 3, 4, 7, 11]
    again = requests.post(url, json=body, timeout=5).json()
    assert again["code"] == 40110
    wrong_secret = requests.post(url, json={**body, "secret": "x"}, timeout=5).json()
    assert wrong_secret["code"] == 40101


def test_revoke_ends_the_token(sandbox):
    token = state.issue_token(advertiser_ids=[US])
    assert marketing_api.revoke(token) == marketing_api.Revocation(advertiser_ids=[US])
    with pytest.raises(PermanentError) as error:
        marketing_api.authorized_advertisers(token)
    assert error.value.code == 40105


def test_revoking_a_token_tiktok_already_refuses_says_so(sandbox):
    token = state.issue_token(advertiser_ids=[US])
    state.revoke_token(token)
    assert marketing_api.revoke(token) == marketing_api.Revocation(
        advertiser_ids=[], was_already_refused=True
    )
