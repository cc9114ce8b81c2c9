"""Domain operations on apps and integrations. Views, admin, tasks and other apps call these."""

from __future__ import annotations

import hashlib
import secrets as pysecrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.models import (
    App,
    AppMembership,
    AuditEntry,
    Integration,
    MatchKeyTally,
    Role,
    SeenEventName,
)
from integrations.secrets import Secret, mask_secret
from integrations.tiktok.match_quality import KEYS, coverage_day

API_KEY_PREFIX = "sk_"


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def generate_api_key() -> str:
    return API_KEY_PREFIX + pysecrets.token_urlsafe(32)


def create_app(*, acting_user: AbstractBaseUser | None, **fields: Any) -> tuple[App, str]:
    """Create an app, make its creator an admin, and return the server API key (shown once)."""
    with transaction.atomic():
        app = App(**fields)
        raw_key = give_api_key(app)
        app.full_clean()
        app.save()
        if acting_user is not None:
            AppMembership.objects.create(user=acting_user, app=app, role=Role.ADMIN)
        record_audit(app=app, acting_user=acting_user, action="app.created", changes={})
    return app, raw_key


def give_api_key(app: App) -> str:
    """Set a fresh server API key on an unsaved app (only its hash and hint are kept) and
    return the key, to be shown once."""
    raw_key = generate_api_key()
    app.api_key_hash = hash_api_key(raw_key)
    app.api_key_hint = mask_secret(raw_key)
    return raw_key


def rotate_api_key(app: App, *, acting_user: AbstractBaseUser | None) -> str:
    """Replace the server API key. The old key stops working at once; the new one is returned
    once and only its hash is kept."""
    raw_key = generate_api_key()
    with transaction.atomic():
        old_hint = app.api_key_hint
        app.api_key_hash = hash_api_key(raw_key)
        app.api_key_hint = mask_secret(raw_key)
        app.save(update_fields=["api_key_hash", "api_key_hint"])
        record_audit(
            app=app,
            acting_user=acting_user,
            action="app.api_key_rotated",
            changes={"api_key": [old_hint, app.api_key_hint]},
        )
    return raw_key


def find_app_by_api_key(raw_key: str) -> App | None:
    if not raw_key:
        return None
    return App.objects.filter(api_key_hash=hash_api_key(raw_key)).first()


def audit_value(value: Any) -> Any:
    """How a field's value is written into the history: secrets masked, rest JSON-friendly."""
    if isinstance(value, Secret):
        return value.hint
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool | list | dict) or value is None:
        return value
    return str(value)


def record_audit(
    *,
    app: App,
    acting_user: AbstractBaseUser | None,
    action: str,
    changes: dict[str, Any],
    integration: Integration | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        app=app,
        integration=integration,
        actor=acting_user if acting_user is not None and acting_user.is_authenticated else None,
        action=action,
        changes={
            field: [audit_value(old), audit_value(new)] for field, (old, new) in changes.items()
        },
        details=details or {},
    )


def record_seen_event_names(
    app_pk: int, names: Iterable[str], seen_at: datetime | None = None
) -> None:
    """Remember event names an app has sent, so the mapping page can offer them. Called by
    `events` when it stores events; one query for the known names, one insert for new ones."""
    seen_at = seen_at or timezone.now()
    wanted = {name for name in names if name}
    if not wanted:
        return
    known = set(
        SeenEventName.objects.filter(app_id=app_pk, name__in=wanted).values_list("name", flat=True)
    )
    SeenEventName.objects.bulk_create(
        [
            SeenEventName(app_id=app_pk, name=name, first_seen_at=seen_at, last_seen_at=seen_at)
            for name in sorted(wanted - known)
        ],
        ignore_conflicts=True,
    )
    if known:
        SeenEventName.objects.filter(app_id=app_pk, name__in=known).update(last_seen_at=seen_at)


def mark_needs_attention(integration_id: int, *, code: int | None, reason: str) -> bool:
    """Pause an integration's deliveries because the partner refused our credentials. Called by
    `events` when a delivery fails that way; replacing the token on the Integration tab clears
    it. Returns True when this call is what raised the flag (it is recorded once)."""
    with transaction.atomic():
        integration = (
            Integration.objects.select_for_update().select_related("app").get(pk=integration_id)
        )
        if integration.needs_attention:
            return False
        integration.needs_attention = True
        integration.attention_code = code
        integration.attention_reason = reason[:300]
        integration.attention_since = timezone.now()
        integration.save(
            update_fields=[
                "needs_attention",
                "attention_code",
                "attention_reason",
                "attention_since",
                "updated_at",
            ]
        )
        record_audit(
            app=integration.app,
            integration=integration,
            acting_user=None,
            action="integration.needs_attention",
            changes={"needs_attention": (False, True)},
            details={"code": code, "reason": reason},
        )
    return True


def record_delivery_outcome(integration_id: int, *, ok: bool, at: datetime) -> None:
    """The delivery summary shown in Active Integrations (written by `events`)."""
    Integration.objects.filter(pk=integration_id).update(last_delivery_at=at, last_delivery_ok=ok)


def record_match_keys(integration: Integration, *, at: datetime, masks: Sequence[int]) -> None:
    """Add delivered postbacks and the match keys each carried (MatchKey bitmasks) to the
    integration's tally for that day (written by `events` after each delivered batch). The row
    is created once and then incremented in the database, so concurrent workers add up."""
    if not masks:
        return
    day = coverage_day(integration.app, at)
    increments = {
        info.code: F(info.code) + count
        for info in KEYS
        if (count := sum(1 for mask in masks if mask & info.key))
    }
    MatchKeyTally.objects.bulk_create(
        [MatchKeyTally(integration_id=integration.pk, day=day)], ignore_conflicts=True
    )
    MatchKeyTally.objects.filter(integration_id=integration.pk, day=day).update(
        delivered=F("delivered") + len(masks), **increments
    )
