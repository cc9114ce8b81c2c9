"""Bad input on the public endpoints (events API, web SDK, attribution links) gets a 4xx that
names the field at fault and stores nothing; it never reaches the database, where PostgreSQL
refuses NUL characters and over-long values that SQLite would keep (issue 18 §2)."""

from __future__ import annotations

import io
import json

import pytest
from django.test import override_settings

from events.models import InAppEvent, Install, Touchpoint
from tests.events.conftest import DESKTOP_CHROME, IPHONE_SAFARI

# Links answer only for partners the app has an integration with.
pytestmark = pytest.mark.usefixtures("tiktok_links")

ORIGIN = "https://shop.example.com"
GOOD_EVENT = {"event_id": "e-good", "event_name": "purchase", "event_time": 1772000000}
# Times whose UTC value is outside what Python's datetime can hold.
OVERFLOWING_TIMES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
NEWLINE_ID = "a" * 64 + "\n"


def sdk_post(client, app, path: str, body, origin: str = ORIGIN):
    return client.post(
        f"/api/v1/sdk/{app.public_key}/{path}",
        data=json.dumps(body),
        content_type="text/plain;charset=UTF-8",
        HTTP_ORIGIN=origin,
        HTTP_USER_AGENT=IPHONE_SAFARI,
    )


def visit(**overrides: object) -> dict:
    return {"web_user_id": "wu-0123456789", "visit_id": "visit-0123456789", **overrides}


@pytest.mark.parametrize("moment", OVERFLOWING_TIMES)
def test_an_event_time_out_of_range_is_a_400_naming_event_time(web_shop, moment):
    response = web_shop.event({**GOOD_EVENT, "event_time": moment})
    assert response.status_code == 400
    assert "event_time" in response.json()["errors"]
    assert not InAppEvent.objects.exists()


@pytest.mark.parametrize("moment", OVERFLOWING_TIMES)
def test_an_event_time_out_of_range_fails_only_its_item_in_a_batch(web_shop, moment):
    bad = {"event_id": "e-bad", "event_name": "purchase", "eventTime": moment}
    response = web_shop.batch([GOOD_EVENT, bad])
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert body["results"][1]["index"] == 1
    assert "event_time" in body["results"][1]["errors"]
    assert list(InAppEvent.objects.values_list("event_id", flat=True)) == ["e-good"]


@pytest.mark.parametrize("moment", OVERFLOWING_TIMES)
def test_an_install_time_out_of_range_is_a_400_naming_installed_at(ios_app, moment):
    response = ios_app.install({"device_id": "device-1", "installed_at": moment})
    assert response.status_code == 400
    assert "installed_at" in response.json()["errors"]
    assert not Install.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("web_user_id", NEWLINE_ID),
        ("web_user_id", "wu-0123456789\n"),
        ("visit_id", NEWLINE_ID),
        ("visit_id", "visit-0123456789\n"),
    ],
)
def test_an_sdk_id_with_a_trailing_newline_is_refused(web_shop, client, field, value):
    response = sdk_post(client, web_shop.app, "visit", visit(**{field: value}))
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Install.objects.exists()
    assert not Touchpoint.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("params", {"pid": "tiktokweb_int", "c\x00": "x"}),
        ("params", {"pid": "tiktokweb_int", "c": "Spring\x00Sale"}),
        ("url", "https://shop.example.com/\x00"),
        ("web_user_id", "wu-0123\x00456789"),
    ],
)
def test_a_nul_in_the_sdk_visit_json_is_a_400_naming_the_field(web_shop, client, field, value):
    response = sdk_post(client, web_shop.app, "visit", visit(**{field: value}))
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Install.objects.exists()


def test_a_visit_trims_a_newline_off_its_media_source_before_storing_it(web_shop, client):
    params = {"pid": NEWLINE_ID, "c": "Spring"}
    response = sdk_post(client, web_shop.app, "visit", visit(params=params))
    assert response.status_code == 202
    assert Touchpoint.objects.get().media_source == "a" * 64


@pytest.mark.parametrize("media_source", ["%0A", "a" * 64 + "%0A", "tiktokweb_int%0A"])
def test_a_link_with_a_media_source_ending_in_a_newline_records_nothing(
    web_shop, client, media_source
):
    for path in (
        f"/l/{web_shop.app.public_key}/{media_source}",
        f"/l/{web_shop.app.public_key}?pid={media_source}",
        f"/i/{web_shop.app.public_key}/{media_source}",
        f"/i/{web_shop.app.public_key}?pid={media_source}",
    ):
        response = client.get(path, HTTP_USER_AGENT=DESKTOP_CHROME)
        assert response.status_code in (400, 404), path
    assert not Touchpoint.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/l/%00/tiktokweb_int",
        "/l/%00",
        "/l/{key}/tiktok%00web_int",
        "/i/%00/tiktokweb_int",
        "/api/v1/sdk/%00/visit",
        "/api/v1/sdk/%00/events",
        "/api/v1/apps/%00/events",
        "/api/v1/apps/%00/events/batch",
        "/api/v1/apps/%00/installs",
        "/apps/%00/",
        "/apps/%01/integrations/",
        "/api/raw-data/export/app/%00/installs_report/v5",
        "/api/raw-data/export/app/web.trailhead/installs%00report/v5",
    ],
)
def test_a_nul_or_control_character_in_the_path_is_refused_before_the_database(
    web_shop, client, path
):
    path = path.format(key=web_shop.app.public_key)
    for method in (client.get, client.post):
        response = method(path, HTTP_AUTHORIZATION=f"Bearer {web_shop.key}", HTTP_ORIGIN=ORIGIN)
        assert response.status_code in (400, 404), (path, response.status_code)
        assert b"control character" in response.content
    assert not Touchpoint.objects.exists()


@pytest.mark.parametrize("origin", ["http://[::1", "http://[::1]:99999", "http://\x00"])
def test_a_malformed_origin_on_the_sdk_is_a_403(web_shop, client, origin):
    response = sdk_post(client, web_shop.app, "visit", visit(), origin=origin)
    assert response.status_code == 403
    assert "Origin" in response.json()["detail"]
    assert not Install.objects.exists()


@pytest.mark.parametrize("query", ["c=Spring%00Sale", "c%00=Spring", "c=Spring%0BSale"])
def test_a_link_drops_a_parameter_with_a_control_character_and_still_redirects(
    web_shop, client, query
):
    response = client.get(
        f"/l/{web_shop.app.public_key}/tiktokweb_int?{query}&af_adset=broad",
        HTTP_USER_AGENT=DESKTOP_CHROME,
    )
    assert response.status_code == 302
    assert "Spring" not in response["Location"]
    touch = Touchpoint.objects.get()
    assert (touch.campaign, touch.adset) == ("", "broad")


def chunked_post(client, path: str, body: bytes, key: str, *, is_terminated: bool = True):
    """A body sent with `Transfer-Encoding: chunked` has no Content-Length. gunicorn decodes the
    chunks into a stream that ends with the body, and says so with `wsgi.input_terminated`."""
    extra = {"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": is_terminated}
    return client.generic(
        "POST",
        path,
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",
        **extra,
    )


def test_a_chunked_body_is_read(web_shop, client):
    path = f"/api/v1/apps/{web_shop.app.app_id}/events"
    response = chunked_post(client, path, json.dumps(GOOD_EVENT).encode(), web_shop.key)
    assert response.status_code == 202, response.content
    assert InAppEvent.objects.get().event_id == "e-good"


@override_settings(EVENTS_MAX_BODY_BYTES=2048)
def test_a_chunked_body_over_the_limit_is_a_413(web_shop, client):
    path = f"/api/v1/apps/{web_shop.app.app_id}/events/batch"
    body = json.dumps([GOOD_EVENT] * 100).encode()
    response = chunked_post(client, path, body, web_shop.key)
    assert response.status_code == 413
    assert "2048" in response.json()["detail"]
    assert not InAppEvent.objects.exists()


def test_a_chunked_body_on_a_server_that_cannot_end_it_is_a_411(web_shop, client):
    path = f"/api/v1/apps/{web_shop.app.app_id}/events"
    body = json.dumps(GOOD_EVENT).encode()
    response = chunked_post(client, path, body, web_shop.key, is_terminated=False)
    assert response.status_code == 411
    assert "Content-Length" in response.json()["detail"]
    assert not InAppEvent.objects.exists()
