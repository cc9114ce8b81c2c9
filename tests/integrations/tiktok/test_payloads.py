"""How one conversion is shaped for TikTok's /event/track/, checked by the sandbox over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.tiktok import events_api, payloads
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import ReceivedEvent
from tests import factories

TIKTOK_APP_ID = "7301234567890123456"
TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"

INSTALL = payloads.ForwardedEvent(
    event_name="InstallApp",
    event_time=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    event_id="install-6D92078A",
    ttclid="E.C.P.app-click",
    ip="203.0.113.7",
    user_agent="RunClub/4.12 CFNetwork/1494.0.7 Darwin/23.3.0",
    idfa="6D92078A-8246-4BA4-AE5B-76104861E7DC",
    attributed_campaign_id="1780000000020000000",
)


@pytest.fixture
def app_integration(tiktok_sandbox):
    app = factories.make_app(app_id="id1453847291", platform="ios", store_id="1453847291")
    integration = factories.make_integration(
        app, "bytedanceglobal_int", is_active=True, tiktok_app_id=TIKTOK_APP_ID
    )
    factories.make_pixel(integration, pixel_code="", access_token=TOKEN)
    state.issue_token(sources=[TIKTOK_APP_ID], token=TOKEN)
    return integration


def test_an_app_event_carries_the_click_id_as_ad_callback_not_user_ttclid(app_integration):
    item = payloads.event_item(app_integration, INSTALL)
    body = payloads.request_body(app_integration, [item])
    assert events_api.track(access_token=TOKEN, body=body).code == 0
    received = ReceivedEvent.objects.get().payload
    assert received["ad"] == {
        "callback": "E.C.P.app-click",
        "campaign_id": "1780000000020000000",
    }
    assert "ttclid" not in received["user"]
    assert received["user"]["idfa"] == "6D92078A-8246-4BA4-AE5B-76104861E7DC"
    assert received["app"]["app_id"] == "1453847291"


def test_a_web_event_keeps_ttclid_in_user(app):
    web = factories.make_integration(app, is_active=True)
    item = payloads.event_item(web, INSTALL)
    assert item["user"]["ttclid"] == "E.C.P.app-click"
    assert "ad" not in item


def web_purchase(value):
    return payloads.ForwardedEvent(
        event_name="Purchase",
        event_time=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        event_id="order-1",
        value=value,
    )


@pytest.mark.parametrize(
    ("value", "sent", "dropped"),
    [
        ({"num_items": "2"}, {"num_items": 2}, []),
        ({"num_items": 2.0}, {"num_items": 2}, []),
        ({"num_items": " 3 "}, {"num_items": 3}, []),
        ({"num_items": "2.5"}, {}, ["num_items"]),
        ({"num_items": True}, {}, ["num_items"]),
        ({"contents": [{"price": "1,299.00"}]}, {"contents": [{}]}, ["contents.0.price"]),
        ({"contents": [{"price": "$5"}]}, {"contents": [{}]}, ["contents.0.price"]),
        (
            {"contents": [{"price": ".5", "quantity": "+2"}]},
            {"contents": [{"price": 0.5, "quantity": 2}]},
            [],
        ),
        ({"contents": {"content_id": "A"}}, {}, ["contents"]),
        ({"content_ids": ["A", None, 7.0]}, {"content_ids": ["A", "7"]}, ["content_ids.1"]),
        ({"content_type": " Product_Group "}, {"content_type": "product_group"}, []),
        ({"order_id": False}, {}, ["order_id"]),
        ({"shop_id": 12.5}, {"shop_id": "12.5"}, []),
        ({"query": 404}, {"search_string": "404"}, []),
        ({"query": ["a"]}, {}, ["query"]),
    ],
)
def test_properties_are_typed_or_dropped_and_tiktok_takes_the_result(
    app_integration, value, sent, dropped
):
    web = factories.make_integration(app_integration.app, is_active=True)
    factories.make_pixel(web, pixel_code="CQ8RT3JC77U4D5MLS2A0", access_token=TOKEN)
    state.issue_token(sources=["CQ8RT3JC77U4D5MLS2A0"], token=TOKEN)
    mapped = payloads.map_properties(web_purchase(value))
    assert mapped.properties == sent
    assert [entry["property"] for entry in mapped.dropped] == dropped
    item = payloads.event_item(web, web_purchase(value))
    assert events_api.track(access_token=TOKEN, body=payloads.request_body(web, [item])).code == 0
