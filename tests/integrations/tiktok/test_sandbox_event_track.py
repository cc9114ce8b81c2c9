"""The sandbox answers /event/track/ as the spec describes TikTok (§1, §3, §7)."""

from __future__ import annotations

import json

import pytest

from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import Fault, ReceivedEvent

PIXEL = "CQ8RT3JC77U4D5MLS2A0"
TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"
PATH = "/tiktok-sandbox/open_api/v1.3/event/track/"
HASH = "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def credentials():
    state.issue_token(sources=[PIXEL], token=TOKEN)


def event(**overrides):
    item = {"event": "Purchase", "event_time": 1740823512, "event_id": "order-88412"}
    item.update(overrides)
    return item


def body(*items, **overrides):
    payload = {"event_source": "web", "event_source_id": PIXEL, "data": list(items) or [event()]}
    payload.update(overrides)
    return payload


def post(client, payload, token=TOKEN, path=PATH):
    headers = {"HTTP_ACCESS_TOKEN": token} if token is not None else {}
    response = client.post(path, json.dumps(payload), content_type="application/json", **headers)
    assert response.status_code == 200  # TikTok answers errors with HTTP 200 too
    return response.json()


def test_it_accepts_a_valid_event_and_keeps_it(client):
    answer = post(client, body())
    assert answer["code"] == 0 and answer["message"] == "OK"
    assert len(answer["request_id"]) == 34
    assert ReceivedEvent.objects.get().event_id == "order-88412"


def test_it_accepts_the_path_without_a_trailing_slash(client):
    assert post(client, body(), path=PATH.rstrip("/"))["code"] == 0


def test_a_missing_token_is_40104(client):
    answer = post(client, body(), token=None)
    assert answer["code"] == 40104
    assert "Access-Token" in answer["message"]


def test_an_unknown_or_revoked_token_is_40105(client):
    assert post(client, body(), token="nope")["code"] == 40105
    state.revoke_token(TOKEN)
    assert post(client, body())["code"] == 40105


def test_a_token_of_another_pixel_is_40001(client):
    answer = post(client, body(event_source_id="OTHERPIXEL1"))
    assert answer["code"] == 40001
    assert "OTHERPIXEL1" in answer["message"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (body(event_source="website"), "event_source: Must be one of"),
        (body(event(event_time="1740823512")), "Batch.0.event_time: Not a valid integer."),
        (body(event(event_time=1740823512000)), "Batch.0.event_time: Must be in seconds"),
        (body(event(user={"email": "jane@example.com"})), "Batch.0.user.email: Must be a SHA-256"),
        (
            body(event(user={"phone": [HASH, HASH.upper()]})),
            "Batch.0.user.phone.1: Must be a SHA-256",
        ),
        (
            body(event(properties={"contents": [{"content_id": 1077}]})),
            "Batch.0.properties.contents.0.content_id: Not a valid string.",
        ),
        ({**body(), "limited_data_use": True}, "limited_data_use: Unknown field."),
        (body(event(event="")), "Batch.0.event: Not a valid string."),
        (body(data=[]), "data: Length must be between 1 and 1000."),
    ],
)
def test_it_rejects_invalid_bodies_with_the_field_path(client, payload, message):
    answer = post(client, payload)
    assert answer["code"] == 40002
    assert answer["message"].startswith(message)
    assert not ReceivedEvent.objects.exists()


def test_more_than_1000_events_reject_the_whole_request(client):
    answer = post(client, body(*[event(event_id=f"e{n}") for n in range(1001)]))
    assert answer["code"] == 40002
    assert not ReceivedEvent.objects.exists()


def test_repeats_within_48_hours_are_marked_duplicates(client):
    post(client, body(event(event_id="order-1")))
    post(client, body(event(event_id="order-1"), event(event_id="order-2")))
    flags = dict(ReceivedEvent.objects.values_list("event_id", "is_duplicate").order_by("id"))
    assert list(ReceivedEvent.objects.order_by("id").values_list("is_duplicate", flat=True)) == [
        False,
        True,
        False,
    ]
    assert flags["order-2"] is False


@pytest.mark.parametrize(
    ("kind", "code"), [("rate_limit", 40100), ("server_error", 50000), ("maintenance", 60001)]
)
def test_a_fault_answers_the_next_calls_then_clears(client, kind, code):
    state.add_fault(PIXEL, kind, remaining=2)
    assert [post(client, body())["code"] for _ in range(3)] == [code, code, 0]


def test_a_bad_gateway_fault_answers_html_502(client):
    state.add_fault(PIXEL, "bad_gateway")
    response = client.post(
        PATH, json.dumps(body()), content_type="application/json", HTTP_ACCESS_TOKEN=TOKEN
    )
    assert response.status_code == 502
    assert b"<html>" in response.content


def test_the_console_shows_what_tiktok_received(client, superuser):
    post(client, body(event(event_id="order-77")))
    client.force_login(superuser)
    page = client.get("/tiktok-sandbox/").content.decode()
    assert "order-77" in page
    assert TOKEN not in page


def test_the_console_needs_a_login(client):
    assert client.get("/tiktok-sandbox/").status_code == 302


def test_the_console_is_for_staff_only(client, analyst, marketer):
    """It shows every app's forwarded payloads, so app roles are not enough."""
    post(client, body(event(event_id="order-78")))
    for user in (analyst, marketer):
        client.force_login(user)
        page = client.get("/tiktok-sandbox/")
        assert "order-78" not in page.content.decode()
        assert page.status_code == 302 and "/admin/login/" in page["Location"]
        client.post("/tiktok-sandbox/console/faults/", {"target": PIXEL, "kind": "rate_limit"})
    assert not Fault.objects.exists()


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"value": "12.50"}, "Batch.0.properties.value: Not a valid number."),
        ({"value": True}, "Batch.0.properties.value: Not a valid number."),
        ({"currency": "eur"}, "Batch.0.properties.currency: Must be an ISO 4217 code"),
        ({"content_type": "sku"}, "Batch.0.properties.content_type: Must be one of: product"),
        (
            {"contents": [{"content_id": "A", "price": "12.50"}]},
            "Batch.0.properties.contents.0.price: Not a valid number.",
        ),
        (
            {"contents": [{"content_id": "A"}, {"content_id": "B", "quantity": "2"}]},
            "Batch.0.properties.contents.1.quantity: Not a valid integer.",
        ),
        (
            {"contents": [{"content_id": "A", "quantity": 2.5}]},
            "Batch.0.properties.contents.0.quantity: Not a valid integer.",
        ),
        (
            {"contents": [{"content_name": 7}]},
            "Batch.0.properties.contents.0.content_name: Not a valid string.",
        ),
        (
            {"contents": [{"content_category": ["shoes"]}]},
            "Batch.0.properties.contents.0.content_category: Not a valid string.",
        ),
        ({"content_ids": ["A", 7]}, "Batch.0.properties.content_ids.1: Not a valid string."),
        ({"num_items": "3"}, "Batch.0.properties.num_items: Not a valid integer."),
        ({"num_items": 3.5}, "Batch.0.properties.num_items: Not a valid integer."),
        ({"description": 42}, "Batch.0.properties.description: Not a valid string."),
        ({"query": 42}, "Batch.0.properties.query: Not a valid string."),
        ({"search_string": 42}, "Batch.0.properties.search_string: Not a valid string."),
        ({"order_id": 88412}, "Batch.0.properties.order_id: Not a valid string."),
        ({"shop_id": 7}, "Batch.0.properties.shop_id: Not a valid string."),
    ],
)
def test_it_types_event_properties_as_tiktok_does(client, properties, message):
    answer = post(client, body(event(properties=properties)))
    assert answer["code"] == 40002
    assert answer["message"].startswith(message)
    assert not ReceivedEvent.objects.exists()


def test_it_accepts_well_typed_properties(client):
    properties = {
        "value": 59.98,
        "currency": "GBP",
        "content_type": "product_group",
        "contents": [
            {
                "content_id": "SKU-1077",
                "content_name": "Trail socks",
                "content_category": "socks",
                "brand": "Peak",
                "price": 29.99,
                "quantity": 2,
            }
        ],
        "content_ids": ["SKU-1077"],
        "num_items": 2,
        "order_id": "88412",
        "shop_id": "7",
        "description": "Two pairs",
        "search_string": "socks",
        "query": "socks",
    }
    assert post(client, body(event(properties=properties)))["code"] == 0


def test_it_names_every_bad_item_with_its_own_problem(client):
    items = [event(event_id=f"e{n}") for n in range(5)]
    items[1]["properties"] = {"value": "12.50"}
    items[3]["event_time"] = "soon"
    items[4]["properties"] = {"contents": [{"content_id": 7}]}
    answer = post(client, body(*items))
    assert answer["code"] == 40002
    assert answer["message"].split("; ") == [
        "Batch.1.properties.value: Not a valid number.",
        "Batch.3.event_time: Not a valid integer.",
        "Batch.4.properties.contents.0.content_id: Not a valid string.",
    ]
    assert not ReceivedEvent.objects.exists()


def test_an_unnamed_errors_fault_answers_40002_without_item_paths(client):
    state.add_fault(PIXEL, "unnamed_errors")
    answer = post(client, body(event(event_time="soon")))
    assert answer["code"] == 40002
    assert "Batch." not in answer["message"]
    assert post(client, body(event(event_time="soon")))["message"].startswith("Batch.0.")
