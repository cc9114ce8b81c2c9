"""Per-process memory of a key's app and an app's forwarding rules: it saves queries, and a
change still takes effect within CONFIG_CACHE_SECONDS."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.api_access import APPS_BY_KEY
from events.models import Postback
from events.services.forwarding import FORWARDING
from events.services.matching import LOOKBACKS
from integrations.services.apps import rotate_api_key
from tests import factories


@pytest.fixture
def remembering(ios_app):
    caches = (FORWARDING, APPS_BY_KEY, LOOKBACKS)
    for cache in caches:
        cache.clear()
    with override_settings(CONFIG_CACHE_SECONDS=5):
        yield
    for cache in caches:
        cache.clear()


def purchase(ios_app, n):
    return ios_app.event(
        {"event_id": f"p-{n}", "event_name": "purchase", "device_id": "d-1",
         "event_time": timezone.now().isoformat()}
    )  # fmt: skip


@pytest.fixture
def forwarding(ios_app):
    integration = factories.make_integration(
        ios_app.app, "bytedanceglobal_int", is_active=True, in_app_postbacks_enabled=True,
        tiktok_app_id="7301234567890123456",
    )  # fmt: skip
    factories.make_pixel(integration, pixel_code="")
    factories.make_mapping(integration, users_from="all_sources")
    return integration


def test_a_second_request_reads_neither_the_key_nor_the_forwarding_rules(
    ios_app, forwarding, remembering
):
    assert purchase(ios_app, 1).status_code == 202
    with CaptureQueriesContext(connection) as second:
        assert purchase(ios_app, 2).status_code == 202
    sql = " ".join(query["sql"] for query in second.captured_queries)
    assert "integrations_app" not in sql  # the key's app, the lookbacks of its integrations
    assert "integrations_eventmapping" not in sql  # the forwarding rules
    assert Postback.objects.count() == 2


def test_a_paused_integration_stops_forwarding_once_the_memory_expires(
    ios_app, forwarding, remembering
):
    purchase(ios_app, 1)
    forwarding.in_app_postbacks_enabled = False
    forwarding.save()
    purchase(ios_app, 2)  # within the few seconds: the old rules still apply
    assert Postback.objects.count() == 2
    later = __import__("time").monotonic() + 6
    with mock.patch("events.services.config_cache.time.monotonic", return_value=later):
        purchase(ios_app, 3)
    assert Postback.objects.count() == 2


def test_a_rotated_key_stops_working_once_the_memory_expires(ios_app, remembering):
    assert purchase(ios_app, 1).status_code == 202
    rotate_api_key(ios_app.app, acting_user=None)
    later = __import__("time").monotonic() + 6
    with mock.patch("events.services.config_cache.time.monotonic", return_value=later):
        assert purchase(ios_app, 2).status_code == 401
