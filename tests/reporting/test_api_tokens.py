"""Profile → API tokens: created and shown once, stored as a fingerprint, revocable."""

from __future__ import annotations

import hashlib

from django.urls import reverse

from reporting.models import ApiToken
from tests import factories


def test_a_new_token_is_shown_once_and_only_its_hash_is_kept(client, analyst):
    client.force_login(analyst)
    url = reverse("reporting:api-tokens")
    response = client.post(url, {"name": "Airbyte"})
    token = response.context["new_token"]
    assert token.startswith("sbr_") and token in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    stored = ApiToken.objects.get(user=analyst)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.hint == "…" + token[-4:]
    assert token not in str(ApiToken.objects.values().get())
    again = client.get(url).content.decode()
    assert token not in again
    assert "Airbyte" in again and stored.hint in again


def test_a_token_needs_a_name(client, analyst):
    client.force_login(analyst)
    response = client.post(reverse("reporting:api-tokens"), {"name": ""})
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_users_revoke_only_their_own_tokens(client, analyst, app):
    other = factories.make_user("mallory")
    client.force_login(other)
    client.post(reverse("reporting:api-tokens"), {"name": "mine"})
    theirs = ApiToken.objects.get(user=other)
    client.force_login(analyst)
    client.post(reverse("reporting:api-tokens"), {"revoke": theirs.pk})
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    client.force_login(other)
    response = client.post(reverse("reporting:api-tokens"), {"revoke": theirs.pk}, follow=True)
    theirs.refresh_from_db()
    assert theirs.revoked_at is not None
    assert "Revoked “mine”" in response.content.decode()


def test_the_token_page_needs_a_login(client):
    response = client.get(reverse("reporting:api-tokens"))
    assert response.status_code == 302
