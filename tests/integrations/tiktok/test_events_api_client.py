"""Our Events API client against the sandbox over real HTTP; a mock only for a timeout."""

from __future__ import annotations

import time
from unittest import mock

import pytest
import requests
from django.test import override_settings

from integrations.tiktok import events_api, transport
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import ReceivedEvent

PIXEL = "CQ8RT3JC77U4D5MLS2A0"
TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"


def body(**overrides):
    payload = {
        "event_source": "web",
        "event_source_id": PIXEL,
        "partner_name": "Signalboard",
        "data": [{"event": "ViewContent", "event_time": 1740823512, "event_id": "evt-1"}],
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def sandbox(tiktok_sandbox):
    state.issue_token(sources=[PIXEL], token=TOKEN)
    return tiktok_sandbox


def test_a_success_returns_tiktoks_request_id(sandbox):
    result = events_api.track(access_token=TOKEN, body=body())
    assert result.code == 0
    assert len(result.request_id) == 34
    assert ReceivedEvent.objects.get().event == "ViewContent"


def test_a_revoked_token_is_a_permanent_credential_problem(sandbox):
    with pytest.raises(transport.PermanentError) as error:
        events_api.track(access_token="wrong-token", body=body())
    assert error.value.code == 40105
    assert error.value.is_credential_problem
    assert "Generate a new token" in error.value.fix


def test_a_bad_field_is_permanent_but_not_about_credentials(sandbox):
    bad = body(data=[{"event": "ViewContent", "event_time": "soon"}])
    with pytest.raises(transport.PermanentError) as error:
        events_api.track(access_token=TOKEN, body=bad)
    assert error.value.code == 40002
    assert not error.value.is_credential_problem


def test_a_rejected_batch_names_each_bad_item_with_its_own_message(sandbox):
    items = [
        {"event": "ViewContent", "event_time": 1740823512, "event_id": f"evt-{n}"} for n in range(4)
    ]
    items[1]["event_time"] = "soon"
    items[3]["properties"] = {"value": "12.50"}
    with pytest.raises(events_api.RejectedEventsError) as error:
        events_api.track(access_token=TOKEN, body=body(data=items))
    assert error.value.code == 40002
    assert error.value.item_errors == {
        1: "Batch.1.event_time: Not a valid integer.",
        3: "Batch.3.properties.value: Not a valid number.",
    }
    assert not error.value.is_about_request


def test_a_rejection_of_the_request_itself_names_no_item(sandbox):
    with pytest.raises(events_api.RejectedEventsError) as error:
        events_api.track(access_token=TOKEN, body=body(event_source="website"))
    assert error.value.item_errors == {}
    assert error.value.is_about_request


def test_a_rejection_without_paths_names_no_item_and_is_not_about_the_request(sandbox):
    state.add_fault(PIXEL, "unnamed_errors")
    bad = body(data=[{"event": "ViewContent", "event_time": "soon"}])
    with pytest.raises(events_api.RejectedEventsError) as error:
        events_api.track(access_token=TOKEN, body=bad)
    assert error.value.item_errors == {}
    assert not error.value.is_about_request


@pytest.mark.parametrize("kind", ["rate_limit", "server_error", "maintenance", "bad_gateway"])
def test_throttling_tiktok_errors_and_gateway_pages_are_retryable(sandbox, kind):
    state.add_fault(PIXEL, kind)
    with pytest.raises(transport.RetryableError):
        events_api.track(access_token=TOKEN, body=body())
    assert events_api.track(access_token=TOKEN, body=body()).code == 0


def test_a_hang_past_the_timeout_is_retryable_though_tiktok_may_have_the_event(sandbox):
    state.add_fault(PIXEL, "hang", hang_seconds=1.5)
    with override_settings(TIKTOK_HTTP_TIMEOUT=1), pytest.raises(transport.RetryableError) as error:
        events_api.track(access_token=TOKEN, body=body())
    assert "did not answer in time" in error.value.message
    # Like a real timeout, the far side finishes anyway: this is why resends rely on event_id.
    deadline = time.monotonic() + 5
    while not ReceivedEvent.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ReceivedEvent.objects.exists()


def test_a_wrong_path_is_permanent(sandbox):
    with pytest.raises(transport.PermanentError) as error:
        transport.call("POST", "v1.3/event/trak/", access_token=TOKEN, json_body=body())
    assert error.value.http_status == 404


def test_a_refused_connection_is_retryable(db):
    with (
        override_settings(TIKTOK_API_BASE_URL="http://127.0.0.1:9"),
        pytest.raises(transport.RetryableError, match="Could not connect"),
    ):
        events_api.track(access_token=TOKEN, body=body())


def test_a_read_timeout_is_retryable(db):
    """A mock only here: a timeout at the session seam, which a real part cannot time exactly."""
    with (
        mock.patch.object(transport.session(), "request", side_effect=requests.ReadTimeout),
        pytest.raises(transport.RetryableError),
    ):
        events_api.track(access_token=TOKEN, body=body())


def test_it_refuses_an_empty_or_oversized_batch_before_sending(db):
    with pytest.raises(ValueError, match="1 to 1000"):
        events_api.track(access_token=TOKEN, body=body(data=[]))


def test_secrets_are_stripped_from_what_we_keep():
    kept = transport.strip_secrets({"access_token": TOKEN, "nested": [{"secret": "s", "x": 1}]})
    assert kept == {"access_token": "[removed]", "nested": [{"secret": "[removed]", "x": 1}]}
