"""Fixtures for the events tests: an app with a server API key, and a clean cache (throttle
counters and the seen-event-name memo live there)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from integrations.models import App
from integrations.services.apps import create_app

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Mobile Safari/537.36"
)
DESKTOP_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


class KeyedApp:
    """An app and its server API key, with helpers to call the API as its server would."""

    def __init__(self, app: App, key: str, client: Client) -> None:
        self.app = app
        self.key = key
        self.client = client

    def post(self, path: str, body: Any, *, key: str | None = None, raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(body)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key or self.key}"}
        return self.client.post(
            f"/api/v1/apps/{self.app.app_id}/{path}",
            data=data,
            content_type="application/json",
            **headers,
        )

    def event(self, body: Any, **kwargs: Any):
        return self.post("events", body, **kwargs)

    def batch(self, body: Any, **kwargs: Any):
        return self.post("events/batch", body, **kwargs)

    def install(self, body: Any, **kwargs: Any):
        return self.post("installs", body, **kwargs)


@pytest.fixture
def web_shop(db: None, client: Client) -> KeyedApp:
    app, key = create_app(
        acting_user=None,
        app_id="web.trailhead",
        name="Trailhead shop",
        platform="web",
        website_url="https://shop.example.com/",
        domains=["https://shop.example.com"],
        currency="EUR",
    )
    return KeyedApp(app, key, client)


@pytest.fixture
def ios_app(db: None, client: Client) -> KeyedApp:
    app, key = create_app(
        acting_user=None,
        app_id="id1453847291",
        name="Run Club",
        platform="ios",
        store_id="1453847291",
        website_url="https://run.example.com/",
    )
    return KeyedApp(app, key, client)


@pytest.fixture
def android_app(db: None, client: Client) -> KeyedApp:
    app, key = create_app(
        acting_user=None,
        app_id="com.example.runclub",
        name="Run Club Android",
        platform="android",
        store_id="com.example.runclub",
        website_url="https://run.example.com/",
    )
    return KeyedApp(app, key, client)


@pytest.fixture
def tiktok_links(request: pytest.FixtureRequest) -> None:
    """Links are answered only for partners the app has an integration with: give each app a
    test uses TikTok's web partner (web-to-app campaigns use it for apps too), and the apps
    TikTok's app partner."""
    from tests import factories

    for name in ("web_shop", "ios_app", "android_app"):
        if name in request.fixturenames:
            app = request.getfixturevalue(name).app
            factories.make_integration(app, "tiktokweb_int")
            if name != "web_shop":
                factories.make_integration(app, "bytedanceglobal_int")
