"""POST /api/v1/apps/<app id>/events: one event from a server, with the app's API key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.test import override_settings
from django.utils import timezone

from events.models import InAppEvent
from integrations.models import SeenEventName
from tests import factories

PURCHASE = {
    "event_id": "order-88412",
    "event_name": "purchase",
    "event_time": "2026-03-01T12:30:00Z",
    "customer_user_id": "cust-1001",
    "revenue": "59.98",
    "currency": "GBP",
    "value": {"order_id": "88412", "num_items": 2},
}
ALICE = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"


def test_it_accepts_an_event_and_stores_it(web_shop):
    response = web_shop.event(PURCHASE)
    assert response.status_code == 202
    assert response.json() == {
        "status": "accepted",
        "event_id": "order-88412",
        "media_source": "organic",
    }
    event = InAppEvent.objects.get(app=web_shop.app, event_id="order-88412")
    assert (event.event_name, event.revenue, event.currency) == (
        "purchase",
        Decimal("59.98"),
        "GBP",
    )
    assert event.event_time == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert event.value == {"order_id": "88412", "num_items": 2}


def test_a_repeated_event_id_is_a_duplicate_and_stored_once(web_shop):
    web_shop.event(PURCHASE)
    response = web_shop.event(PURCHASE | {"revenue": "1.00"})
    assert response.status_code == 202
    assert response.json() == {"status": "duplicate", "event_id": "order-88412"}
    assert InAppEvent.objects.get(event_id="order-88412").revenue == Decimal("59.98")


def test_it_derives_a_stable_event_id_when_none_is_sent(web_shop):
    body = {k: v for k, v in PURCHASE.items() if k != "event_id"}
    first = web_shop.event(body).json()
    second = web_shop.event(body).json()
    assert first["status"] == "accepted"
    assert first["event_id"].startswith("sb-")
    assert second == {"status": "duplicate", "event_id": first["event_id"]}
    assert InAppEvent.objects.filter(app=web_shop.app).count() == 1


def test_it_refuses_an_event_without_id_or_time(web_shop):
    response = web_shop.event({"event_name": "purchase"})
    assert response.status_code == 400
    assert "is required when event_id is absent" in response.json()["errors"]["event_time"][0]
    assert not InAppEvent.objects.exists()


def test_it_reports_every_bad_field_at_once_and_stores_nothing(web_shop):
    response = web_shop.event(
        PURCHASE | {"event_time": "2026-03-01 12:30", "currency": "XYZ", "ip": "300.1.1.1"}
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"event_time", "currency", "ip"}
    assert "no UTC offset" in errors["event_time"][0]
    assert not InAppEvent.objects.exists()


def test_it_hashes_email_and_phone_and_never_stores_them_plain(web_shop):
    web_shop.event(PURCHASE | {"email": " ALICE_abc@gmail.com ", "phone": "(+1)2133734253"})
    event = InAppEvent.objects.get()
    assert event.email_sha256 == ALICE
    assert event.phone_sha256 == "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd"
    stored = str(InAppEvent.objects.values().get())
    assert "alice_abc" not in stored.lower()
    assert "2133734253" not in stored


def test_it_keeps_an_already_hashed_email_as_it_is(web_shop):
    web_shop.event(PURCHASE | {"email": ALICE})
    assert InAppEvent.objects.get().email_sha256 == ALICE


def test_it_accepts_appsflyer_s2s_field_names(web_shop):
    response = web_shop.event(
        {
            "appsflyer_id": "1700000000000-1234567",
            "customer_user_id": "cust-1001",
            "eventName": "af_purchase",
            "eventValue": '{"af_revenue": "9.99", "af_content_id": "SKU-1"}',
            "eventCurrency": "USD",
            "eventTime": "2026-03-01 12:30:00.000",
            "bundleIdentifier": "com.example.app",
            "af_events_api": "true",
        }
    )
    assert response.status_code == 202, response.json()
    event = InAppEvent.objects.get()
    assert (event.event_name, event.device_id, event.revenue, event.currency) == (
        "af_purchase",
        "1700000000000-1234567",
        Decimal("9.99"),
        "USD",
    )
    assert event.event_time == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert "ignored_fields" not in response.json()


def test_it_names_fields_it_ignored(web_shop):
    response = web_shop.event(PURCHASE | {"evnet_name": "typo"})
    assert response.json()["ignored_fields"] == ["evnet_name"]


def test_revenue_without_currency_is_in_the_apps_currency(web_shop):
    web_shop.event({k: v for k, v in PURCHASE.items() if k != "currency"})
    assert InAppEvent.objects.get().currency == "EUR"


def test_the_event_copies_its_users_install_attribution(web_shop):
    install = factories.make_install(
        web_shop.app,
        device_id="wu-visitor-1",
        web_user_id="wu-visitor-1",
        installed_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),  # half an hour before PURCHASE
        media_source="tiktokweb_int",
        campaign="WEB_Spring_Sale",
        campaign_id="1780000000010000000",
        ttclid="E.C.P.abc",
        touch_type="click",
        match_type="ttclid",
    )
    web_shop.event(PURCHASE | {"web_user_id": "wu-visitor-1"})
    event = InAppEvent.objects.get()
    assert (event.install_id, event.media_source, event.campaign_id, event.ttclid) == (
        install.pk,
        "tiktokweb_int",
        "1780000000010000000",
        "E.C.P.abc",
    )
    assert event.match_type == "ttclid"


def test_an_event_within_30_days_of_a_reengagement_belongs_to_it(web_shop):
    when = timezone.now()
    factories.make_install(
        web_shop.app, device_id="d1", installed_at=when - timedelta(days=60), media_source="x_int"
    )
    factories.make_install(
        web_shop.app,
        device_id="d1",
        installed_at=when - timedelta(days=1),
        media_source="tiktokweb_int",
        is_reengagement=True,
    )
    web_shop.event(PURCHASE | {"device_id": "d1", "event_time": int(when.timestamp())})
    event = InAppEvent.objects.get()
    assert (event.media_source, event.is_reengagement) == ("tiktokweb_int", True)


def test_an_event_before_its_users_install_does_not_take_the_installs_attribution(web_shop):
    """A customer buys on the website, then days later installs through a TikTok ad: the
    earlier purchase was not driven by that ad."""
    installed_at = timezone.now().replace(microsecond=0)
    factories.make_install(
        web_shop.app,
        device_id="d-late",
        customer_user_id="cust-1001",
        installed_at=installed_at,
        media_source="tiktokweb_int",
        campaign="WEB_Spring_Sale",
        touch_type="click",
        touch_time=installed_at - timedelta(hours=1),
        match_type="ttclid",
    )
    event_time = installed_at - timedelta(days=3)
    response = web_shop.event(PURCHASE | {"event_time": event_time.isoformat()})
    assert response.json()["media_source"] == "organic"
    event = InAppEvent.objects.get()
    assert (event.media_source, event.campaign, event.touch_time, event.install_id) == (
        "organic",
        "",
        None,
        None,
    )


def test_an_event_before_its_users_install_is_attributed_by_its_own_click(web_shop):
    installed_at = timezone.now().replace(microsecond=0)
    factories.make_touchpoint(
        web_shop.app,
        web_user_id="wu-7",
        media_source="bytedanceglobal_int",
        campaign="Early_Click",
        occurred_at=installed_at - timedelta(days=3),
    )
    factories.make_install(
        web_shop.app,
        device_id="wu-7",
        web_user_id="wu-7",
        installed_at=installed_at,
        media_source="tiktokweb_int",
        campaign="Late_Click",
    )
    at_install = PURCHASE | {"event_id": "o-2", "event_time": installed_at.isoformat()}
    before = PURCHASE | {"event_time": (installed_at - timedelta(days=2)).isoformat()}
    web_shop.batch([before | {"web_user_id": "wu-7"}, at_install | {"web_user_id": "wu-7"}])
    campaigns = dict(InAppEvent.objects.values_list("event_id", "campaign"))
    assert campaigns == {"order-88412": "Early_Click", "o-2": "Late_Click"}


def test_an_event_of_a_user_without_install_is_attributed_through_their_click(web_shop):
    factories.make_touchpoint(
        web_shop.app,
        web_user_id="wu-9",
        media_source="tiktokweb_int",
        campaign="WEB_Retarget",
        occurred_at=timezone.now() - timedelta(days=2),
    )
    web_shop.event(PURCHASE | {"web_user_id": "wu-9", "event_time": timezone.now().isoformat()})
    event = InAppEvent.objects.get()
    assert (event.media_source, event.campaign, event.match_type, event.install_id) == (
        "tiktokweb_int",
        "WEB_Retarget",
        "web_user_id",
        None,
    )


def test_an_event_of_a_user_whose_click_is_too_old_is_organic(web_shop):
    factories.make_touchpoint(
        web_shop.app, web_user_id="wu-9", occurred_at=timezone.now() - timedelta(days=8)
    )
    web_shop.event(PURCHASE | {"web_user_id": "wu-9", "event_time": timezone.now().isoformat()})
    assert InAppEvent.objects.get().media_source == "organic"


def test_an_event_in_whole_seconds_right_after_its_click_is_attributed_to_it(web_shop):
    """A server stamps the purchase 12:00:07 for a click we recorded at 12:00:07.6."""
    clicked = timezone.now().replace(microsecond=600_000) - timedelta(minutes=1)
    factories.make_touchpoint(
        web_shop.app, ttclid="E.C.P.fast", media_source="tiktokweb_int", occurred_at=clicked
    )
    stamped = int(clicked.timestamp())  # whole seconds: 0.6 s before the click
    web_shop.event(PURCHASE | {"ttclid": "E.C.P.fast", "event_time": stamped})
    event = InAppEvent.objects.get()
    assert (event.media_source, event.match_type) == ("tiktokweb_int", "ttclid")


def test_an_event_keeps_the_ttclid_it_carried_when_organic(web_shop):
    web_shop.event(PURCHASE | {"ttclid": "E.C.P.unknown"})
    event = InAppEvent.objects.get()
    assert (event.media_source, event.ttclid) == ("organic", "E.C.P.unknown")


def test_it_records_the_event_names_the_app_sends(web_shop):
    web_shop.event(PURCHASE)
    web_shop.event(PURCHASE | {"event_id": "2", "event_name": "sign_up"})
    names = SeenEventName.objects.filter(app=web_shop.app).values_list("name", flat=True)
    assert sorted(names) == ["purchase", "sign_up"]


def test_it_answers_401_without_a_key(web_shop):
    response = web_shop.client.post(
        f"/api/v1/apps/{web_shop.app.app_id}/events", data=PURCHASE, content_type="application/json"
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in response.json()["detail"]


def test_it_answers_401_for_an_unknown_key(web_shop):
    response = web_shop.event(PURCHASE, key="sk_not-a-key")
    assert response.status_code == 401
    assert response.json()["detail"] == "Unknown or rotated API key."


def test_it_answers_401_for_a_key_that_was_rotated(web_shop):
    from integrations.services.apps import rotate_api_key

    old_key = web_shop.key
    rotate_api_key(web_shop.app, acting_user=None)
    assert web_shop.event(PURCHASE, key=old_key).status_code == 401


def test_it_answers_403_for_the_key_of_another_app(web_shop, ios_app):
    response = web_shop.event(PURCHASE, key=ios_app.key)
    assert response.status_code == 403
    assert response.json()["detail"] == "This API key belongs to another app."
    assert not InAppEvent.objects.exists()


def test_it_answers_400_for_malformed_json(web_shop):
    response = web_shop.event(None, raw=b'{"event_name": "purchase",')
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Malformed JSON: ")


def test_it_answers_400_for_an_empty_body(web_shop):
    response = web_shop.event(None, raw=b"")
    assert response.status_code == 400
    assert response.json()["detail"] == "The body is empty; send JSON."


def test_it_answers_400_for_nan_in_the_body(web_shop):
    response = web_shop.event(None, raw=b'{"event_name": "x", "revenue": NaN}')
    assert response.status_code == 400
    assert "NaN is not valid JSON" in response.json()["detail"]


@override_settings(EVENTS_MAX_BODY_BYTES=2048)
def test_it_answers_413_for_an_oversized_body(web_shop):
    response = web_shop.event(PURCHASE | {"value": {"note": "x" * 4000}})
    assert response.status_code == 413
    assert "limit is 2048" in response.json()["detail"]
    assert not InAppEvent.objects.exists()


def test_it_accepts_the_path_with_a_trailing_slash(web_shop):
    response = web_shop.post("events/", PURCHASE)
    assert response.status_code == 202


def test_it_answers_405_to_a_get(web_shop):
    response = web_shop.client.get(
        f"/api/v1/apps/{web_shop.app.app_id}/events", HTTP_AUTHORIZATION=f"Bearer {web_shop.key}"
    )
    assert response.status_code == 405
