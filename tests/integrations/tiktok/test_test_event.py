"""The setup page's test event goes through the real client to the sandbox over HTTP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.tiktok.diagnostics import last_test_event, send_test_event
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import ReceivedEvent, ReceivedRequest
from tests import factories

PIXEL = "CQ8RT3JC77U4D5MLS2A0"
TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"


@pytest.fixture
def integration(app, tiktok_sandbox):
    integration = factories.make_integration(app, ccpa_limited_data_use=True)
    factories.make_pixel(integration, pixel_code=PIXEL, access_token=TOKEN)
    return integration


def send(integration, user, **overrides):
    arguments = {
        "test_event_code": "TEST12345",
        "event_name": "ViewContent",
        "ip": "203.0.113.24",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
    }
    arguments.update(overrides)
    return send_test_event(integration, acting_user=user, **arguments)


def test_tiktok_gets_a_test_event_with_the_code_and_ccpa_flag(integration, marketer):
    state.issue_token(sources=[PIXEL], token=TOKEN)
    outcome = send(integration, marketer)
    assert outcome.ok and outcome.code == 0 and len(outcome.request_id) == 34
    received = ReceivedEvent.objects.get()
    assert received.test_event_code == "TEST12345"
    assert received.event == "ViewContent"
    assert received.limited_data_use is True
    assert outcome.sent["data"][0]["user"]["ip"] == "203.0.113.24"


def test_a_rejected_token_comes_back_with_the_fix(integration, marketer):
    outcome = send(integration, marketer)
    assert not outcome.ok
    assert outcome.code == 40105
    assert "Generate a new token" in outcome.fix
    assert TOKEN not in str(outcome.sent)


def test_a_pixel_the_token_cannot_reach_explains_40001(integration, marketer):
    state.issue_token(sources=["ANOTHERPIXEL"], token=TOKEN)
    outcome = send(integration, marketer)
    assert outcome.code == 40001
    assert "different pixels" in outcome.fix


def test_rate_limiting_says_try_again_shortly(integration, marketer):
    state.issue_token(sources=[PIXEL], token=TOKEN)
    state.add_fault(PIXEL, "rate_limit")
    outcome = send(integration, marketer)
    assert outcome.code == 40100
    assert "Try again shortly" in outcome.fix


def test_a_purchase_test_carries_a_sample_value_in_the_apps_currency(integration, marketer):
    state.issue_token(sources=[PIXEL], token=TOKEN)
    send(integration, marketer, event_name="Purchase")
    assert ReceivedEvent.objects.get().payload["properties"] == {"currency": "USD", "value": 1.0}


def test_without_credentials_nothing_is_sent(app, marketer, tiktok_sandbox):
    integration = factories.make_integration(app)
    outcome = send(integration, marketer)
    assert not outcome.ok
    assert "Add a pixel ID" in outcome.message
    assert not ReceivedRequest.objects.exists()


def test_a_partner_without_the_events_api_sends_no_test_event(app, marketer, tiktok_sandbox):
    integration = factories.make_integration(app, "tiktokglobal_int", is_active=True)
    outcome = send(integration, marketer)
    assert not outcome.ok
    assert "does not take events" in outcome.message
    assert not ReceivedRequest.objects.exists()


def test_the_result_is_kept_for_the_page(integration, marketer, client):
    state.issue_token(sources=[PIXEL], token=TOKEN)
    client.force_login(marketer)
    url = reverse("integrations:test-event", args=[integration.app.app_id, integration.pk])
    client.post(url, {"test_event_code": "TEST12345", "event_name": "ViewContent"})
    shown = last_test_event(integration)
    assert shown["ok"] and shown["actor"] == marketer
    page = client.get(
        reverse("integrations:setup", args=[integration.app.app_id, integration.pk, "integration"])
    ).content.decode()
    assert "TikTok accepted the test event" in page
    assert "TEST12345" in page
    assert TOKEN not in page


@pytest.fixture
def app_integration(tiktok_sandbox):
    app = factories.make_app(app_id="id1453847291", platform="ios", store_id="1453847291")
    integration = factories.make_integration(
        app, "bytedanceglobal_int", tiktok_app_id="7301234567890123456"
    )
    factories.make_pixel(integration, pixel_code="", access_token=TOKEN)
    state.issue_token(sources=["7301234567890123456"], token=TOKEN)
    return integration


def setup_page(client, integration):
    return client.get(
        reverse("integrations:setup", args=[integration.app.app_id, integration.pk, "integration"])
    ).content.decode()


def test_the_picker_offers_tiktoks_names_with_the_catalog_name_beside(
    app_integration, admin_user, client
):
    factories.make_membership(admin_user, app_integration.app, "admin")
    client.force_login(admin_user)
    page = setup_page(client, app_integration)
    picker = page.split('<datalist id="test-event-names">', 1)[1].split("</datalist>", 1)[0]
    assert '<option value="Purchase" label="Pay' in picker
    assert '<option value="ViewContent" label="View_content' in picker
    assert '<option value="Search" label="may carry revenue"' in picker
    assert 'value="Pay"' not in picker
    assert 'list="test-event-names" value="ViewContent"' in page


def test_a_test_purchase_picked_by_tiktoks_name_goes_out_with_a_value(app_integration, marketer):
    outcome = send(app_integration, marketer, event_name="Purchase")
    assert outcome.ok
    received = ReceivedEvent.objects.get()
    assert received.event == "Purchase"
    assert received.payload["properties"]["value"] == 1.0


def test_a_marketer_creates_sandbox_credentials_from_the_tab_and_the_test_event_arrives(
    client, app, marketer, tiktok_sandbox
):
    integration = factories.make_integration(app)
    client.force_login(marketer)
    tab = reverse("integrations:setup", args=[app.app_id, integration.pk, "integration"])
    assert "Create a sandbox pixel and token" in client.get(tab).content.decode()
    response = client.post(
        reverse("integrations:sandbox-credentials", args=[app.app_id, integration.pk]), follow=True
    )
    pixel = integration.pixel
    pixel.refresh_from_db()
    assert pixel.pixel_code.startswith("C") and len(pixel.pixel_code) == 20
    assert f"Created the sandbox pixel {pixel.pixel_code}" in response.content.decode()
    assert pixel.access_token.reveal() not in response.content.decode()
    outcome = send(integration, marketer)
    assert outcome.ok, outcome.message
    assert ReceivedEvent.objects.get().event == "ViewContent"


def test_without_the_sandbox_the_tab_offers_no_sandbox_credentials(client, app, marketer):
    from integrations import hooks

    integration = factories.make_integration(app)
    client.force_login(marketer)
    tab = reverse("integrations:setup", args=[app.app_id, integration.pk, "integration"])
    saved = hooks.sandbox_credentials()
    hooks.register_sandbox_credentials(None)  # type: ignore[arg-type]
    try:
        assert "Create a sandbox" not in client.get(tab).content.decode()
        url = reverse("integrations:sandbox-credentials", args=[app.app_id, integration.pk])
        page = client.post(url, follow=True).content.decode()
        assert "The TikTok sandbox is off" in page
    finally:
        hooks.register_sandbox_credentials(saved)
