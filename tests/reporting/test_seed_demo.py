from __future__ import annotations

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from events.models import ORGANIC, InAppEvent, Install, Touchpoint
from integrations.models import App, Integration
from reporting.models import CostRecord

pytestmark = pytest.mark.django_db

MODELS = [App, Integration, Touchpoint, Install, InAppEvent, CostRecord]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_running_it_twice_leaves_the_same_counts():
    call_command("seed_demo", "--days", "3", stdout=io.StringIO())
    first = counts()
    call_command("seed_demo", "--days", "3", stdout=io.StringIO())
    assert counts() == first
    assert first["InAppEvent"] > 100


def test_it_prints_working_logins():
    out = io.StringIO()
    call_command("seed_demo", "--days", "1", stdout=out)
    assert "demo-marketer" in out.getvalue()
    assert authenticate(username="demo-marketer", password="signalboard-demo") is not None


def test_it_covers_tiktok_web_tiktok_app_and_organic_with_two_currencies():
    call_command("seed_demo", "--days", "3", stdout=io.StringIO())
    sources = set(Install.objects.values_list("media_source", flat=True))
    assert {"tiktokweb_int", "bytedanceglobal_int", ORGANIC} <= sources
    currencies = set(InAppEvent.objects.exclude(revenue=None).values_list("currency", flat=True))
    assert len(currencies) >= 2
    assert CostRecord.objects.filter(media_source="tiktokglobal_int").exists()
    assert CostRecord.objects.filter(media_source="bytedanceglobal_int").exists()


def test_attributed_events_carry_their_installs_attribution():
    call_command("seed_demo", "--days", "2", stdout=io.StringIO())
    event = (
        InAppEvent.objects.filter(media_source="tiktokweb_int").select_related("install").first()
    )
    assert event.install.media_source == "tiktokweb_int"
    assert event.ttclid and event.ttclid == event.install.ttclid
    assert event.install.touchpoint.ttclid == event.ttclid


def test_the_web_cost_integration_has_a_connected_sandbox_account():
    from integrations.models import CostConnection

    call_command("seed_demo", "--days", "1", stdout=io.StringIO())
    call_command("seed_demo", "--days", "1", stdout=io.StringIO())
    connection = CostConnection.objects.get()
    assert connection.integration.partner.media_source == "tiktokglobal_int"
    assert connection.is_connected and connection.access_token
    assert connection.advertisers.count() == 2
    assert not connection.advertisers.filter(is_selected=True).exists()
