"""The match keys each postback carries to TikTok (spec §1.3): app events carry the device their
user installed with, web events the browser's `_ttp` cookie. Sent over real HTTP to the sandbox,
asserted on what the sandbox received."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import InAppEvent
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import ReceivedEvent
from tests import factories
from tests.events.conftest import ANDROID_CHROME, IPHONE_SAFARI

TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"
PIXEL = "CQ8RT3JC77U4D5MLS2A0"
TIKTOK_APP_ID = "7301234567890123456"
IDFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
ZERO_IDFA = "00000000-0000-0000-0000-000000000000"
IDFV = "A1B2C3D4-1111-2222-3333-444455556666"
CALLBACK = "CB.E.C.P.run-club-42"
TTP = "2Nq7vKx1Yb0c3Zr8Tt5Ww9Pp4Ll"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def app_partner(keyed, tiktok_sandbox):
    state.register_event_source(TIKTOK_APP_ID, kind="app", name="Run Club")
    state.issue_token(sources=[TIKTOK_APP_ID], token=TOKEN)
    integration = factories.make_integration(
        keyed.app,
        "bytedanceglobal_int",
        is_active=True,
        in_app_postbacks_enabled=True,
        install_postbacks="all_sources",
        tiktok_app_id=TIKTOK_APP_ID,
    )
    factories.make_pixel(integration, pixel_code="", access_token=TOKEN)
    factories.make_mapping(integration, users_from="all_sources", including="values_and_revenue")
    return integration


@pytest.fixture
def run_club(ios_app, tiktok_sandbox):
    app_partner(ios_app, tiktok_sandbox)
    return ios_app


@pytest.fixture
def run_club_android(android_app, tiktok_sandbox):
    app_partner(android_app, tiktok_sandbox)
    return android_app


def tiktok_click(keyed, **overrides):
    fields = {
        "media_source": "bytedanceglobal_int",
        "campaign_id": "1780000000020000000",
        "ad_id": "1780000000020000300",
        "idfa": IDFA,
        "ttclid": CALLBACK,
        "occurred_at": timezone.now() - timedelta(minutes=20),
    }
    fields.update(overrides)
    return factories.make_touchpoint(keyed.app, **fields)


def installed(keyed, **fields):
    body = {
        "device_id": "af-runner-42",
        "ip": "198.51.100.23",
        "user_agent": IPHONE_SAFARI,
        "customer_user_id": "runner-42",
        **fields,
    }
    response = keyed.install(body)
    assert response.status_code == 202, response.content
    return response


def purchased(keyed, **fields):
    body = {
        "event_id": "sub-1",
        "event_name": "purchase",
        "device_id": "af-runner-42",
        "revenue": "9.99",
        "currency": "GBP",
        **fields,
    }
    response = keyed.event(body)
    assert response.status_code == 202, response.content
    return response


def received(event_name: str) -> dict:
    return ReceivedEvent.objects.get(event=event_name).payload


def test_an_app_purchase_carries_the_installs_idfa_ip_and_user_agent(run_club):
    tiktok_click(run_club)
    installed(run_club, idfa=IDFA.lower())
    purchased(run_club)
    purchase = received("Purchase")
    assert purchase["user"] == {
        "idfa": IDFA,
        "ip": "198.51.100.23",
        "user_agent": IPHONE_SAFARI,
        "external_id": [sha256("runner-42")],
    }
    assert purchase["ad"]["callback"] == CALLBACK


def test_an_app_install_carries_the_device_the_user_and_the_click_callback(run_club):
    tiktok_click(run_club)
    installed(run_club, idfa=IDFA, idfv=IDFV)
    install = received("InstallApp")
    assert install["user"] == {
        "idfa": IDFA,
        "idfv": IDFV,
        "ip": "198.51.100.23",
        "user_agent": IPHONE_SAFARI,
        "external_id": [sha256("runner-42")],
    }
    assert install["ad"] == {
        "callback": CALLBACK,
        "campaign_id": "1780000000020000000",
        "ad_id": "1780000000020000300",
    }


def test_the_events_own_device_ip_and_email_win_over_the_installs(run_club):
    installed(run_club, idfa=IDFA)
    other_idfa = "11111111-2222-3333-4444-555555555555"
    purchased(
        run_club,
        idfa=other_idfa,
        ip="203.0.113.99",
        user_agent="RunClub/4.12 CFNetwork/1494 Darwin/23.4.0",
        email="Runner@Example.com",
        phone="+44 7700 900123",
    )
    user = received("Purchase")["user"]
    assert (user["idfa"], user["ip"], user["user_agent"]) == (
        other_idfa.upper(),
        "203.0.113.99",
        "RunClub/4.12 CFNetwork/1494 Darwin/23.4.0",
    )
    assert user["email"] == [sha256("runner@example.com")]
    assert user["phone"] == [sha256("+447700900123")]


def test_an_android_purchase_carries_the_installs_gaid_in_lower_case(run_club_android):
    installed(run_club_android, gaid=GAID.upper(), user_agent=ANDROID_CHROME)
    purchased(run_club_android)
    user = received("Purchase")["user"]
    assert user["gaid"] == GAID
    assert "idfa" not in user
    assert user["user_agent"] == ANDROID_CHROME


def test_a_zeroed_idfa_is_not_sent_as_a_match_key(run_club):
    """iOS reports all zeros when the user declined tracking: that identifies nobody."""
    installed(run_club, idfa=ZERO_IDFA, idfv=IDFV)
    purchased(run_club)
    user = received("Purchase")["user"]
    assert "idfa" not in user
    assert user["idfv"] == IDFV


# --- web: the TikTok pixel's _ttp cookie ------------------------------------------------------


@pytest.fixture
def web_tiktok(web_shop, tiktok_sandbox):
    state.issue_token(sources=[PIXEL], token=TOKEN)
    integration = factories.make_integration(
        web_shop.app, is_active=True, in_app_postbacks_enabled=True
    )
    factories.make_pixel(integration, pixel_code=PIXEL, access_token=TOKEN)
    factories.make_mapping(integration, users_from="all_sources", including="values_and_revenue")
    return web_shop


def sdk_event(client, app, body):
    return client.post(
        f"/api/v1/sdk/{app.public_key}/events",
        data=json.dumps(body),
        content_type="text/plain;charset=UTF-8",
        HTTP_ORIGIN="https://shop.example.com",
        HTTP_USER_AGENT=IPHONE_SAFARI,
    )


def test_the_web_sdk_endpoint_stores_the_ttp_cookie_and_tiktok_gets_it(web_tiktok, client):
    response = sdk_event(
        client,
        web_tiktok.app,
        {
            "event_name": "purchase",
            "event_id": "order-1",
            "web_user_id": "wu-0123456789",
            "customer_user_id": "cust-1001",
            "ttclid": "E.C.P.web",
            "ttp": TTP,
            "revenue": 20,
        },
    )
    assert response.status_code == 202, response.content
    assert InAppEvent.objects.get().ttp == TTP
    user = received("Purchase")["user"]
    assert user == {
        "external_id": [sha256("cust-1001")],
        "ttclid": "E.C.P.web",
        "ttp": TTP,
        "ip": "127.0.0.1",
        "user_agent": IPHONE_SAFARI,
    }


def test_a_ttp_that_is_not_text_is_refused_and_nothing_is_stored(web_tiktok, client):
    response = sdk_event(
        client,
        web_tiktok.app,
        {"event_name": "purchase", "web_user_id": "wu-1", "event_id": "o-2", "ttp": {"a": 1}},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"ttp": ["must be a string."]}
    assert not InAppEvent.objects.exists()


def test_a_web_event_without_ip_uses_the_first_visits(web_tiktok):
    installed(web_tiktok, device_id="wu-visitor-7", web_user_id="wu-visitor-7")
    web_tiktok.event({"event_name": "purchase", "web_user_id": "wu-visitor-7", "event_id": "o-7"})
    user = received("Purchase")["user"]
    assert (user["ip"], user["user_agent"]) == ("198.51.100.23", IPHONE_SAFARI)


def test_a_zeroed_idfa_never_joins_another_users_install(run_club):
    """Two users who both declined tracking share the all-zero IDFA; the second one's purchase
    must not carry the first one's customer id, IP or attribution."""
    installed(run_club, idfa=ZERO_IDFA)
    purchased(run_club, device_id="af-someone-else", idfa=ZERO_IDFA, event_id="sub-2")
    event = InAppEvent.objects.get(event_id="sub-2")
    assert event.install_id is None
    user = received("Purchase")["user"]
    assert "external_id" not in user
    assert "ip" not in user
