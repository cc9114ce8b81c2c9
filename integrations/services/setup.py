"""Setting up an integration: what the marketplace and the setup tabs change.

Each function validates, writes in one transaction, and records who changed what in the
integration's history (secrets masked).
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from integrations import hooks
from integrations.models import (
    App,
    Integration,
    Partner,
    Pixel,
    Platform,
    PostbackWindowUnit,
)
from integrations.secrets import Secret
from integrations.services.audit import assign_changes, record_audit
from integrations.services.mapping import (
    MappingRow,
    MappingRowsInvalid,
    check_rows,
    replace_mappings,
)

PIXEL_CODE = re.compile(r"^[A-Za-z0-9]+\Z")
TIKTOK_APP_ID = re.compile(r"^[0-9]{5,32}\Z")
MIN_TOKEN_LENGTH = 16
# New values in these clear a "needs attention" caused by refused credentials.
CREDENTIAL_FIELDS = ("access_token", "pixel_code", "tiktok_app_id")

SETTINGS_FIELDS = (
    "ccpa_limited_data_use",
    "tiktok_app_id",
    "view_through_enabled",
    "install_postbacks",
)
POSTBACK_FIELDS = (
    "in_app_postbacks_enabled",
    "postback_window_value",
    "postback_window_unit",
    "block_flagged_installs",
)
WINDOW_LIMITS = {PostbackWindowUnit.HOURS: 168, PostbackWindowUnit.DAYS: 365}


def set_up_integration(app: App, partner: Partner, *, acting_user: AbstractBaseUser) -> Integration:
    """The marketplace's "Set up integration": create it inactive, or return the existing one."""
    with transaction.atomic():
        integration, created = Integration.objects.get_or_create(
            app=app,
            partner=partner,
            defaults={"link_base_url": app.website_url},
        )
        if created:
            record_audit(
                integration=integration,
                acting_user=acting_user,
                action="integration.created",
                changes={},
            )
    return integration


def missing_for_activation(integration: Integration, pixel: Pixel | None) -> list[str]:
    """What must be filled in before the partner can be activated (empty when ready)."""
    return list(_missing_by_field(integration, pixel).values())


def _missing_by_field(integration: Integration, pixel: Pixel | None) -> dict[str, str]:
    """Form field → what it lacks. Partners we send no events to (cost-only ones such as
    tiktokglobal_int) need no pixel, App ID or token: their Cost tab connects them."""
    partner = integration.partner
    if not partner.supports_events_api:
        return {}
    missing = {}
    if partner.is_app:
        if not TIKTOK_APP_ID.match(integration.tiktok_app_id or ""):
            missing["tiktok_app_id"] = "a TikTok App ID"
    elif pixel is None or not PIXEL_CODE.match(pixel.pixel_code or ""):
        missing["pixel_code"] = "a pixel ID"
    if pixel is None or not pixel.access_token:
        missing["access_token"] = "an Events API access token"  # noqa: S105 - a label
    return missing


def activation_errors(
    integration: Integration,
    pixel: Pixel | None,
    *,
    was_active: bool,
    fields: tuple[str, ...] | None = None,
) -> dict[str, str]:
    """Form field → error for an integration that is to be saved active (empty when it may).
    `fields` limits the check to the fields one form edits, e.g. the admin's Pixel inline."""
    missing = {
        field: what
        for field, what in _missing_by_field(integration, pixel).items()
        if fields is None or field in fields
    }
    if not missing:
        partner = integration.partner
        sends_app_events = partner.is_app and partner.supports_events_api
        if sends_app_events and integration.app.platform == Platform.WEB and not was_active:
            # A website's events cannot go to an app event source: TikTok refuses them all.
            return {
                "is_active": f"{integration.partner.name} takes app events, and "
                f"{integration.app.name} is a website: set up TikTok's web partner "
                "(tiktokweb_int) for it instead."
            }
        return {}
    if not was_active:
        return {"is_active": f"To activate, add {' and '.join(missing.values())} first."}
    # Already active: clearing what the partner needs would break forwarding silently.
    return {
        field: f"The active partner needs {what}. Enter it, or switch “Activate partner” off first."
        for field, what in missing.items()
    }


def credential_errors(
    *, pixel_code: str | None = None, access_token: str = "", tiktok_app_id: str = ""
) -> dict[str, str]:
    """Form field → error for credentials typed in (blank ones are not checked here; whether
    an active partner may lack them is `activation_errors`). The Integration tab and the admin
    both refuse with these words."""
    errors = {}
    if pixel_code and not PIXEL_CODE.match(pixel_code):
        errors["pixel_code"] = "A pixel ID has only letters and digits, e.g. CQ8RT3JC77U4D5MLS2A0."
    if access_token and (len(access_token) < MIN_TOKEN_LENGTH or " " in access_token):
        errors["access_token"] = "This does not look like an Events API access token."  # noqa: S105
    if tiktok_app_id and not TIKTOK_APP_ID.match(tiktok_app_id):
        errors["tiktok_app_id"] = "A TikTok App ID is a number, e.g. 7301234567890123456."
    return errors


def update_integration_settings(
    integration: Integration,
    *,
    acting_user: AbstractBaseUser,
    is_active: bool,
    settings: dict[str, Any],
    pixel_code: str | None = None,
    new_access_token: str = "",
) -> Integration:
    """Save the Integration tab's settings. A blank `new_access_token` keeps the stored token;
    a new token also clears a "needs attention" caused by rejected credentials, which resumes
    deliveries."""
    pixel_code = pixel_code.strip() if pixel_code is not None else None
    new_access_token = new_access_token.strip()
    tiktok_app_id = (settings.get("tiktok_app_id") or "").strip()
    errors = credential_errors(
        pixel_code=pixel_code, access_token=new_access_token, tiktok_app_id=tiktok_app_id
    )
    if errors:
        raise ValidationError(errors)
    if "tiktok_app_id" in settings:  # absent when the form does not show it: keep the stored one
        settings = {**settings, "tiktok_app_id": tiktok_app_id}

    with transaction.atomic():
        integration = Integration.objects.select_for_update().get(pk=integration.pk)
        pixel = Pixel.objects.filter(integration=integration).first()
        changes: dict[str, tuple[Any, Any]] = {}
        if pixel_code is not None or new_access_token:
            if pixel is None:
                pixel = Pixel(integration=integration)
            if pixel_code is not None and pixel.pixel_code != pixel_code:
                changes["pixel_code"] = (pixel.pixel_code, pixel_code)
                pixel.pixel_code = pixel_code
            if new_access_token and pixel.access_token != new_access_token:
                changes["access_token"] = (pixel.access_token, Secret(new_access_token))
                pixel.access_token = new_access_token
            if changes and pixel.pk is None:
                pixel.save(force_insert=True)
            elif changes:
                pixel.save(update_fields=["pixel_code", "access_token", "updated_at"])
        changes.update(assign_changes(integration, settings, SETTINGS_FIELDS))
        if is_active:
            errors = activation_errors(integration, pixel, was_active=integration.is_active)
            if errors:
                raise ValidationError(errors)
        if is_active and not integration.is_active:
            integration.activated_at = timezone.now()
        if is_active != integration.is_active:
            changes["is_active"] = (integration.is_active, is_active)
            integration.is_active = is_active
        credentials_changed = set(CREDENTIAL_FIELDS) & set(changes)
        if credentials_changed and integration.needs_attention:
            changes["needs_attention"] = (True, False)
            _clear_attention(integration)
        integration.save(
            update_fields=[*SETTINGS_FIELDS, "is_active", "activated_at", *ATTENTION_FIELDS]
        )
        if changes:
            record_audit(
                integration=integration,
                acting_user=acting_user,
                action="integration.settings_saved",
                changes=changes,
            )
    return integration


def update_postback_settings(
    integration: Integration,
    *,
    acting_user: AbstractBaseUser,
    settings: dict[str, Any],
    rows: list[MappingRow],
) -> Integration:
    """Save the in-app event postback switch, window and mapping table together."""
    settings = dict(settings)
    unit = settings.get("postback_window_unit") or PostbackWindowUnit.LIFETIME
    value = settings.get("postback_window_value")
    if unit == PostbackWindowUnit.LIFETIME:
        settings["postback_window_value"] = None
    elif not value or not 1 <= value <= WINDOW_LIMITS[unit]:
        limit = WINDOW_LIMITS[unit]
        raise ValidationError(
            {"postback_window_value": f"Enter 1 to {limit} {unit}, or choose Lifetime."}
        )
    row_errors = check_rows(integration.partner, rows)
    if row_errors:
        raise MappingRowsInvalid(row_errors)
    with transaction.atomic():
        integration = Integration.objects.select_for_update().get(pk=integration.pk)
        changes = assign_changes(integration, settings, POSTBACK_FIELDS)
        mapping_change = replace_mappings(integration, rows)
        if mapping_change:
            changes["mapping"] = mapping_change
        integration.save(update_fields=[*POSTBACK_FIELDS, "updated_at"])
        if changes:
            record_audit(
                integration=integration,
                acting_user=acting_user,
                action="integration.postbacks_saved",
                changes=changes,
            )
    return integration


# What clearing "needs attention" writes (with the row's updated_at).
ATTENTION_FIELDS = [
    "needs_attention",
    "attention_reason",
    "attention_code",
    "attention_since",
    "updated_at",
]


def _clear_attention(integration: Integration) -> None:
    integration.needs_attention = False
    integration.attention_reason = ""
    integration.attention_code = None
    integration.attention_since = None


def save_integration_tab(
    integration: Integration,
    *,
    acting_user: AbstractBaseUser,
    settings_arguments: dict[str, Any] | None,
    postback_arguments: dict[str, Any] | None,
) -> Integration:
    """The Integration tab's one Save: settings and postbacks together, or neither. A part the
    user may not edit is passed as None and left alone."""
    with transaction.atomic():
        if settings_arguments is not None:
            integration = update_integration_settings(
                integration, acting_user=acting_user, **settings_arguments
            )
        if postback_arguments is not None:
            integration = update_postback_settings(
                integration, acting_user=acting_user, **postback_arguments
            )
    return integration


def resume_deliveries(integration: Integration, *, acting_user: AbstractBaseUser) -> bool:
    """Clear "needs attention" without new credentials, e.g. after the pixel's access was fixed
    in TikTok. If the partner still refuses, the next delivery pauses it again."""
    with transaction.atomic():
        integration = Integration.objects.select_for_update().get(pk=integration.pk)
        if not integration.needs_attention:
            return False
        reason = integration.attention_reason
        _clear_attention(integration)
        integration.save(update_fields=ATTENTION_FIELDS)
        record_audit(
            integration=integration,
            acting_user=acting_user,
            action="integration.deliveries_resumed",
            changes={"needs_attention": (True, False)},
            details={"reason": reason},
        )
    return True


def save_admin_edit(
    obj: Model,
    *,
    integration: Integration,
    acting_user: AbstractBaseUser,
    changes: dict[str, tuple[Any, Any]],
) -> None:
    """Save a row edited in the operations admin (its form has applied the same checks as the
    pages), record the change in the integration's history, and, as on the Integration tab,
    let new credentials resume deliveries paused because the partner refused the old ones."""
    with transaction.atomic():
        obj.save()  # the admin form edits (or adds) the whole row
        if changes:
            record_audit(
                integration=integration,
                acting_user=acting_user,
                action="admin.changed",
                changes=changes,
                details={"what": str(obj._meta.verbose_name)},
            )
        if set(CREDENTIAL_FIELDS) & set(changes):
            resume_deliveries(integration, acting_user=acting_user)


def use_sandbox_credentials(integration: Integration, *, acting_user: AbstractBaseUser) -> str:
    """Sandbox mode only: create a pixel (or, for an app partner, a TikTok App ID) and its
    access token in the built-in TikTok sandbox and save them on the integration, as a marketer
    would paste them from Events Manager. Returns the new pixel code or App ID."""
    create = hooks.sandbox_credentials()
    if create is None:
        raise ValidationError("The TikTok sandbox is off: paste a real pixel ID and token.")
    partner = integration.partner
    source_id, token = create(
        "app" if partner.is_app else "web", f"{integration.app.name} ({partner.name})"
    )
    update_integration_settings(
        integration,
        acting_user=acting_user,
        is_active=integration.is_active,
        settings={"tiktok_app_id": source_id} if partner.is_app else {},
        pixel_code=None if partner.is_app else source_id,
        new_access_token=token,
    )
    return source_id
