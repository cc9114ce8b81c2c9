"""Per-user Pull API tokens: created on the profile page, shown once, kept only as a SHA-256,
revocable. A token acts with its user's roles, so it reads exactly what the user may read."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import router, transaction
from django.utils import timezone

from reporting.models import ApiToken

TOKEN_PREFIX = "sbr_"  # noqa: S105 - a prefix that makes leaked tokens easy to spot
# Writing last_used_at on every call would turn each pull into a write; once a minute is plenty.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def create_api_token(*, acting_user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token for `acting_user`; the raw token is returned once and never stored."""
    raw_token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=acting_user,
        name=name.strip(),
        token_hash=hash_token(raw_token),
        hint="…" + raw_token[-4:],
    )
    return token, raw_token


def revoke_api_token(*, acting_user: AbstractBaseUser, token_id: int) -> ApiToken | None:
    """Revoke one of the user's own tokens; it stops working at once."""
    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update()
            .filter(pk=token_id, user=acting_user, revoked_at__isnull=True)
            .first()
        )
        if token is None:
            return None
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def user_for_token(raw_token: str) -> AbstractBaseUser | None:
    """The active user behind a live token, or None."""
    if not raw_token.startswith(TOKEN_PREFIX):
        return None
    # Read on the primary even when the Pull API reads a replica: a token made a moment ago
    # must work at once.
    token = (
        ApiToken.objects.using(router.db_for_write(ApiToken))
        .select_related("user")
        .filter(token_hash=hash_token(raw_token), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
