"""The raw-data Pull API as the Singer tap `tap-appsflyer` (1.0.0) reads it: minute-precision
30-day windows without a timezone, `Accept: application/json`, and the CSV read by position
with the tap's own field names after skipping the header row."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from events.models import ORGANIC
from reporting.api_tokens import create_api_token
from reporting.raw_data_columns import BASE_COLUMNS
from tests import factories

# tap_appsflyer/streams/abstracts.py `fieldnames` ("This order matters"), in order.
TAP_FIELDNAMES = [
    "attributed_touch_type",
    "attributed_touch_time",
    "install_time",
    "event_time",
    "event_name",
    "event_value",
    "event_revenue",
    "event_revenue_currency",
    "event_revenue_usd",
    "event_source",
    "is_receipt_validated",
    "af_prt",
    "media_source",
    "af_channel",
    "af_keywords",
    "campaign",
    "af_c_id",
    "af_adset",
    "af_adset_id",
    "af_ad",
    "af_ad_id",
    "af_ad_type",
    "af_siteid",
    "af_sub_siteid",
    "af_sub1",
    "af_sub2",
    "af_sub3",
    "af_sub4",
    "af_sub5",
    "af_cost_model",
    "af_cost_value",
    "af_cost_currency",
    "contributor1_af_prt",
    "contributor1_media_source",
    "contributor1_campaign",
    "contributor1_touch_type",
    "contributor1_touch_time",
    "contributor2_af_prt",
    "contributor2_media_source",
    "contributor2_campaign",
    "contributor2_touch_type",
    "contributor2_touch_time",
    "contributor3_af_prt",
    "contributor3_media_source",
    "contributor3_campaign",
    "contributor3_touch_type",
    "contributor3_touch_time",
    "region",
    "country_code",
    "state",
    "city",
    "postal_code",
    "dma",
    "ip",
    "wifi",
    "operator",
    "carrier",
    "language",
    "appsflyer_id",
    "advertising_id",
    "idfa",
    "android_id",
    "customer_user_id",
    "imei",
    "idfv",
    "platform",
    "device_type",
    "os_version",
    "app_version",
    "sdk_version",
    "app_id",
    "app_name",
    "bundle_id",
    "is_retargeting",
    "retargeting_conversion_type",
    "af_attribution_lookback",
    "af_reengagement_window",
    "is_primary_attribution",
    "user_agent",
    "http_referrer",
    "original_url",
]
# The tap's request (IncrementalStream.sync): no timezone, `%Y-%m-%d %H:%M`.
TAP_WINDOW = {"from": "2026-03-01 00:00", "to": "2026-03-31 00:00"}


def _tap_read(client, app, report, token) -> list[dict[str, str]]:
    url = reverse("reporting:pull-api", args=[app.app_id, report])
    response = client.get(
        url,
        TAP_WINDOW,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert response.status_code == 200, response.content
    body = b"".join(response.streaming_content).decode()
    reader = csv.DictReader(io.StringIO(body), TAP_FIELDNAMES)
    next(reader)  # the tap skips the header row
    return list(reader)


@pytest.fixture
def token(analyst) -> str:
    return create_api_token(acting_user=analyst, name="tap-appsflyer")[1]


def test_our_columns_are_in_the_order_the_tap_reads_them_by_position():
    assert [name for _, name in BASE_COLUMNS] == TAP_FIELDNAMES


@pytest.mark.parametrize(
    ("report", "media_source", "replication_key"),
    [
        ("installs_report", "tiktokweb_int", "attributed_touch_time"),
        ("organic_installs_report", ORGANIC, "event_time"),
    ],
)
def test_the_tap_reads_installs_with_its_replication_key(
    client, app, token, report, media_source, replication_key
):
    factories.make_install(
        app,
        installed_at=datetime(2026, 3, 10, 12, 0, tzinfo=UTC),
        touch_time=datetime(2026, 3, 10, 11, 58, tzinfo=UTC),
        touch_type="click",
        media_source=media_source,
        campaign="Spring",
        device_id="device-7",
    )
    [record] = _tap_read(client, app, report, token)
    assert record[replication_key].startswith("2026-03-10 1")
    assert (record["media_source"], record["appsflyer_id"]) == (media_source, "device-7")
    assert record["install_time"] == "2026-03-10 12:00:00"


def test_the_tap_reads_in_app_events(client, app, token):
    factories.make_event(
        app,
        event_time=datetime(2026, 3, 12, 9, 30, tzinfo=UTC),
        media_source="tiktokweb_int",
        device_id="device-8",
    )
    [record] = _tap_read(client, app, "in_app_events_report", token)
    assert (record["event_time"], record["event_name"], record["appsflyer_id"]) == (
        "2026-03-12 09:30:00",
        "purchase",
        "device-8",
    )
