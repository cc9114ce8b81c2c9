"""The Cost tab and its buttons (Log in to TikTok, Save cost, Pull now, Delete connection), as
each role meets them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from integrations.models import CostAdvertiser, CostConnection, CostPull
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import ReceivedRequest
from tests import factories

APP_ID = "7301234567890123457"


@pytest.fixture
def cost_integration(app):
    return factories.make_integration(app, "tiktokglobal_int")


@pytest.fixture
def connection(cost_integration):
    connection = CostConnection.objects.create(
        integration=cost_integration, label="Agency", access_token="t" * 40
    )
    CostAdvertiser.objects.create(
        connection=connection,
        advertiser_id="7012345678901234568",
        name="Trailhead Shop US",
        currency="USD",
        timezone="Etc/GMT+5",
    )
    return connection


def cost_url(integration):
    return reverse("integrations:setup", args=[integration.app.app_id, integration.pk, "cost"])


@pytest.mark.parametrize(
    ("persona", "status"),
    [("admin_user", 200), ("marketer", 200), ("analyst", 403), ("outsider", 404)],
)
def test_only_admins_and_marketers_open_the_cost_tab(
    client, cost_integration, persona, status, request
):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(cost_url(cost_integration)).status_code == status


def test_a_partner_without_the_integration_grant_cannot_open_it(
    client, app, cost_integration, partner_user
):
    factories.grant(app, "tiktokglobal_int", can_configure_integration=True)
    client.force_login(partner_user)  # works for tiktokweb_int, not the cost partner
    assert client.get(cost_url(cost_integration)).status_code == 404


def test_the_web_partner_has_no_cost_tab(client, app, marketer):
    integration = factories.make_integration(app, "tiktokweb_int")
    client.force_login(marketer)
    assert client.get(cost_url(integration)).status_code == 404


def test_connecting_starts_only_with_a_post_carrying_a_csrf_token(cost_integration, marketer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    begin = reverse("social:begin", args=["tiktok-business"])
    assert client.get(begin).status_code == 405
    assert client.post(begin, {"cost_integration": cost_integration.pk}).status_code == 403

    client.get(cost_url(cost_integration))
    with override_settings(
        TIKTOK_APP_ID=APP_ID,
        TIKTOK_API_BASE_URL="https://tiktok.example",
        PUBLIC_BASE_URL="https://signalboard.example",
    ):
        response = client.post(
            begin,
            {
                "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
                "cost_integration": cost_integration.pk,
                "next": cost_url(cost_integration),
            },
        )
    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == "https://tiktok.example/portal/auth"
    query = parse_qs(target.query)
    assert query["app_id"] == [APP_ID]
    assert query["redirect_uri"] == ["https://signalboard.example/oauth/complete/tiktok-business/"]
    assert len(query["state"][0]) >= 32
    assert "%2F%2Fsignalboard.example" in response["Location"]  # redirect_uri goes URL-encoded


def test_an_anonymous_callback_connects_nothing(client, cost_integration):
    response = client.get(
        reverse("social:complete", args=["tiktok-business"]), {"auth_code": "x", "state": "y"}
    )
    assert response.status_code == 302
    assert not CostConnection.objects.exists()


def test_saving_cost_with_an_unknown_advertiser_changes_nothing(
    client, marketer, cost_integration, connection
):
    other = factories.make_app()
    stranger = CostConnection.objects.create(
        integration=factories.make_integration(other, "tiktokglobal_int"), access_token="u" * 40
    )
    foreign = CostAdvertiser.objects.create(connection=stranger, advertiser_id="1")
    client.force_login(marketer)
    response = client.post(
        cost_url(cost_integration), {"is_enabled": "on", "advertisers": [foreign.pk]}
    )
    assert response.status_code == 400
    assert "not part of a live connection" in response.content.decode()
    cost_integration.refresh_from_db()
    assert not cost_integration.cost_enabled
    assert not CostPull.objects.exists()


def test_enabling_cost_without_an_advertiser_is_refused(
    client, marketer, cost_integration, connection
):
    client.force_login(marketer)
    response = client.post(cost_url(cost_integration), {"is_enabled": "on"})
    assert response.status_code == 400
    assert "Pick at least one advertiser" in response.content.decode()
    cost_integration.refresh_from_db()
    assert not cost_integration.cost_enabled


def test_pull_now_needs_cost_turned_on(client, marketer, cost_integration, connection):
    client.force_login(marketer)
    url = reverse(
        "integrations:cost-pull",
        args=[cost_integration.app.app_id, cost_integration.pk, connection.pk],
    )
    response = client.post(url, follow=True)
    assert "Turn on “Get cost data”" in response.content.decode()
    assert not CostPull.objects.exists()


def test_an_analyst_cannot_pull_or_delete(client, analyst, cost_integration, connection):
    client.force_login(analyst)
    args = [cost_integration.app.app_id, cost_integration.pk, connection.pk]
    assert client.post(reverse("integrations:cost-pull", args=args)).status_code == 403
    assert client.post(reverse("integrations:cost-delete", args=args)).status_code == 403
    connection.refresh_from_db()
    assert connection.status == CostConnection.Status.CONNECTED


def test_the_tab_shows_the_token_masked_and_never_whole(
    client, marketer, cost_integration, connection
):
    client.force_login(marketer)
    body = client.get(cost_url(cost_integration)).content.decode()
    assert "t" * 40 not in body
    assert "••••tttt" in body
    assert "Trailhead Shop US" in body


def test_pull_now_and_delete_over_the_sandbox(
    client, marketer, cost_integration, connection, tiktok_sandbox
):
    token = state.issue_token(advertiser_ids=["7012345678901234568"])
    connection.access_token = token
    connection.save()
    connection.advertisers.update(is_selected=True)
    cost_integration.cost_enabled = True
    cost_integration.save()
    client.force_login(marketer)
    args = [cost_integration.app.app_id, cost_integration.pk, connection.pk]
    with override_settings(TIKTOK_APP_ID=APP_ID, TIKTOK_APP_SECRET="s" * 40):
        response = client.post(reverse("integrations:cost-pull", args=args), follow=True)
        assert "Pulling cost for Agency" in response.content.decode()
        pull = CostPull.objects.get()
        assert pull.trigger == CostPull.Trigger.MANUAL
        assert pull.status == CostPull.Status.SUCCEEDED, pull.error
        assert "Succeeded" in response.content.decode()

        response = client.post(reverse("integrations:cost-delete", args=args), follow=True)
    assert "TikTok revoked its access token" in response.content.decode()
    assert state.find_token(token).revoked_at is not None
    connection.refresh_from_db()
    assert connection.status == CostConnection.Status.REVOKED


@pytest.fixture
def live_connection(cost_integration, connection, tiktok_sandbox):
    """The connection holding a real sandbox token that can still pull."""
    token = state.issue_token(advertiser_ids=["7012345678901234568"])
    connection.access_token = token
    connection.save()
    return connection, token


def delete(client, connection):
    integration = connection.integration
    args = [integration.app.app_id, integration.pk, connection.pk]
    with override_settings(TIKTOK_APP_ID=APP_ID, TIKTOK_APP_SECRET="s" * 40):
        response = client.post(reverse("integrations:cost-delete", args=args), follow=True)
    return response.content.decode()


def revoke_calls():
    return ReceivedRequest.objects.filter(path__contains="oauth2/revoke_token")


@pytest.mark.parametrize("fault", ["server_error", "bad_gateway", "rate_limit"])
def test_a_failed_revocation_keeps_the_connection_and_says_so(
    client, marketer, live_connection, fault
):
    connection, token = live_connection
    state.add_fault(APP_ID, fault)
    client.force_login(marketer)
    body = delete(client, connection)
    assert "TikTok revoked" not in body
    assert "Nothing was deleted" in body
    assert "TikTok did not confirm the revocation" in body
    assert revoke_calls().count() == 1
    assert state.find_token(token).revoked_at is None
    connection.refresh_from_db()
    assert connection.status == CostConnection.Status.CONNECTED
    assert connection.access_token.reveal() == token  # kept, so the revocation can be retried

    body = delete(client, connection)  # TikTok is back: the retry revokes and deletes
    assert "TikTok revoked its access token" in body
    assert state.find_token(token).revoked_at is not None
    connection.refresh_from_db()
    assert connection.status == CostConnection.Status.REVOKED


def test_an_unreachable_tiktok_keeps_the_connection_and_says_so(client, marketer, live_connection):
    connection, token = live_connection
    client.force_login(marketer)
    with override_settings(TIKTOK_API_BASE_URL="http://127.0.0.1:9", TIKTOK_HTTP_TIMEOUT=2):
        body = delete(client, connection)
    assert "TikTok revoked" not in body
    assert "Nothing was deleted" in body
    assert "TikTok could not be reached" in body
    connection.refresh_from_db()
    assert connection.status == CostConnection.Status.CONNECTED
    assert state.find_token(token).revoked_at is None


def test_a_token_tiktok_already_refuses_is_deleted_without_claiming_a_revocation(
    client, marketer, live_connection
):
    connection, token = live_connection
    state.revoke_token(token)  # the advertiser removed the access in TikTok for Business
    client.force_login(marketer)
    body = delete(client, connection)
    assert "TikTok revoked its access token" not in body
    assert "TikTok no longer accepted its access token" in body
    connection.refresh_from_db()
    assert connection.status == CostConnection.Status.REVOKED
    assert not connection.access_token


def test_a_broken_connection_is_deleted_without_a_call_or_a_claimed_revocation(
    client, marketer, live_connection
):
    connection, _ = live_connection
    connection.status = CostConnection.Status.BROKEN
    connection.save()
    client.force_login(marketer)
    body = delete(client, connection)
    assert "TikTok revoked" not in body
    assert "TikTok had already refused its access token" in body
    assert not revoke_calls().exists()
    connection.refresh_from_db()
    assert connection.status == CostConnection.Status.REVOKED
