"""The subscription receivers' settings: saved here only, secrets write-only."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from integrations.models import App, SubscriptionReceivers
from integrations.secrets import Secret
from integrations.services.audit import record_audit


def receivers_of(app: App) -> SubscriptionReceivers:
    """The app's settings, unsaved defaults when it has none yet."""
    found = SubscriptionReceivers.objects.filter(app=app).first()
    return found or SubscriptionReceivers(app=app, google_package_name=app.store_id)


def save_receivers(
    app: App,
    *,
    acting_user: AbstractBaseUser,
    apple_bundle_id: str,
    apple_app_apple_id: int | None,
    google_package_name: str,
    google_push_token: str = "",
    revenuecat_authorization: str = "",
    google_service_account: str = "",
    forget: tuple[str, ...] = (),
) -> SubscriptionReceivers:
    """Blank secret fields keep what is stored; `forget` names secrets to clear."""
    with transaction.atomic():
        row = SubscriptionReceivers.objects.select_for_update().filter(app=app).first()
        row = row or SubscriptionReceivers(app=app)
        changes: dict[str, tuple[object, object]] = {}
        for name, value in (
            ("apple_bundle_id", apple_bundle_id),
            ("apple_app_apple_id", apple_app_apple_id),
            ("google_package_name", google_package_name),
        ):
            if getattr(row, name) != value:
                changes[name] = (getattr(row, name), value)
                setattr(row, name, value)
        for name, value in (
            ("google_push_token", google_push_token),
            ("revenuecat_authorization", revenuecat_authorization),
            ("google_service_account", google_service_account),
        ):
            old = getattr(row, name)
            if name in forget:
                new = Secret("")
            elif value:
                new = Secret(value)
            else:
                continue
            if old != new:
                changes[name] = (old, new)
                setattr(row, name, new)
        row.full_clean()
        row.save()
        if changes:
            record_audit(
                app=app, acting_user=acting_user, action="subscriptions.saved", changes=changes
            )
    return row
