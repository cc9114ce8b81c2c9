"""Setting up an integration: what the marketplace and the setup tabs change.

Each function validates, writes in one transaction, and records who changed what in the
integration's history (secrets masked).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations.mapping_rules import MappingRow, check_rows
from integrations.models import (
    App,
    EventMapping,
    Integration,
    Partner,
    PartnerDefaultMapping,
    Pixel,
    PostbackWindowUnit,
)
from integrations.secrets import Secret
from integrations.services import record_audit

PIXEL_CODE = re.compile(r"^[A-Za-z0-9]+\Z")
TIKTOK_APP_ID = re.compile(r"^[0-9]{5,32}\Z")
MIN_TOKEN_LENGTH = 16

SETTINGS_FIELDS = (
    "ccpa_limited_data_use",
    "tiktok_app_id",
    "view_through_enabled",
    "install_postbacks",
)
POSTBACK_FIELDS = ("in_app_postbacks_enabled", "postback_window_value", "postback_window_unit")
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
                app=app,
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
    if partner.event_source == "app":
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
        return {}
    if not was_active:
        return {"is_active": f"To activate, add {' and '.join(missing.values())} first."}
    # Already active: clearing what the partner needs would break forwarding silently.
    return {
        field: f"The active partner needs {what}. Enter it, or switch “Activate partner” off first."
        for field, what in missing.items()
    }


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
    errors = {}
    if pixel_code and not PIXEL_CODE.match(pixel_code):
        errors["pixel_code"] = "A pixel ID has only letters and digits, e.g. CQ8RT3JC77U4D5MLS2A0."
    if new_access_token and (len(new_access_token) < MIN_TOKEN_LENGTH or " " in new_access_token):
        errors["access_token"] = "This does not look like an Events API access token."  # noqa: S105
    tiktok_app_id = (settings.get("tiktok_app_id") or "").strip()
    if tiktok_app_id and not TIKTOK_APP_ID.match(tiktok_app_id):
        errors["tiktok_app_id"] = "A TikTok App ID is a number, e.g. 7301234567890123456."
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
            if changes:
                pixel.save()
        changes.update(_assign(integration, settings, SETTINGS_FIELDS))
        if is_active:
            errors = activation_errors(integration, pixel, was_active=integration.is_active)
            if errors:
                raise ValidationError(errors)
        if is_active and not integration.is_active:
            integration.activated_at = timezone.now()
        if is_active != integration.is_active:
            changes["is_active"] = (integration.is_active, is_active)
            integration.is_active = is_active
        credentials_changed = {"access_token", "pixel_code", "tiktok_app_id"} & set(changes)
        if credentials_changed and integration.needs_attention:
            changes["needs_attention"] = (True, False)
            _clear_attention(integration)
        integration.save()
        if changes:
            record_audit(
                app=integration.app,
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
        changes = _assign(integration, settings, POSTBACK_FIELDS)
        mapping_change = _replace_mappings(integration, rows)
        if mapping_change:
            changes["mapping"] = mapping_change
        integration.save()
        if changes:
            record_audit(
                app=integration.app,
                integration=integration,
                acting_user=acting_user,
                action="integration.postbacks_saved",
                changes=changes,
            )
    return integration


class MappingRowsInvalid(ValidationError):
    """Errors keyed by row index, so the page can show each next to its row."""

    def __init__(self, row_errors: dict[int, dict[str, str]]) -> None:
        self.row_errors = row_errors
        super().__init__(
            [
                f"Row {index + 1}: {message}"
                for index, e in row_errors.items()
                for message in e.values()
            ]
        )


def default_mapping_rows(integration: Integration) -> list[tuple[MappingRow, bool]]:
    """The catalog's default rows as (row, is_primary)."""
    return [
        (
            MappingRow(
                app_event_name=default.app_event_name,
                partner_event_name=default.partner_event_name,
                including=default.including,
                is_enabled=default.is_primary,
            ),
            default.is_primary,
        )
        for default in PartnerDefaultMapping.objects.filter(partner=integration.partner)
    ]


def update_attribution_link(
    integration: Integration,
    *,
    acting_user: AbstractBaseUser,
    link_base_url: str,
    link_parameters: list[list[str]],
    click_lookback_days: int,
    view_lookback_hours: int,
) -> Integration:
    with transaction.atomic():
        integration = Integration.objects.select_for_update().get(pk=integration.pk)
        changes = _assign(
            integration,
            {
                "link_base_url": link_base_url,
                "link_parameters": link_parameters,
                "click_lookback_days": click_lookback_days,
                "view_lookback_hours": view_lookback_hours,
            },
            ("link_base_url", "link_parameters", "click_lookback_days", "view_lookback_hours"),
        )
        if changes:
            integration.save()
            record_audit(
                app=integration.app,
                integration=integration,
                acting_user=acting_user,
                action="integration.attribution_link_saved",
                changes=changes,
            )
    return integration


def _assign(instance: Integration, values: dict[str, Any], fields: tuple[str, ...]) -> dict:
    changes = {}
    for name in fields:
        if name not in values:
            continue
        old, new = getattr(instance, name), values[name]
        if old != new:
            changes[name] = (old, new)
            setattr(instance, name, new)
    return changes


def _replace_mappings(
    integration: Integration, rows: list[MappingRow]
) -> tuple[list[str], list[str]] | None:
    """Make the stored rows equal `rows` (in order). Returns (removed, added) for the history."""
    before = [
        _describe(MappingRow(**{k: getattr(m, k) for k in MappingRow.__dataclass_fields__}))
        for m in integration.mappings.all()
    ]
    after = [_describe(row) for row in rows]
    if before == after:
        return None
    integration.mappings.all().delete()
    EventMapping.objects.bulk_create(
        [
            EventMapping(integration=integration, sort_order=order, **asdict(row))
            for order, row in enumerate(rows)
        ]
    )
    return sorted(set(before) - set(after)), sorted(set(after) - set(before))


def _describe(row: MappingRow) -> str:
    state = "" if row.is_enabled else " (off)"
    conditions = f", {len(row.conditions)} condition(s)" if row.conditions else ""
    return (
        f"{row.app_event_name} → {row.partner_event_name} [{row.users_from}, "
        f"{row.including}{conditions}]{state}"
    )


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
        integration.save()
        record_audit(
            app=integration.app,
            integration=integration,
            acting_user=acting_user,
            action="integration.deliveries_resumed",
            changes={"needs_attention": (True, False)},
            details={"reason": reason},
        )
    return True
