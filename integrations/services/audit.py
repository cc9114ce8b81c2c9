"""The integration's history: who changed what, secrets masked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from integrations.models import App, AuditEntry, Integration
from integrations.secrets import Secret


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
    acting_user: AbstractBaseUser | None,
    action: str,
    changes: dict[str, Any],
    integration: Integration | None = None,
    app: App | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry to the history: of an integration (its app is derived) or, for what is not
    one integration's, of an app."""
    if integration is not None:
        if app is not None and app.pk != integration.app_id:
            raise ValueError("record_audit: the integration belongs to another app")
        app = integration.app
    if app is None:
        raise ValueError("record_audit needs an integration or an app")
    return AuditEntry.objects.create(
        app=app,
        integration=integration,
        actor_id=acting_user.pk
        if acting_user is not None and acting_user.is_authenticated
        else None,
        action=action,
        changes={
            field: [audit_value(old), audit_value(new)] for field, (old, new) in changes.items()
        },
        details=details or {},
    )


def assign_changes(instance: Integration, values: dict[str, Any], fields: tuple[str, ...]) -> dict:
    """Set `values` (those named in `fields`) on `instance`; return {field: (old, new)} of what
    changed, for the history."""
    changes = {}
    for name in fields:
        if name not in values:
            continue
        old, new = getattr(instance, name), values[name]
        if old != new:
            changes[name] = (old, new)
            setattr(instance, name, new)
    return changes
