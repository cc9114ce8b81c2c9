"""Admins grant a partner, or single members of its team, permissions on one app's data."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from integrations.models import App, Integration, Partner, PartnerPermission, PartnerUser
from integrations.services.audit import record_audit

GRANTS = PartnerPermission.GRANTS


def update_partner_permissions(
    app: App,
    partner: Partner,
    *,
    acting_user: AbstractBaseUser,
    acts_as: str,
    partner_wide: dict[str, bool],
    members: dict[int, dict[str, bool] | None],
    integration: Integration | None = None,
) -> None:
    """Save the partner-wide grants and each member's own grants. A member mapped to None
    follows the partner-wide row (their own row is removed)."""
    with transaction.atomic():
        changes = {}
        row, _ = PartnerPermission.objects.select_for_update().get_or_create(
            app=app, partner=partner, partner_user=None
        )
        changes.update(_apply(row, partner_wide, acts_as=acts_as, label=partner.media_source))
        team = {member.pk: member for member in PartnerUser.objects.filter(partner=partner)}
        for member_id, grants in members.items():
            member = team.get(member_id)
            if member is None:
                continue
            label = member.user.get_username()
            own = PartnerPermission.objects.filter(app=app, partner_user=member).first()
            if grants is None:
                if own is not None:
                    own.delete()
                    changes[f"{label}"] = ("own permissions", "same as partner")
                continue
            if own is None:
                own = PartnerPermission(app=app, partner=partner, partner_user=member)
                changes[f"{label}"] = ("same as partner", "own permissions")
            changes.update(_apply(own, grants, acts_as=acts_as, label=label))
        if changes:
            record_audit(
                app=app,
                integration=integration,
                acting_user=acting_user,
                action="partner.permissions_saved",
                changes=changes,
            )


def _apply(row: PartnerPermission, grants: dict[str, bool], *, acts_as: str, label: str) -> dict:
    changes: dict[str, tuple[Any, Any]] = {}
    for grant in GRANTS:
        new = bool(grants.get(grant, False))
        if getattr(row, grant) != new:
            field = PartnerPermission._meta.get_field(grant)
            changes[f"{label}: {getattr(field, 'verbose_name', grant)}"] = (
                getattr(row, grant),
                new,
            )
            setattr(row, grant, new)
    if row.acts_as != acts_as:
        changes[f"{label}: acts as"] = (row.acts_as, acts_as)
        row.acts_as = acts_as
    if row.pk is None:
        row.save(force_insert=True)
    elif changes:
        row.save(update_fields=[*GRANTS, "acts_as", "updated_at"])
    return changes
