"""The sandbox's consent page (TikTok's advertiser authorization page, spec §4.1) sends the
browser only to a registered redirect URI: ours under PUBLIC_BASE_URL, matched exactly."""

from __future__ import annotations

import pytest
from django.test import override_settings

from integrations.tiktok.sandbox.models import AuthCode

APP_ID = "7301234567890123457"
CONSENT = "/tiktok-sandbox/portal/auth"
REGISTERED = "https://signalboard.example/oauth/complete/tiktok-business/"
US = "7012345678901234568"


@pytest.fixture(autouse=True)
def developer_app():
    with override_settings(TIKTOK_APP_ID=APP_ID, PUBLIC_BASE_URL="https://signalboard.example"):
        yield


def _approve(client, redirect_uri: str):
    data = {"app_id": APP_ID, "redirect_uri": redirect_uri, "state": "s1", "advertiser_id": [US]}
    return client.post(CONSENT, {**data, "approve": ""})


UNREGISTERED = [
    "https://evil.example/oauth/complete/tiktok-business/",
    "https://signalboard.example.evil.example/oauth/complete/tiktok-business/",
    "https://signalboard.example/oauth/complete/tiktok-business/../../elsewhere/",
    "https://signalboard.example/oauth/complete/tiktok-business/\n",
    "http://signalboard.example/oauth/complete/tiktok-business/",
]


@pytest.mark.parametrize("redirect_uri", UNREGISTERED)
def test_approving_for_an_unregistered_redirect_uri_is_refused(db, client, redirect_uri):
    response = _approve(client, redirect_uri)
    assert response.status_code == 400
    assert "is not registered for this app" in response.content.decode()
    assert not AuthCode.objects.exists()


@pytest.mark.parametrize("redirect_uri", UNREGISTERED)
def test_the_page_is_not_offered_for_an_unregistered_redirect_uri(db, client, redirect_uri):
    response = client.get(CONSENT, {"app_id": APP_ID, "redirect_uri": redirect_uri})
    assert response.status_code == 400
    assert "Approve" not in response.content.decode()


def test_declining_never_redirects_to_an_unregistered_uri(db, client):
    response = client.post(
        CONSENT,
        {"app_id": APP_ID, "redirect_uri": UNREGISTERED[0], "state": "s1", "decline": ""},
    )
    assert response.status_code == 400
    assert "Location" not in response


def test_approving_for_the_registered_redirect_uri_sends_the_code_there(db, client):
    response = _approve(client, REGISTERED)
    assert response.status_code == 302
    assert response["Location"].startswith(REGISTERED + "?auth_code=")
    assert AuthCode.objects.get().advertiser_ids == [US]
