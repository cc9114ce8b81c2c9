"""Match-key coverage (TikTok's "event match quality") on the Integration tab and the Active
Integrations page: of the last 7 days' delivered postbacks, the share carrying each key, and a
hint for the weakest. Postbacks are delivered to the sandbox over real HTTP first."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Postback
from events.services.ingest import record_events
from integrations.services.deliveries import record_match_keys
from integrations.tiktok.match_quality import MatchKey
from integrations.tiktok.sandbox import state
from tests import factories
from tests.events.conftest import IPHONE_SAFARI

PIXEL = "CQ8RT3JC77U4D5MLS2A0"
TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"
TTP = "2Nq7vKx1Yb0c3Zr8Tt5Ww9Pp4Ll"
SHARE = re.compile(r'<tr data-match-key="(\w+)">.*?<td>(\d+)%</td>', re.S)


@pytest.fixture
def tiktok(app, tiktok_sandbox):
    state.issue_token(sources=[PIXEL], token=TOKEN)
    integration = factories.make_integration(app, is_active=True, in_app_postbacks_enabled=True)
    factories.make_pixel(integration, pixel_code=PIXEL, access_token=TOKEN)
    factories.make_mapping(integration, users_from="all_sources")
    return integration


def purchase(n: int, **fields):
    return {
        "event_id": f"order-{n}",
        "event_name": "purchase",
        "web_user_id": f"wu-{n}",
        "event_time": timezone.now().isoformat(),
        "ip": "203.0.113.24",
        "user_agent": IPHONE_SAFARI,
        **fields,
    }


def four_purchases(app):
    """One with every web key, one with a click id, two with IP and user agent only."""
    record_events(
        app,
        [
            purchase(
                1,
                email="jane@example.com",
                phone="+447700900123",
                customer_user_id="cust-1",
                ttclid="E.C.P.1",
                ttp=TTP,
            ),
            purchase(2, ttclid="E.C.P.2"),
            purchase(3),
            purchase(4),
        ],
    )
    assert Postback.objects.filter(status="delivered").count() == 4


def shares(html: str) -> dict[str, int]:
    return {key: int(percent) for key, percent in SHARE.findall(html)}


def setup_tab(client, user, integration) -> str:
    client.force_login(user)
    url = f"/apps/{integration.app.app_id}/integrations/{integration.pk}/integration/"
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def active_page(client, user, app) -> str:
    client.force_login(user)
    response = client.get(f"/apps/{app.app_id}/integrations/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_integration_tab_shows_the_share_of_each_key_and_the_weakest(
    client, marketer, app, tiktok
):
    four_purchases(app)
    html = setup_tab(client, marketer, tiktok)
    assert shares(html) == {
        "email": 25,
        "phone": 25,
        "external_id": 25,
        "ip_user_agent": 100,
        "click_id": 50,
        "ttp": 25,
    }
    assert "4 postbacks delivered in the last 7 days" in html
    # Email, phone, external id and _ttp tie at 25%: the first in TikTok's order is named.
    hint = re.search(r'id="match-keys-hint">(.*?)</p>', html, re.S).group(1)
    assert "Email" in hint
    assert "event match quality" in html


def test_the_active_integrations_page_shows_the_same_shares(client, marketer, app, tiktok):
    four_purchases(app)
    html = active_page(client, marketer, app)
    assert shares(html) == shares(setup_tab(client, marketer, tiktok))
    assert shares(html)["ip_user_agent"] == 100


def test_postbacks_that_were_not_delivered_do_not_count(client, marketer, app, tiktok):
    state.add_fault(PIXEL, "rate_limit", remaining=5)
    record_events(app, [purchase(1, email="jane@example.com")])
    assert Postback.objects.get().status == "pending"
    html = setup_tab(client, marketer, tiktok)
    assert shares(html) == {}
    assert "No postbacks were delivered in the last 7 days" in html


def test_deliveries_older_than_seven_days_drop_out(client, marketer, app, tiktok):
    four_purchases(app)
    # What `events` records for a batch delivered eight days ago, all of it with email.
    record_match_keys(tiktok, at=timezone.now() - timedelta(days=8), masks=[MatchKey.EMAIL] * 40)
    html = setup_tab(client, marketer, tiktok)
    assert shares(html)["email"] == 25
    assert "4 postbacks delivered" in html


def test_each_postback_remembers_the_keys_it_carried(app, tiktok):
    four_purchases(app)
    postback = Postback.objects.get(event__event_id="order-2")
    # IP + user agent and the click id, nothing else.
    assert postback.match_keys == MatchKey.IP_USER_AGENT | MatchKey.CLICK_ID


def test_a_deliverys_page_names_the_keys_it_carried(client, marketer, app, tiktok):
    four_purchases(app)
    postback = Postback.objects.get(event__event_id="order-2")
    client.force_login(marketer)
    url = f"/apps/{app.app_id}/integrations/{tiktok.pk}/deliveries/{postback.pk}/"
    html = client.get(url).content.decode()
    assert (
        "<dt>Match keys</dt><dd>IP + user agent, TikTok click id (ttclid / callback)</dd>" in html
    )
