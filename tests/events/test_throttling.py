"""429 with Retry-After once a key or a visitor sends more than its rate."""

from __future__ import annotations

import json

from django.conf import settings
from django.test import override_settings

from events.models import InAppEvent

TWO_PER_MINUTE = settings.REST_FRAMEWORK | {
    "DEFAULT_THROTTLE_RATES": {"events_api": "2/min", "events_sdk": "2/min"}
}


@override_settings(REST_FRAMEWORK=TWO_PER_MINUTE)
def test_a_key_over_its_rate_gets_429_with_retry_after(web_shop):
    for n in range(2):
        assert web_shop.event({"event_id": str(n), "event_name": "x"}).status_code == 202
    response = web_shop.event({"event_id": "3", "event_name": "x"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "throttled" in response.json()["detail"].lower()
    assert InAppEvent.objects.count() == 2


@override_settings(REST_FRAMEWORK=TWO_PER_MINUTE)
def test_each_key_has_its_own_allowance(web_shop, ios_app):
    for n in range(2):
        web_shop.event({"event_id": str(n), "event_name": "x"})
    assert ios_app.event({"event_id": "a", "event_name": "x"}).status_code == 202


@override_settings(REST_FRAMEWORK=TWO_PER_MINUTE)
def test_the_sdk_is_throttled_per_visitor(web_shop, client):
    def send(n: int):
        return client.post(
            f"/api/v1/sdk/{web_shop.app.public_key}/events",
            data=json.dumps({"event_id": str(n), "event_name": "x"}),
            content_type="text/plain",
            HTTP_ORIGIN="https://shop.example.com",
        )

    assert [send(n).status_code for n in range(3)] == [202, 202, 429]
