"""Long syncs through the raw-data Pull API, as Airbyte's AppsFlyer source (0.3.3) sends them:
windows of exactly 60 days (installs) or 31 days (in-app events) with `to` carrying seconds,
consecutive windows sharing the boundary instant, and every report name it may select."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from reporting.api_tokens import create_api_token
from reporting.raw_data_columns import BASE_COLUMNS
from tests import factories

# Airbyte's `additional_fields` for the uninstall streams (fields/additional_fields.py).
UNINSTALL_FIELDS = (
    "custom_data,network_account_id,install_app_store,contributor1_match_type,"
    "contributor2_match_type,contributor3_match_type,match_type,gp_referrer,gp_click_time,"
    "gp_install_begin,gp_broadcast_referrer,keyword_match_type,keyword_id,amazon_aid,"
    "device_category,device_model,device_download_time,deeplink_url,oaid,is_lat,"
    "store_reinstall,placement,mediation_network,segment,ad_unit,monetization_network,"
    "impressions,blocked_reason,blocked_reason_value,blocked_reason_rule,blocked_sub_reason,"
    "rejected_reason,rejected_reason_value"
)


def _pull(client, app, report, token, **params):
    url = reverse("reporting:pull-api", args=[app.app_id, report])
    return client.get(url, params, headers={"Authorization": f"Bearer {token}"})


def _body(response) -> str:
    content = response.streaming_content if response.streaming else [response.content]
    return b"".join(content).decode()


def _rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_body(response))))


def _airbyte(start: str, end: str, **extra: str) -> dict[str, str]:
    """The parameters Airbyte's raw-data streams send (RawDataMixin.request_params)."""
    return {
        "from": start,
        "to": end,
        "timezone": "UTC",
        "maximum_rows": "1000000",
        "currency": "preferred",
        **extra,
    }


@pytest.fixture
def token(analyst) -> str:
    return create_api_token(acting_user=analyst, name="Airbyte")[1]


def test_exactly_60_days_of_installs_with_seconds_is_answered(client, app, token):
    params = _airbyte("2026-01-01 00:00:00", "2026-03-02 00:00:00")
    response = _pull(client, app, "installs_report", token, **params)
    assert response.status_code == 200, response.content


def test_exactly_31_days_of_events_with_seconds_is_answered(client, app, token):
    params = _airbyte("2026-01-01 00:00:00", "2026-02-01 00:00:00")
    response = _pull(client, app, "in_app_events_report", token, **params)
    assert response.status_code == 200, response.content


def test_one_second_more_than_60_days_is_refused(client, app, token):
    params = _airbyte("2026-01-01 00:00:00", "2026-03-02 00:00:01")
    response = _pull(client, app, "installs_report", token, **params)
    assert response.status_code == 400
    assert "longer than 60 days" in response.content.decode()


def test_a_date_alone_still_means_its_whole_day(client, app, token):
    sixty = _pull(client, app, "installs_report", token, **_airbyte("2026-01-01", "2026-03-01"))
    sixty_one = _pull(client, app, "installs_report", token, **_airbyte("2026-01-01", "2026-03-02"))
    assert sixty.status_code == 200
    assert sixty_one.status_code == 400


def test_consecutive_windows_sharing_the_boundary_both_answer_and_cover_every_install(
    client, app, token
):
    """A 75-day sync: [start, start + 60 days] then [start + 60 days, now], as Airbyte slices it."""
    moments = [
        datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC),
        datetime(2026, 2, 10, 8, 30, tzinfo=UTC),
        datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC),  # the boundary instant
        datetime(2026, 3, 15, 9, 41, 12, tzinfo=UTC),
    ]
    for moment in moments:
        factories.make_install(app, installed_at=moment, media_source="tiktokweb_int")
    first = _pull(
        client,
        app,
        "installs_report",
        token,
        **_airbyte("2026-01-01 00:00:00", "2026-03-02 00:00:00"),
    )
    second = _pull(
        client,
        app,
        "installs_report",
        token,
        **_airbyte("2026-03-02 00:00:00", "2026-03-16 09:41:12"),
    )
    assert first.status_code == second.status_code == 200
    seen = [row["Install Time"] for row in _rows(first) + _rows(second)]
    assert sorted(set(seen)) == [
        "2026-01-01 00:00:00",
        "2026-02-10 08:30:00",
        "2026-03-02 00:00:00",
        "2026-03-15 09:41:12",
    ]


@pytest.mark.parametrize("report", ["uninstall_events_report", "organic_uninstall_events_report"])
def test_uninstall_reports_answer_200_with_the_header_row(client, app, token, report):
    factories.make_install(app, installed_at=datetime(2026, 1, 5, tzinfo=UTC))
    params = _airbyte(
        "2026-01-01 00:00:00", "2026-03-02 00:00:00", additional_fields=UNINSTALL_FIELDS
    )
    response = _pull(client, app, report, token, **params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = _body(response).splitlines()
    assert len(lines) == 1
    header = next(csv.reader(lines))
    assert header[: len(BASE_COLUMNS)] == [name for name, _ in BASE_COLUMNS]
    assert header[-1] == "Rejected Reason Value"


def test_uninstall_reports_keep_the_raw_data_rules(client, app, token, partner_user):
    too_long = _pull(
        client, app, "uninstall_events_report", token, **_airbyte("2026-01-01", "2026-03-02")
    )
    assert too_long.status_code == 400
    partner_token = create_api_token(acting_user=partner_user, name="tap")[1]
    factories.grant(app, "tiktokweb_int")
    organic = _pull(
        client,
        app,
        "organic_uninstall_events_report",
        partner_token,
        **_airbyte("2026-01-01", "2026-01-02"),
    )
    assert organic.status_code == 403
