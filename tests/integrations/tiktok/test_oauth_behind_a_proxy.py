"""Behind a proxy the site is reached under an internal host name and plain HTTP; the OAuth
redirect_uri TikTok sees must still be the public one registered with the developer app
(README: PUBLIC_BASE_URL)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from integrations.models import CostConnection
from integrations.tiktok.sandbox.models import AuthCode
from tests import factories

APP_ID = "7301234567890123457"
APP_SECRET = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
PUBLIC = "https://signalboard.example"
REGISTERED = f"{PUBLIC}/oauth/complete/tiktok-business/"
INTERNAL_HOST = "web-1.internal"


@pytest.fixture
def behind_a_proxy():
    with override_settings(
        PUBLIC_BASE_URL=PUBLIC,
        ALLOWED_HOSTS=[INTERNAL_HOST, "localhost", "testserver"],  # the sandbox: localhost
        TIKTOK_APP_ID=APP_ID,
        TIKTOK_APP_SECRET=APP_SECRET,
    ):
        yield Client(HTTP_HOST=INTERNAL_HOST)


def begin(client, integration):
    cost_url = reverse("integrations:setup", args=[integration.app.app_id, integration.pk, "cost"])
    return client.post(
        reverse("social:begin", args=["tiktok-business"]),
        {"cost_integration": integration.pk, "next": cost_url},
    )


def test_the_authorization_page_gets_the_public_redirect_uri(behind_a_proxy, app, marketer):
    integration = factories.make_integration(app, "tiktokglobal_int")
    behind_a_proxy.force_login(marketer)
    with override_settings(TIKTOK_API_BASE_URL="https://tiktok.example"):
        response = begin(behind_a_proxy, integration)
    assert response.status_code == 302
    query = parse_qs(urlparse(response["Location"]).query)
    assert query["redirect_uri"] == [REGISTERED]


def test_a_connect_through_the_internal_host_completes_with_the_public_redirect_uri(
    behind_a_proxy, app, marketer, tiktok_sandbox
):
    integration = factories.make_integration(app, "tiktokglobal_int")
    behind_a_proxy.force_login(marketer)
    authorize = urlparse(begin(behind_a_proxy, integration)["Location"])
    query = {key: values[0] for key, values in parse_qs(authorize.query).items()}
    # The advertiser approves on TikTok's page (the sandbox), which sends them back.
    consent = Client().post(
        authorize.path, {**query, "advertiser_id": ["7012345678901234567"], "approve": ""}
    )
    back = urlparse(consent["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REGISTERED
    assert AuthCode.objects.get().redirect_uri == REGISTERED
    # The proxy hands the callback to us under the internal host again.
    done = behind_a_proxy.get(f"{back.path}?{back.query}")
    assert done.status_code == 302
    connection = CostConnection.objects.get(integration=integration)
    assert connection.advertisers.count() == 1
