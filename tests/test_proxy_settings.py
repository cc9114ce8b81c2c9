"""The settings a proxy in front of the site needs: read from the environment, malformed values
stop start-up with a message naming the variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.test import Client, override_settings

from tests import factories
from tests.test_settings import ROOT, check


def setting(name: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(env)
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            f"from django.conf import settings; print(repr(settings.{name}))",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "None"),
        ("HTTP_X_FORWARDED_PROTO", "('HTTP_X_FORWARDED_PROTO', 'https')"),
        (" HTTP_X_FORWARDED_PROTO ", "('HTTP_X_FORWARDED_PROTO', 'https')"),
        ("HTTP_X_FORWARDED_SSL=on", "('HTTP_X_FORWARDED_SSL', 'on')"),
    ],
)
def test_the_https_header_of_the_proxy_comes_from_the_environment(value, expected):
    assert setting("SECURE_PROXY_SSL_HEADER", SECURE_PROXY_SSL_HEADER=value) == expected


@pytest.mark.parametrize(
    "value",
    ["X-Forwarded-Proto", "HTTP_X_FORWARDED_PROTO=", "HTTP_X_FORWARDED_PROTO,https", "https"],
)
def test_it_refuses_a_malformed_https_header(value):
    result = check(SECURE_PROXY_SSL_HEADER=value)
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER must name the request header" in result.stderr


def test_it_refuses_a_malformed_number_of_proxies():
    result = check(NUM_PROXIES="one")
    assert result.returncode != 0
    assert "NUM_PROXIES must be an integer" in result.stderr


def test_the_number_of_proxies_comes_from_the_environment():
    assert setting("NUM_PROXIES", NUM_PROXIES="2") == "2"


@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    ALLOWED_HOSTS=["signalboard.example"],
)
def test_behind_an_https_proxy_signalboards_own_pages_may_use_the_sdk(db):
    app = factories.make_app()
    response = Client(HTTP_HOST="signalboard.example").post(
        f"/api/v1/sdk/{app.public_key}/events",
        data=json.dumps({"event_name": "purchase", "event_id": "o-1", "web_user_id": "wu-1"}),
        content_type="text/plain;charset=UTF-8",
        HTTP_ORIGIN="https://signalboard.example",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert response.status_code == 202
