"""The Ad revenue tab: settings with a write-only secure key, and what has arrived per day."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from integrations.models import AdRevenueSettings
from tests import factories

KEY = "secure-key-0123456789abcdef"


@pytest.fixture
def app_integration(app):
    return factories.make_integration(app, "bytedanceglobal_int", tiktok_app_id="7301234567890")


def tab_url(integration):
    args = [integration.app.app_id, integration.pk, "ad-revenue"]
    return reverse("integrations:setup", args=args)


def post(**overrides):
    data = {
        "is_enabled": "on",
        "tiktok_app_id": "7301234567890",
        "secure_key": KEY,
        "account_id": "acct_42",
        "event_source": "af_ad_revenue",
    }
    data.update(overrides)
    return data


def test_it_saves_and_never_shows_the_key_again(client, marketer, app_integration):
    client.force_login(marketer)
    response = client.post(tab_url(app_integration), post(), follow=True)
    body = response.content.decode()
    assert "Ad revenue settings saved." in body
    assert KEY not in body
    assert "••••cdef" in body
    stored = AdRevenueSettings.objects.get(integration=app_integration)
    assert stored.secure_key == KEY and stored.is_enabled
    entry = app_integration.audit_entries.get(action="ad_revenue.saved")
    assert KEY not in str(entry.changes)


def test_a_blank_key_keeps_the_stored_one(client, marketer, app_integration):
    client.force_login(marketer)
    client.post(tab_url(app_integration), post())
    client.post(tab_url(app_integration), post(secure_key="", account_id="acct_43"))
    stored = AdRevenueSettings.objects.get(integration=app_integration)
    assert stored.secure_key == KEY and stored.account_id == "acct_43"


def test_turning_it_on_needs_every_field(client, marketer, app_integration):
    client.force_login(marketer)
    response = client.post(tab_url(app_integration), post(secure_key="", account_id=""))
    assert response.status_code == 400
    assert response.content.decode().count("Needed to get ad revenue data.") == 2
    assert not AdRevenueSettings.objects.exists()


def test_a_malformed_app_id_is_refused(client, marketer, app_integration):
    client.force_login(marketer)
    response = client.post(tab_url(app_integration), post(tiktok_app_id="abc"))
    assert response.status_code == 400
    assert "only digits" in response.content.decode()
    assert not AdRevenueSettings.objects.exists()


def test_it_shows_the_ad_revenue_that_arrived(client, marketer, app, app_integration):
    factories.make_event(app, event_name="af_ad_revenue", revenue=Decimal("0.25"), currency="USD")
    factories.make_event(app, event_name="af_ad_revenue", revenue=Decimal("0.50"), currency="USD")
    factories.make_event(app, event_name="purchase", revenue=Decimal("9.99"), currency="USD")
    client.force_login(marketer)
    client.post(tab_url(app_integration), post())
    body = client.get(tab_url(app_integration)).content.decode()
    table = body[body.index('id="ad-revenue-arrivals"') :]
    assert "<td>2</td>" in table
    assert "0.75" in table
    assert "9.99" not in table


def test_web_partners_have_no_ad_revenue_tab(client, marketer, app):
    integration = factories.make_integration(app, "tiktokglobal_int")
    client.force_login(marketer)
    assert client.get(tab_url(integration)).status_code == 404


def test_analysts_cannot_change_it(client, analyst, app_integration):
    client.force_login(analyst)
    assert client.post(tab_url(app_integration), post()).status_code == 403
    assert not AdRevenueSettings.objects.exists()
