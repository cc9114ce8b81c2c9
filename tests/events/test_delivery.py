"""Delivering postbacks to the TikTok sandbox over real HTTP: the payload, batching, retries,
pauses, dead letters, replays, concurrent workers and a worker killed mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events import tasks
from events.models import InAppEvent, Postback
from events.services import delivery
from events.services.ingest import record_events
from integrations.models import Integration, Pixel
from integrations.services import setup
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import ReceivedEvent, ReceivedRequest
from tests import factories

PIXEL = "CQ8RT3JC77U4D5MLS2A0"
TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"
ROOT = Path(__file__).resolve().parents[2]
S = Postback.Status


@pytest.fixture
def shop(app, tiktok_sandbox):
    state.issue_token(sources=[PIXEL], token=TOKEN)
    return app


@pytest.fixture
def tiktok(shop):
    integration = factories.make_integration(shop, is_active=True, in_app_postbacks_enabled=True)
    factories.make_pixel(integration, pixel_code=PIXEL, access_token=TOKEN)
    factories.make_mapping(integration, users_from="all_sources", including="values_and_revenue")
    return integration


@pytest.fixture
def held(monkeypatch):
    """Plan postbacks without delivering them on commit, so the test decides when workers run."""
    monkeypatch.setattr(tasks, "enqueue_delivery", lambda: None)


def purchase(n: int = 0, **overrides):
    event = {
        "event_id": f"order-{n}",
        "event_name": "purchase",
        "event_time": timezone.now().isoformat(),
        "web_user_id": f"wu-{n}",
        "revenue": "12.50",
        "currency": "EUR",
    }
    event.update(overrides)
    return event


def track_requests():
    return ReceivedRequest.objects.filter(path__contains="event/track").order_by("id")


def make_due(**filters):
    """Move the clock: retries scheduled for later become due now."""
    Postback.objects.filter(**filters).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_web_purchase_arrives_shaped_as_the_spec_example(shop, tiktok):
    at = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    factories.make_touchpoint(
        shop,
        web_user_id="wu-jane",
        ttclid="E.C.P.v2Xq9sLkPz1",
        occurred_at=timezone.now() - timedelta(minutes=30),
    )
    record_events(
        shop,
        [
            {
                "event_id": "order-88412",
                "event_name": "purchase",
                "event_time": int(at.timestamp()),
                "web_user_id": "wu-jane",
                "email": " Jane.Doe@Example.com ",
                "phone": "+44 7700 900123",
                "customer_user_id": "cust-1001",
                "ip": "203.0.113.24",
                "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X)",
                "url": "https://shop.example.com/checkout/thanks?ttclid=E.C.P.v2Xq9sLkPz1",
                "referrer": "https://shop.example.com/checkout",
                "revenue": 59.98,
                "currency": "GBP",
                "value": {
                    "content_type": "product",
                    "order_id": 88412,
                    "contents": [
                        {
                            "content_id": 1077,
                            "content_name": "Trail socks",
                            "price": 29.99,
                            "quantity": 2,
                        }
                    ],
                    "coupon": "internal-only",
                },
            }
        ],
    )
    request = track_requests().get()
    assert request.response_code == 0
    assert {k: v for k, v in request.body.items() if k != "data"} == {
        "event_source": "web",
        "event_source_id": PIXEL,
        "partner_name": "Signalboard",
    }
    assert request.body["data"] == [
        {
            "event": "Purchase",
            "event_time": int(at.timestamp()),
            "event_id": "order-88412",
            "user": {
                "email": ["86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"],
                "phone": ["a8acc3a90a7b4e4dc65e93db9240ed26523050ef754d63b75b5161de76781436"],
                "external_id": ["40ba61f5c6b64e4f3f389c4b7a244f2b176115cbf452d1d81cf9bf70ebdf739d"],
                "ttclid": "E.C.P.v2Xq9sLkPz1",
                "ip": "203.0.113.24",
                "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X)",
            },
            "properties": {
                "content_type": "product",
                "contents": [
                    {
                        "content_id": "1077",
                        "content_name": "Trail socks",
                        "price": 29.99,
                        "quantity": 2,
                    }
                ],
                "order_id": "88412",
                "value": 59.98,
                "currency": "GBP",
            },
            "page": {
                "url": "https://shop.example.com/checkout/thanks?ttclid=E.C.P.v2Xq9sLkPz1",
                "referrer": "https://shop.example.com/checkout",
            },
            "limited_data_use": False,
        }
    ]
    postback = Postback.objects.get()
    assert postback.status == S.DELIVERED
    assert postback.response_request_id == request.request_id
    assert TOKEN not in str(postback.request_body)


@pytest.mark.parametrize(
    ("field", "sent", "expected"),
    [
        (
            "email",
            " ALICE_abc@gmail.com ",
            "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f",
        ),
        (
            "phone",
            "(+1)2133734253",
            "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd",
        ),
        (
            "customer_user_id",
            "user_123",
            "80fba0ae1c48e3978e43e4efc365e14e12ea0c830ba8ba5b9a2dafc7e3f2ab8b",
        ),
    ],
)
def test_tiktoks_hash_vectors_arrive_hashed_once(shop, tiktok, field, sent, expected):
    record_events(shop, [purchase(1, **{field: sent})])
    user = ReceivedEvent.objects.get().payload["user"]
    key = "external_id" if field == "customer_user_id" else field
    assert user[key] == [expected]


def test_an_already_hashed_email_is_not_hashed_again(shop, tiktok):
    hashed = "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"
    record_events(shop, [purchase(1, email=hashed)])
    assert ReceivedEvent.objects.get().payload["user"]["email"] == [hashed]


def test_ccpa_sets_limited_data_use_on_every_item(shop, tiktok):
    Integration.objects.filter(pk=tiktok.pk).update(ccpa_limited_data_use=True)
    record_events(shop, [purchase(1), purchase(2)])
    assert set(ReceivedEvent.objects.values_list("limited_data_use", flat=True)) == {True}


def test_values_without_revenue_leave_value_and_currency_home(shop, tiktok):
    tiktok.mappings.update(including="values")
    record_events(shop, [purchase(1, value={"order_id": "A1", "num_items": 2})])
    assert ReceivedEvent.objects.get().payload["properties"] == {"order_id": "A1", "num_items": 2}


def test_no_values_send_no_properties(shop, tiktok):
    tiktok.mappings.update(including="no_values")
    record_events(shop, [purchase(1, value={"order_id": "A1"})])
    assert "properties" not in ReceivedEvent.objects.get().payload


def test_text_beyond_ascii_arrives_as_written_and_is_kept_with_the_row(shop, tiktok):
    name = "Chaussettes d’été 🧦 — 登山袜"
    record_events(
        shop,
        [purchase(1, value={"contents": [{"content_id": "sock-1", "content_name": name}]})],
    )
    sent = track_requests().get().body["data"][0]
    assert sent["properties"]["contents"] == [{"content_id": "sock-1", "content_name": name}]
    postback = Postback.objects.get()
    assert postback.status == S.DELIVERED
    assert postback.request_body["data"] == [sent]
    assert postback.request_body["event_source_id"] == PIXEL


def test_an_event_whose_time_was_edited_after_planning_is_still_delivered(shop, tiktok, held):
    """Postbacks carry their event's time (the events' partition key on PostgreSQL); an edit
    of the event (in Django's admin, say) moves it to another month's partition."""
    record_events(shop, [purchase(1)])
    moved = timezone.now().replace(microsecond=0) - timedelta(days=45)
    InAppEvent.objects.filter(event_id="order-1").update(event_time=moved)
    report = delivery.deliver_due_postbacks()
    assert report.delivered == 1
    assert track_requests().get().body["data"][0]["event_time"] == int(moved.timestamp())
    if connection.vendor == "postgresql":  # the copy is only read there, and put right
        assert Postback.objects.get().event_time == moved


def test_a_postback_whose_event_was_deleted_fails_and_the_others_go_out(shop, tiktok, held):
    record_events(shop, [purchase(1), purchase(2)])
    gone = InAppEvent.objects.get(event_id="order-1")
    with connection.cursor() as cursor:  # under the ORM, which would take the postback too
        cursor.execute("DELETE FROM events_inappevent WHERE id = %s", [gone.pk])
    report = delivery.deliver_due_postbacks()
    assert (report.delivered, report.failed) == (1, 1)
    orphan = Postback.objects.get(event_id=gone.pk)
    assert orphan.status == S.FAILED and "no longer exists" in orphan.response_message
    assert [item["event_id"] for item in track_requests().get().body["data"]] == ["order-2"]


def test_2500_events_go_out_as_three_requests(shop, tiktok, held):
    record_events(shop, [purchase(n) for n in range(1000)])
    record_events(shop, [purchase(n) for n in range(1000, 2000)])
    record_events(shop, [purchase(n) for n in range(2000, 2500)])
    report = delivery.deliver_due_postbacks()
    assert report.delivered == 2500
    assert [len(r.body["data"]) for r in track_requests()] == [1000, 1000, 500]
    assert Postback.objects.filter(status=S.DELIVERED, batch_size__in=[1000, 500]).count() == 2500


def test_batches_never_mix_pixels(shop, tiktok, held):
    other_app = factories.make_app()
    other = factories.make_integration(other_app, is_active=True, in_app_postbacks_enabled=True)
    factories.make_pixel(other, pixel_code="OTHERPIXEL1", access_token="t" * 40)
    factories.make_mapping(other, users_from="all_sources")
    state.issue_token(sources=["OTHERPIXEL1"], token="t" * 40)
    record_events(shop, [purchase(1)])
    record_events(other_app, [purchase(2)])
    delivery.deliver_due_postbacks()
    assert sorted(r.body["event_source_id"] for r in track_requests()) == [PIXEL, "OTHERPIXEL1"]


def test_test_events_never_share_a_request_with_live_ones(shop, tiktok, held):
    record_events(shop, [purchase(1), purchase(2)])
    Postback.objects.filter(event__event_id="order-2").update(test_event_code="TEST123")
    delivery.deliver_due_postbacks()
    bodies = [r.body for r in track_requests()]
    assert sorted((b.get("test_event_code", ""), len(b["data"])) for b in bodies) == [
        ("", 1),
        ("TEST123", 1),
    ]


def test_rate_limited_three_times_then_delivered_with_growing_backoff(shop, tiktok):
    state.add_fault(PIXEL, "rate_limit", remaining=3)
    record_events(shop, [purchase(1)])
    delays = []
    for _ in range(3):
        postback = Postback.objects.get()
        assert postback.status == S.PENDING
        delays.append((postback.next_attempt_at - postback.last_attempt_at).total_seconds())
        make_due()
        delivery.deliver_due_postbacks()
    postback = Postback.objects.get()
    assert postback.status == S.DELIVERED
    assert [entry["code"] for entry in postback.attempt_log] == [40100, 40100, 40100, 0]
    assert postback.attempts == 4
    assert 48 <= delays[0] <= 72 and 240 <= delays[1] <= 360 and 1440 <= delays[2] <= 2160
    assert ReceivedEvent.objects.get().event_id == "order-1"


def test_the_attempt_log_keeps_the_last_20_attempts_newest_last(shop, tiktok, held):
    record_events(shop, [purchase(1)])
    earlier = [
        {"at": f"2026-01-{day:02d}T00:00:00+00:00", "code": 50002, "http": 200, "message": "old"}
        for day in range(1, 20)
    ]
    Postback.objects.update(attempt_log=earlier)
    state.add_fault(PIXEL, "rate_limit", remaining=1)
    delivery.deliver_due_postbacks()
    make_due()
    delivery.deliver_due_postbacks()
    postback = Postback.objects.get()
    assert postback.status == S.DELIVERED
    log = postback.attempt_log
    # 19 earlier entries and two new ones: the oldest went.
    assert len(log) == 20
    assert [entry["at"][:10] for entry in log[:18]] == [f"2026-01-{d:02d}" for d in range(2, 20)]
    limited, delivered = log[-2:]
    assert (limited["code"], limited["http"]) == (40100, 200)
    assert limited["message"] and limited["message"] != delivered["message"]
    assert delivered == {
        "at": postback.delivered_at.isoformat(),
        "code": 0,
        "http": 200,
        "message": postback.response_message[:200],
        "request_id": postback.response_request_id,
    }
    assert delivered["request_id"]


@pytest.mark.parametrize("fault", ["bad_gateway", "server_error", "maintenance"])
def test_gateway_pages_and_tiktok_errors_are_retried(shop, tiktok, fault):
    state.add_fault(PIXEL, fault)
    record_events(shop, [purchase(1)])
    assert Postback.objects.get().status == S.PENDING
    make_due()
    delivery.deliver_due_postbacks()
    assert Postback.objects.get().status == S.DELIVERED


def test_a_timeout_is_retried_and_tiktok_deduplicates_the_resend(shop, tiktok):
    state.add_fault(PIXEL, "hang", hang_seconds=1.5)
    with override_settings(TIKTOK_HTTP_TIMEOUT=1):
        record_events(shop, [purchase(1)])
    postback = Postback.objects.get()
    assert postback.status == S.PENDING
    assert "did not answer in time" in postback.response_message
    deadline = time.monotonic() + 5
    while not ReceivedEvent.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    make_due()
    delivery.deliver_due_postbacks()
    assert Postback.objects.get().status == S.DELIVERED
    assert list(ReceivedEvent.objects.order_by("id").values_list("is_duplicate", flat=True)) == [
        False,
        True,
    ]


def test_a_revoked_token_pauses_the_integration_until_it_is_replaced(shop, tiktok, marketer):
    state.revoke_token(TOKEN)
    record_events(shop, [purchase(1)])
    tiktok.refresh_from_db()
    assert tiktok.needs_attention and tiktok.attention_code == 40105
    assert "40105" in tiktok.attention_reason
    postback = Postback.objects.get()
    assert postback.status == S.PENDING  # waiting, not lost
    record_events(shop, [purchase(2)])
    make_due()
    assert delivery.deliver_due_postbacks().claimed == 0
    assert track_requests().count() == 1

    new_token = state.issue_token(sources=[PIXEL])
    setup.update_integration_settings(
        tiktok, acting_user=marketer, is_active=True, settings={}, new_access_token=new_token
    )
    delivery.deliver_due_postbacks()
    assert Postback.objects.filter(status=S.DELIVERED).count() == 2


@override_settings(POSTBACK_RETRY_SCHEDULE=[60, 300])
def test_pauses_for_credentials_use_up_no_attempts_and_a_resume_sends_at_once(
    shop, tiktok, marketer
):
    state.add_fault(PIXEL, "rate_limit")
    record_events(shop, [purchase(1)])  # attempt 1: rate limited, retried in about a minute
    assert Postback.objects.get().attempts == 1
    state.revoke_token(TOKEN)
    make_due()
    for round_number in range(3):
        if round_number:
            setup.resume_deliveries(tiktok, acting_user=marketer)  # nothing fixed
        report = delivery.deliver_due_postbacks()  # no clock moved: due as soon as resumed
        assert (report.claimed, report.paused) == (1, 1)
        tiktok.refresh_from_db()
        assert tiktok.needs_attention
        postback = Postback.objects.get()
        assert (postback.status, postback.attempts) == (S.PENDING, 1)

    new_token = state.issue_token(sources=[PIXEL])
    setup.update_integration_settings(
        tiktok, acting_user=marketer, is_active=True, settings={}, new_access_token=new_token
    )
    report = delivery.deliver_due_postbacks()
    postback = Postback.objects.get()
    # Attempt 2 of 3 delivered it: the three pauses left the one retry it had in hand.
    assert (report.delivered, postback.status, postback.attempts) == (1, S.DELIVERED, 2)


def test_a_row_waiting_for_its_retry_goes_out_at_once_when_the_integration_resumes(
    shop, tiktok, marketer
):
    state.add_fault(PIXEL, "server_error")
    record_events(shop, [purchase(1)])
    waiting = Postback.objects.get()
    assert waiting.status == S.PENDING and waiting.next_attempt_at > timezone.now()
    state.revoke_token(TOKEN)
    record_events(shop, [purchase(2)])  # this batch meets the revoked token: paused
    tiktok.refresh_from_db()
    assert tiktok.needs_attention

    new_token = state.issue_token(sources=[PIXEL])
    setup.update_integration_settings(
        tiktok, acting_user=marketer, is_active=True, settings={}, new_access_token=new_token
    )
    delivery.deliver_due_postbacks()
    assert dict(Postback.objects.values_list("event__event_id", "status")) == {
        "order-1": S.DELIVERED,
        "order-2": S.DELIVERED,
    }
    assert dict(Postback.objects.values_list("event__event_id", "attempts")) == {
        "order-1": 2,
        "order-2": 1,
    }


def test_a_bad_field_fails_only_that_event(shop, tiktok, held):
    record_events(shop, [purchase(1), purchase(2), purchase(3)])
    # A stored value TikTok refuses: a broken email hash (TikTok wants 64 lowercase hex).
    shop.events.filter(event_id="order-2").update(email_sha256="NOT-A-HASH")
    delivery.deliver_due_postbacks()
    statuses = dict(Postback.objects.values_list("event__event_id", "status"))
    assert statuses == {"order-1": S.DELIVERED, "order-2": S.FAILED, "order-3": S.DELIVERED}
    failed = Postback.objects.get(event__event_id="order-2")
    assert failed.response_code == 40002
    assert "Batch.1.user.email" in failed.response_message


@override_settings(POSTBACK_RETRY_SCHEDULE=[1, 1])
def test_after_the_last_attempt_it_is_dead_lettered_and_a_replay_delivers_it(
    shop, tiktok, marketer
):
    state.add_fault(PIXEL, "server_error", remaining=3)
    record_events(shop, [purchase(1)])
    for _ in range(2):
        make_due()
        delivery.deliver_due_postbacks()
    postback = Postback.objects.get()
    assert postback.status == S.DEAD and postback.attempts == 3
    assert delivery.requeue_postbacks(tiktok, [postback.pk], acting_user=marketer) == 1
    postback.refresh_from_db()
    assert postback.status == S.DELIVERED
    assert postback.attempts == 1


def test_claims_of_two_workers_never_overlap(shop, tiktok, held):
    record_events(shop, [purchase(n) for n in range(30)])
    first = delivery.claim_due_postbacks(worker="a", limit=20)
    second = delivery.claim_due_postbacks(worker="b", limit=20)
    assert len(first) == 20 and len(second) == 10
    assert not set(first) & set(second)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serialises writers; needs real concurrency"
)
def test_concurrent_workers_deliver_each_postback_once(shop, tiktok, held):
    record_events(shop, [purchase(n) for n in range(600)])
    reports = []

    def work(name: str) -> None:
        try:
            reports.append(delivery.deliver_due_postbacks(worker=name))
        finally:
            connection.close()

    with override_settings(POSTBACK_CLAIM_LIMIT=50):
        threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(report.delivered for report in reports) == 600
    assert ReceivedEvent.objects.count() == 600
    assert not ReceivedEvent.objects.filter(is_duplicate=True).exists()


def test_a_dead_workers_claim_is_taken_over_after_its_lease(shop, tiktok, held):
    record_events(shop, [purchase(1)])
    delivery.claim_due_postbacks(worker="crashed", limit=10)  # and then it died
    assert delivery.deliver_due_postbacks(worker="survivor").claimed == 0
    Postback.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert delivery.deliver_due_postbacks(worker="survivor").delivered == 1
    assert Postback.objects.get().claimed_by == "survivor"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the killed worker is another process"
)
def test_a_worker_killed_mid_batch_loses_nothing(shop, tiktok, held, settings, tiktok_sandbox):
    record_events(shop, [purchase(n) for n in range(50)])
    state.add_fault(PIXEL, "hang", hang_seconds=2)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "TIKTOK_API_BASE_URL": tiktok_sandbox,
        "TIKTOK_HTTP_TIMEOUT": "30",
        "DJANGO_SETTINGS_MODULE": "attribution_site.settings",
    }
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "deliver_postbacks"], cwd=ROOT, env=env
    )
    deadline = time.monotonic() + 20
    while not Postback.objects.filter(status=S.SENDING).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the batch is in flight, its HTTP request hanging in the sandbox
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    assert Postback.objects.filter(status=S.SENDING).count() == 50
    time.sleep(2)  # the sandbox finishes the hung request: TikTok got the events
    Postback.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    report = delivery.deliver_due_postbacks(worker="survivor")
    assert report.delivered == 50
    assert Postback.objects.filter(status=S.DELIVERED).count() == 50
    # TikTok saw the batch twice and counted it once (event_id de-duplication).
    assert ReceivedEvent.objects.filter(is_duplicate=False).count() == 50


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_a_websites_first_visit_from_tiktok_goes_out_as_download(shop, tiktok):
    """The default mapping's install → Download row fires on a web first visit."""
    from events.services.installs import read_install, record_install

    factories.make_mapping(tiktok, app_event_name="install", partner_event_name="Download")
    factories.make_touchpoint(
        shop,
        web_user_id="wu-first",
        ttclid="E.C.P.first",
        occurred_at=timezone.now() - timedelta(minutes=3),
    )
    organic = {"web_user_id": "wu-organic", "ip": "203.0.113.9"}
    from_tiktok = {"web_user_id": "wu-first", "ip": "203.0.113.8"}
    for fields in (organic, from_tiktok):
        record_install(shop, read_install(fields, received_at=timezone.now()))
    received = ReceivedEvent.objects.get()
    assert received.event == "Download"
    assert received.payload["user"]["ttclid"] == "E.C.P.first"
    assert received.event_id == "install-wu-first"
    assert Postback.objects.get().status == S.DELIVERED


def test_shop_strings_in_properties_arrive_typed_as_tiktok_wants(shop, tiktok):
    value = {
        "content_type": "product",
        "contents": [
            {"content_id": 1077, "content_name": 501, "price": "12.50", "quantity": "2"},
            {"content_id": "SKU-2", "price": 3, "quantity": 1.0},
        ],
        "content_ids": [1077, "SKU-2"],
        "num_items": "3",
        "description": 42,
        "order_id": 88412,
        "search_string": 1999,
    }
    record_events(shop, [purchase(1, value=value)])
    postback = Postback.objects.get()
    assert postback.status == S.DELIVERED
    assert postback.dropped_properties == []
    assert ReceivedEvent.objects.get().payload["properties"] == {
        "content_type": "product",
        "contents": [
            {"content_id": "1077", "content_name": "501", "price": 12.5, "quantity": 2},
            {"content_id": "SKU-2", "price": 3, "quantity": 1},
        ],
        "content_ids": ["1077", "SKU-2"],
        "num_items": 3,
        "description": "42",
        "order_id": "88412",
        "search_string": "1999",
        "value": 12.5,
        "currency": "EUR",
    }


def test_a_property_that_cannot_be_typed_is_dropped_from_that_event_only(shop, tiktok, held):
    messy = {
        "content_type": "sku",
        "contents": [
            {"content_id": "A", "price": "12,50 €", "quantity": "2.5"},
            "not-an-item",
        ],
        "num_items": "many",
        "description": {"text": "nested"},
        "order_id": "A-1",
    }
    record_events(shop, [purchase(1, value=messy), purchase(2, value={"num_items": "2"})])
    delivery.deliver_due_postbacks()
    assert set(Postback.objects.values_list("status", flat=True)) == {S.DELIVERED}
    received = {r.event_id: r.payload["properties"] for r in ReceivedEvent.objects.all()}
    assert received["order-1"] == {
        "contents": [{"content_id": "A"}],
        "order_id": "A-1",
        "value": 12.5,
        "currency": "EUR",
    }
    assert received["order-2"]["num_items"] == 2
    dropped = Postback.objects.get(event__event_id="order-1").dropped_properties
    assert [entry["property"] for entry in dropped] == [
        "content_type",
        "contents.0.price",
        "contents.0.quantity",
        "contents.1",
        "num_items",
        "description",
    ]
    assert all(entry["reason"] for entry in dropped)
    assert Postback.objects.get(event__event_id="order-2").dropped_properties == []


def spoil(event_ids, how):
    """Stored rows TikTok refuses whatever we do: a date before 1970, or no event name."""
    if how == "event_time":
        InAppEvent.objects.filter(event_id__in=event_ids).update(
            event_time=datetime(1969, 7, 20, 20, 17, tzinfo=UTC)
        )
    else:
        Postback.objects.filter(event__event_id__in=event_ids).update(partner_event_name="")


def test_a_1000_event_batch_with_10_bad_items_is_settled_in_at_most_3_requests(shop, tiktok, held):
    record_events(shop, [purchase(n) for n in range(1000)])
    spoil([f"order-{n}" for n in range(5, 1000, 200)], "event_time")
    spoil([f"order-{n}" for n in range(50, 1000, 200)], "event")
    report = delivery.deliver_due_postbacks()
    print(f"\n1,000 events with 10 bad items: {track_requests().count()} requests")
    assert track_requests().count() <= 3
    assert report.requests == track_requests().count()
    assert (report.delivered, report.failed) == (990, 10)
    assert ReceivedEvent.objects.count() == 990
    failed = Postback.objects.filter(status=S.FAILED).select_related("event")
    assert sorted(p.event.event_id for p in failed) == sorted(
        [f"order-{n}" for n in range(5, 1000, 200)] + [f"order-{n}" for n in range(50, 1000, 200)]
    )
    for postback in failed:
        # Each row keeps TikTok's words about itself, not the whole batch's message.
        assert (postback.response_code, postback.batch_size) == (40002, 1000)
        assert postback.response_message.count("Batch.") == 1
        expected = "event_time" if int(postback.event.event_id[6:]) % 200 == 5 else ".event:"
        assert expected in postback.response_message
        assert [entry["message"] for entry in postback.attempt_log] == [
            postback.response_message[:200]
        ]
    assert Postback.objects.filter(status=S.DELIVERED).count() == 990


def test_when_tiktok_names_no_item_the_batch_is_halved_to_find_the_bad_ones(shop, tiktok, held):
    state.add_fault(PIXEL, "unnamed_errors", remaining=100)
    record_events(shop, [purchase(n) for n in range(16)])
    spoil(["order-3", "order-12"], "event_time")
    report = delivery.deliver_due_postbacks()
    statuses = dict(Postback.objects.values_list("event__event_id", "status"))
    assert {event_id for event_id, status in statuses.items() if status == S.FAILED} == {
        "order-3",
        "order-12",
    }
    assert report.delivered == 14 and ReceivedEvent.objects.count() == 14
    # log2(16) = 4 levels; each level sends at most two halves per bad item.
    print(f"\n16 events, 2 bad, none named: {track_requests().count()} requests")
    assert track_requests().count() <= 1 + 2 * 2 * 4


def test_a_40002_about_the_whole_request_is_not_split(shop, tiktok, held):
    record_events(shop, [purchase(n) for n in range(8)])
    Pixel.objects.filter(integration=tiktok).update(pixel_code="")
    delivery.deliver_due_postbacks()
    assert track_requests().count() == 1
    assert Postback.objects.filter(status=S.FAILED).count() == 8


def test_delivering_many_postbacks_takes_no_more_queries_than_delivering_a_few(shop, tiktok, held):
    """Forwarding reads only columns loaded with the claimed rows: one left out would cost a
    query per row, and a claim of 1,000 postbacks would make a thousand more."""
    for n in range(0, 40, 2):  # half the buyers installed first: their install's keys go along
        factories.make_install(
            shop,
            web_user_id=f"wu-{n}",
            installed_at=timezone.now() - timedelta(days=1),
            ip="203.0.113.9",
            user_agent="Mozilla/5.0 (Android 14)",
            customer_user_id=f"customer-{n}",
        )
    record_events(shop, [purchase(n) for n in range(4)])
    with CaptureQueriesContext(connection) as few:
        assert delivery.deliver_due_postbacks().delivered == 4
    record_events(shop, [purchase(n) for n in range(4, 40)])
    with CaptureQueriesContext(connection) as many:
        assert delivery.deliver_due_postbacks().delivered == 36
    assert len(many) == len(few)
    sent = ReceivedEvent.objects.get(event_id="order-8").payload
    assert sent["user"]["ip"] == "203.0.113.9"
