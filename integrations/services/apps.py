"""Apps and their server API keys."""

from __future__ import annotations

import hashlib
import secrets as pysecrets
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from integrations.models import App, AppMembership, Role
from integrations.secrets import mask_secret
from integrations.services.audit import record_audit

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
        app.save(force_insert=True)
        if acting_user is not None:
            AppMembership.objects.create(user_id=acting_user.pk, app=app, role=Role.ADMIN)
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


def save_new_app(app: App, *, acting_user: AbstractBaseUser | None) -> str:
    """Save an app made in the operations admin: give it a server API key (returned, to be
    shown once) and record its creation."""
    with transaction.atomic():
        raw_key = give_api_key(app)
        app.save(force_insert=True)
        record_audit(app=app, acting_user=acting_user, action="app.created", changes={})
    return raw_key


def save_admin_app_edit(
    app: App, *, acting_user: AbstractBaseUser | None, changes: dict[str, tuple[Any, Any]]
) -> None:
    """Save the fields of an app edited in the operations admin (its model form has validated
    them) and record the change in the app's history."""
    if not changes:
        return
    with transaction.atomic():
        app.save(update_fields=list(changes))
        record_audit(app=app, acting_user=acting_user, action="app.edited", changes=changes)


APP_EDITABLE_FIELDS = (
    "name", "store_id", "website_url", "domains", "timezone", "currency", "loyal_after_sessions",
    "ios_app", "android_app",
)  # fmt: skip


def update_app(app: App, *, acting_user: AbstractBaseUser, **fields: Any) -> dict[str, Any]:
    """Change an app's settings from its settings page; returns what changed (for the history).
    The app id and platform are fixed once created (they are in links and SDK setups)."""
    unknown = set(fields) - set(APP_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    changes = {
        name: (getattr(app, name), value)
        for name, value in fields.items()
        if getattr(app, name) != value
    }
    if not changes:
        return {}
    with transaction.atomic():
        for name, (_old, value) in changes.items():
            setattr(app, name, value)
        app.full_clean()
        app.save(update_fields=list(changes))
        record_audit(app=app, acting_user=acting_user, action="app.edited", changes=changes)
    return changes
