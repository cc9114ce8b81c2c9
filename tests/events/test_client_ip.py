"""Behind a proxy, as production runs: every endpoint that stores a visitor's IP (clicks,
impressions, the web SDK, the test event) takes it from X-Forwarded-For as NUM_PROXIES says,
and the web SDK's throttle counts per visitor, not per load balancer."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from django.urls import reverse

from attribution_site.client_ip import get_client_ip
from events.models import InAppEvent, Touchpoint
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import ReceivedEvent
from tests import factories
from tests.events.conftest import DESKTOP_CHROME

# Links answer only for partners the app has an integration with.
pytestmark = pytest.mark.usefixtures("tiktok_links")

BALANCER = "10.0.0.5"
VISITOR = "203.0.113.7"
ORIGIN = "https://shop.example.com"


@pytest.mark.parametrize(
    ("num_proxies", "forwarded_for", "expected"),
    [
        (0, None, BALANCER),
        (0, VISITOR, BALANCER),  # no proxy trusted: the header is the client's to forge
        (1, None, BALANCER),  # reached us without passing the proxy
        (1, "", BALANCER),
        (1, VISITOR, VISITOR),
        (1, f"198.51.100.1, {VISITOR}", VISITOR),  # the left one was forged by the client
        (1, f"  198.51.100.1 ,{VISITOR}  ", VISITOR),
        (2, f"198.51.100.1, {VISITOR}, 10.0.0.9", VISITOR),
        (2, VISITOR, BALANCER),  # fewer entries than proxies: not through both
        (1, "2001:DB8::0:1", "2001:db8::1"),
        (1, f"{VISITOR}:51234", VISITOR),  # some balancers add the port
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (1, "unknown", None),
        (1, "not an address", None),
        (1, "fe80::1%eth0", None),
        (1, "1.2.3.4, <script>", None),
        (1, "garbage, " + VISITOR, VISITOR),
    ],
)
def test_it_takes_the_address_the_outermost_trusted_proxy_saw(num_proxies, forwarded_for, expected):
    headers = {"REMOTE_ADDR": BALANCER}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    request = RequestFactory().get("/", **headers)
    with override_settings(NUM_PROXIES=num_proxies):
        assert get_client_ip(request) == expected


def test_a_garbled_remote_addr_gives_no_address():
    request = RequestFactory().get("/", REMOTE_ADDR="")
    with override_settings(NUM_PROXIES=0):
        assert get_client_ip(request) is None


@override_settings(NUM_PROXIES=1)
def test_a_click_behind_the_load_balancer_stores_the_visitors_ip(web_shop, client):
    response = client.get(
        f"/l/{web_shop.app.public_key}/tiktokweb_int?c=WEB_Spring_Sale&ttclid=E.C.P.abc",
        HTTP_USER_AGENT=DESKTOP_CHROME,
        HTTP_X_FORWARDED_FOR=f"198.51.100.1, {VISITOR}",
        REMOTE_ADDR=BALANCER,
    )
    assert response.status_code == 302
    assert Touchpoint.objects.get().ip == VISITOR


@override_settings(NUM_PROXIES=0)
def test_without_proxies_a_forged_header_is_ignored(web_shop, client):
    client.get(
        f"/l/{web_shop.app.public_key}/tiktokweb_int?c=WEB_Spring_Sale",
        HTTP_USER_AGENT=DESKTOP_CHROME,
        HTTP_X_FORWARDED_FOR=VISITOR,
        REMOTE_ADDR=BALANCER,
    )
    assert Touchpoint.objects.get().ip == BALANCER


@override_settings(NUM_PROXIES=1)
def test_an_impression_behind_the_load_balancer_stores_the_visitors_ip(web_shop, client):
    response = client.get(
        f"/i/{web_shop.app.public_key}/tiktokweb_int?c=WEB_Spring_Sale",
        HTTP_USER_AGENT=DESKTOP_CHROME,
        HTTP_X_FORWARDED_FOR=VISITOR,
        REMOTE_ADDR=BALANCER,
    )
    assert response.status_code == 204
    assert Touchpoint.objects.get().ip == VISITOR


def sdk_post(client, app, path, body, forwarded_for=VISITOR):
    return client.post(
        f"/api/v1/sdk/{app.public_key}/{path}",
        data=json.dumps(body),
        content_type="text/plain;charset=UTF-8",
        HTTP_ORIGIN=ORIGIN,
        HTTP_USER_AGENT=DESKTOP_CHROME,
        HTTP_X_FORWARDED_FOR=forwarded_for,
        REMOTE_ADDR=BALANCER,
    )


@override_settings(NUM_PROXIES=1)
def test_the_web_sdk_behind_the_load_balancer_stores_the_visitors_ip(web_shop, client):
    visit = {
        "web_user_id": "wu-0123456789",
        "visit_id": "visit-0001",
        "params": {"pid": "tiktokweb_int", "ttclid": "E.C.P.abc"},
    }
    assert sdk_post(client, web_shop.app, "visit", visit).status_code == 202
    event = {"event_name": "purchase", "event_id": "o-1", "web_user_id": "wu-0123456789"}
    assert sdk_post(client, web_shop.app, "events", event).status_code == 202
    assert Touchpoint.objects.get().ip == VISITOR
    assert InAppEvent.objects.get().ip == VISITOR


@override_settings(
    NUM_PROXIES=1,
    REST_FRAMEWORK=settings.REST_FRAMEWORK
    | {"DEFAULT_THROTTLE_RATES": {"events_api": "2/min", "events_sdk": "2/min"}},
)
def test_visitors_behind_one_load_balancer_are_throttled_apart(web_shop, client):
    def send(n, visitor):
        body = {"event_name": "x", "event_id": f"{visitor}-{n}"}
        return sdk_post(client, web_shop.app, "events", body, forwarded_for=visitor).status_code

    assert [send(n, VISITOR) for n in range(3)] == [202, 202, 429]
    assert send(0, "198.51.100.23") == 202


PIXEL = "CQ8RT3JC77U4D5MLS2A0"
TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"


@override_settings(NUM_PROXIES=1)
def test_the_test_event_behind_the_load_balancer_sends_the_users_ip(
    client, app, marketer, tiktok_sandbox
):
    integration = factories.make_integration(app)
    factories.make_pixel(integration, pixel_code=PIXEL, access_token=TOKEN)
    state.issue_token(sources=[PIXEL], token=TOKEN)
    client.force_login(marketer)
    client.post(
        reverse("integrations:test-event", args=[app.app_id, integration.pk]),
        {"test_event_code": "TEST12345", "event_name": "ViewContent"},
        HTTP_X_FORWARDED_FOR=VISITOR,
        REMOTE_ADDR=BALANCER,
    )
    assert ReceivedEvent.objects.get().payload["user"]["ip"] == VISITOR
