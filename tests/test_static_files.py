"""Static files load from the application itself, with DEBUG off as in production: customers'
landing pages fetch the web SDK from us."""

from __future__ import annotations

from django.test import Client, override_settings


@override_settings(DEBUG=False)
def test_the_web_sdk_is_served_without_debug_and_from_any_origin():
    response = Client().get("/static/sdk/signalboard.js", HTTP_ORIGIN="https://shop.example.com")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Access-Control-Allow-Origin"] == "*"
    body = b"".join(response.streaming_content)
    assert b"signalboard" in body


@override_settings(DEBUG=False)
def test_the_admin_styles_are_served_without_debug():
    assert Client().get("/static/admin/css/base.css").status_code == 200


def test_an_unknown_static_file_is_a_404():
    assert Client().get("/static/sdk/nope.js").status_code == 404
