"""The web SDK's endpoints: the public key, an origin of the app's domains, CORS."""

from __future__ import annotations

import json

from events.models import InAppEvent, Install, Touchpoint
from tests import factories
from tests.events.conftest import IPHONE_SAFARI

ORIGIN = "https://shop.example.com"
VISIT = {
    "web_user_id": "wu-0123456789",
    "visit_id": "visit-0123456789",
    "params": {"pid": "tiktokweb_int", "c": "WEB_Spring_Sale", "ttclid": "E.C.P.sdk"},
    "url": "https://shop.example.com/?pid=tiktokweb_int&c=WEB_Spring_Sale&ttclid=E.C.P.sdk",
    "referrer": "https://www.tiktok.com/",
}


def sdk_post(client, app, path: str, body, origin: str | None = ORIGIN):
    headers = {"HTTP_USER_AGENT": IPHONE_SAFARI}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    return client.post(
        f"/api/v1/sdk/{app.public_key}/{path}",
        data=json.dumps(body),
        content_type="text/plain;charset=UTF-8",
        **headers,
    )


def test_a_landing_visit_records_the_click_and_the_first_visit(web_shop, client):
    response = sdk_post(client, web_shop.app, "visit", VISIT)
    assert response.status_code == 202
    body = response.json()
    assert body["click_recorded"] is True
    assert body["click_lookback_days"] == 7
    assert body["install"]["attribution"]["media_source"] == "tiktokweb_int"
    touch = Touchpoint.objects.get()
    assert (touch.web_user_id, touch.ttclid, touch.user_agent, touch.ip) == (
        "wu-0123456789",
        "E.C.P.sdk",
        IPHONE_SAFARI,
        "127.0.0.1",
    )
    install = Install.objects.get()
    assert (install.device_id, install.touchpoint_id, install.match_type) == (
        "wu-0123456789",
        touch.pk,
        "ttclid",
    )


def test_a_retried_visit_is_stored_once(web_shop, client):
    sdk_post(client, web_shop.app, "visit", VISIT)
    body = sdk_post(client, web_shop.app, "visit", VISIT).json()
    assert body["install"]["status"] == "duplicate"
    assert (Touchpoint.objects.count(), Install.objects.count()) == (1, 1)


def test_a_visit_through_our_link_ties_the_links_click_to_the_visitor(web_shop, client):
    link_click = factories.make_touchpoint(web_shop.app, click_id="abcdef0123456789")
    visit = VISIT | {"params": {"pid": "tiktokweb_int", "sb_click": "abcdef0123456789"}}
    sdk_post(client, web_shop.app, "visit", visit)
    link_click.refresh_from_db()
    assert link_click.web_user_id == "wu-0123456789"
    assert Touchpoint.objects.count() == 1
    assert Install.objects.get().touchpoint_id == link_click.pk


def test_the_apps_integration_sets_how_long_the_sdk_keeps_the_click(web_shop, client):
    factories.make_integration(web_shop.app, "tiktokweb_int", click_lookback_days=28)
    body = sdk_post(client, web_shop.app, "visit", VISIT).json()
    assert body["click_lookback_days"] == 28


def test_an_event_from_the_sdk_takes_ip_and_user_agent_from_the_browser(web_shop, client):
    sdk_post(client, web_shop.app, "visit", VISIT)
    response = sdk_post(
        client,
        web_shop.app,
        "events",
        {"event_name": "purchase", "event_id": "o-1", "web_user_id": "wu-0123456789"},
    )
    assert response.status_code == 202
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    event = InAppEvent.objects.get()
    assert (event.media_source, event.ip, event.user_agent) == (
        "tiktokweb_int",
        "127.0.0.1",
        IPHONE_SAFARI,
    )


def test_it_refuses_an_origin_that_is_not_one_of_the_apps_domains(web_shop, client):
    response = sdk_post(client, web_shop.app, "visit", VISIT, origin="https://evil.example")
    assert response.status_code == 403
    assert "https://evil.example is not one of this app's domains" in response.json()["detail"]
    assert not Touchpoint.objects.exists()


def test_it_refuses_a_request_without_an_origin(web_shop, client):
    response = sdk_post(client, web_shop.app, "events", {"event_name": "x"}, origin=None)
    assert response.status_code == 403


def test_signalboards_own_pages_may_use_the_sdk(web_shop, client):
    response = sdk_post(client, web_shop.app, "visit", VISIT, origin="http://testserver")
    assert response.status_code == 202


def test_it_answers_404_for_an_unknown_public_key(db, client):
    response = client.post(
        "/api/v1/sdk/pk_nope/visit", data="{}", content_type="text/plain", HTTP_ORIGIN=ORIGIN
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "Unknown public key."}


def test_it_answers_a_preflight_for_an_allowed_origin(web_shop, client):
    response = client.options(f"/api/v1/sdk/{web_shop.app.public_key}/events", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_it_explains_a_bad_visit(web_shop, client):
    response = sdk_post(client, web_shop.app, "visit", {"web_user_id": "short", "params": []})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"web_user_id", "visit_id", "params"}
