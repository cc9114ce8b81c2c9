"""Random and malformed bodies get a 4xx with a reason, never a 500 (the test client re-raises
any exception a view lets escape, so a crash fails the test)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.services.event_input import FIELDS
from events.services.installs import INSTALL_TEXT_LIMITS

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["", "\x00", "\ud800", "2026-03-01T12:00:00Z", "1740823512", "USD", "+1"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
event_like = st.dictionaries(
    st.sampled_from([*FIELDS, "eventName", "eventValue", "eventTime", "appsflyer_id", "x"]),
    json_values,
    max_size=10,
)
install_like = st.dictionaries(
    st.sampled_from([*INSTALL_TEXT_LIMITS, "installed_at", "idfa", "gaid", "ip", "appsflyer_id"]),
    json_values,
    max_size=8,
)


def dump(value: object) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


def assert_refused_with_a_reason_or_accepted(response) -> None:
    assert response.status_code in (202, 400, 413), response.status_code
    body = response.json()
    if response.status_code != 202:
        reason = body.get("detail") or body.get("errors") or body.get("results")
        assert reason, body


@SETTINGS
@given(body=st.binary(max_size=200))
def test_random_bytes_are_refused_with_a_reason(web_shop, body):
    assert_refused_with_a_reason_or_accepted(web_shop.event(None, raw=body))


@SETTINGS
@given(body=json_values | event_like)
def test_random_json_to_the_single_event_endpoint_never_crashes(web_shop, body):
    assert_refused_with_a_reason_or_accepted(web_shop.event(None, raw=dump(body)))


@SETTINGS
@given(body=st.lists(event_like | json_values, min_size=0, max_size=5) | json_values)
def test_random_batches_never_crash(web_shop, body):
    assert_refused_with_a_reason_or_accepted(web_shop.batch(None, raw=dump(body)))


@SETTINGS
@given(body=install_like | json_values)
def test_random_installs_never_crash(ios_app, body):
    assert_refused_with_a_reason_or_accepted(ios_app.install(None, raw=dump(body)))


@SETTINGS
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "web_user_id": json_values,
            "visit_id": json_values,
            "params": json_values | st.dictionaries(st.text(max_size=8), st.text(max_size=20)),
            "url": json_values,
            "referrer": json_values,
        },
    )
    | json_values
)
def test_random_visits_never_crash(web_shop, client, body):
    response = client.post(
        f"/api/v1/sdk/{web_shop.app.public_key}/visit",
        data=dump(body),
        content_type="text/plain",
        HTTP_ORIGIN="https://shop.example.com",
    )
    assert_refused_with_a_reason_or_accepted(response)
