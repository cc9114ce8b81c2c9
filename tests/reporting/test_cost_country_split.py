"""Splitting an ad's day by country: TikTok's AUDIENCE rows (per country) against its BASIC row
(the ad's total). The stored rows always add up to BASIC exactly and none is negative, even
when the audience estimate exceeds the total in some metric."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from integrations.tiktok.marketing_api import ReportRow
from reporting.cost_pulls import merge

DAY = date(2026, 3, 2)
METRICS = ("spend", "impressions", "clicks", "conversions")


def row(country: str = "", spend: str = "0", impressions: int = 0, clicks: int = 0, conv=None):
    return ReportRow(
        stat_date=DAY,
        ad_id="2001",
        country_code=country,
        campaign_id="1800",
        campaign_name="Spring",
        adgroup_id="1900",
        adgroup_name="Ad group 1",
        ad_name="Ad 1",
        currency="USD",
        spend=Decimal(spend),
        impressions=impressions,
        clicks=clicks,
        conversions=conv,
    )


def totals(rows: list[ReportRow]) -> dict[str, object]:
    return {
        "spend": sum((r.spend for r in rows), Decimal(0)),
        "impressions": sum(r.impressions for r in rows),
        "clicks": sum(r.clicks for r in rows),
        "conversions": sum(r.conversions or 0 for r in rows),
    }


BASIC = row(spend="10.00", impressions=1000, clicks=50, conv=5)
CASES = {
    "countries short of the total in every metric": [
        row("GB", "6.00", 600, 30, 3),
        row("IE", "3.00", 300, 10, 1),
    ],
    "countries over the total in impressions only": [
        row("GB", "6.00", 700, 30, 3),
        row("IE", "3.00", 400, 10, 1),
    ],
    "countries over the total in every metric": [
        row("GB", "7.33", 900, 40, 4),
        row("IE", "5.01", 333, 21, 3),
    ],
    "countries exactly the total": [
        row("GB", "6.00", 600, 30, 3),
        row("IE", "4.00", 400, 20, 2),
    ],
    "one country over in spend, short in clicks": [row("GB", "10.05", 990, 12, 5)],
    "no country split at all": [],
}


@pytest.mark.parametrize("countries", CASES.values(), ids=CASES.keys())
def test_the_stored_rows_add_up_to_the_ads_total_and_none_is_negative(countries):
    merged = merge([BASIC], countries)
    assert totals(merged) == totals([BASIC])
    for merged_row in merged:
        assert all(getattr(merged_row, name) >= 0 for name in METRICS), merged_row
    assert {r.country_code for r in merged} - {""} == {r.country_code for r in countries}


def test_a_metric_over_the_total_leaves_the_remainder_its_other_metrics():
    merged = merge([BASIC], CASES["countries over the total in impressions only"])
    (remainder,) = [r for r in merged if r.country_code == ""]
    assert (remainder.spend, remainder.impressions, remainder.clicks, remainder.conversions) == (
        Decimal("1.00"),
        0,
        10,
        1,
    )
    by_country = {r.country_code: r.impressions for r in merged if r.country_code}
    assert by_country == {"GB": 636, "IE": 364}  # 1,000 shared 7:4, the odd one to IE


def test_spend_over_the_total_is_shared_in_the_currencys_own_units():
    basic = replace(BASIC, currency="JPY", spend=Decimal("1000"))
    countries = [
        replace(row("JP", "700"), currency="JPY", impressions=500),
        replace(row("KR", "400"), currency="JPY", impressions=400),
    ]
    merged = merge([basic], countries)
    assert sorted((r.country_code, r.spend) for r in merged) == [
        ("", Decimal("0")),
        ("JP", Decimal("636")),
        ("KR", Decimal("364")),
    ]
    assert all(r.spend == r.spend.to_integral_value() for r in merged)


def test_an_ad_without_a_country_split_is_stored_whole_under_a_blank_country():
    assert merge([BASIC], []) == [BASIC]


def test_country_rows_of_an_ad_basic_did_not_report_are_kept_as_sent():
    stray = replace(row("GB", "2.00", 100, 3, 1), ad_id="2002")
    assert merge([BASIC], [stray]) == [stray, BASIC]
