"""Who works on an app: invitations by email (a signed, one-time, expiring link), roles, and
removal, with the one rule that keeps an app manageable: it always has an admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from smtplib import SMTPException

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from integrations.models import App, AppMembership, Integration, Invitation, PartnerUser, Role
from integrations.services.audit import record_audit

INVITE_SALT = "signalboard.invitation"
INVITE_VALID_FOR = timedelta(days=7)
LAST_ADMIN = "An app needs at least one admin: make someone else admin first."


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    link: str


def invite(app: App, *, email: str, role: str, acting_user: AbstractBaseUser) -> SentInvitation:
    """Record the invitation and email its link. Someone who is already a member is refused."""
    email = email.strip().lower()
    if AppMembership.objects.filter(app=app, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {app.name}."})
    with transaction.atomic():
        invitation = Invitation.objects.create(
            app=app, email=email, role=role, invited_by_id=acting_user.pk
        )
        record_audit(
            app=app,
            acting_user=acting_user,
            action="team.invited",
            changes={email: ["", role]},
        )
    token = signing.dumps({"invitation": invitation.pk}, salt=INVITE_SALT)
    link = settings.PUBLIC_BASE_URL + reverse("integrations:invitation", args=[token])
    _email(
        invitation,
        subject=f"You are invited to {app.name} on Signalboard",
        message=(
            f"{acting_user} invites you to work on {app.name} as {Role(role).label.lower()}.\n\n"
            f"Open this link within 7 days to set your password and start:\n{link}\n\n"
            "The link works once. If you did not expect it, ignore this email."
        ),
    )
    return SentInvitation(invitation, link)


def invite_partner_user(
    integration: Integration, *, email: str, acting_user: AbstractBaseUser
) -> SentInvitation:
    """Invite someone of the partner's team (TikTok's, an agency's): once they accept they are a
    partner user, listed on the Permissions tab with the partner's grants (or their own)."""
    email = email.strip().lower()
    partner, app = integration.partner, integration.app
    if PartnerUser.objects.filter(partner=partner, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already on {partner.name}'s team."})
    with transaction.atomic():
        invitation = Invitation.objects.create(
            app=app, email=email, role="", partner=partner, invited_by_id=acting_user.pk
        )
        record_audit(
            integration=integration,
            acting_user=acting_user,
            action="partner.invited",
            changes={email: ["", partner.media_source]},
        )
    token = signing.dumps({"invitation": invitation.pk}, salt=INVITE_SALT)
    link = settings.PUBLIC_BASE_URL + reverse("integrations:invitation", args=[token])
    _email(
        invitation,
        subject=f"{app.name} shares its {partner.name} data with you on Signalboard",
        message=(
            f"{acting_user} invites you, as part of {partner.name}'s team, to see what "
            f"{app.name} attributes to {partner.media_source}, with the permissions the app "
            f"grants {partner.name}.\n\nOpen this link within 7 days to set your password:\n"
            f"{link}\n\nThe link works once. If you did not expect it, ignore this email."
        ),
    )
    return SentInvitation(invitation, link)


def open_invitation(token: str) -> Invitation:
    """The invitation a link names, if it is genuine, not expired and not used yet."""
    try:
        data = signing.loads(token, salt=INVITE_SALT, max_age=INVITE_VALID_FOR)
    except signing.SignatureExpired:
        raise ValidationError("This invitation has expired: ask for a new one.") from None
    except signing.BadSignature:
        raise ValidationError("This invitation link is not valid.") from None
    invitation = Invitation.objects.select_related("app").filter(pk=data.get("invitation")).first()
    if invitation is None:
        raise ValidationError("This invitation was withdrawn.")
    if invitation.accepted_at is not None:
        raise ValidationError("This invitation was already used: sign in instead.")
    return invitation


def accept_invitation(invitation: Invitation, *, username: str, password: str) -> AbstractBaseUser:
    """Create the invited person's account (with the email invited) and their membership; the
    invitation cannot be used again."""
    User = get_user_model()
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.accepted_at is not None:
            raise ValidationError("This invitation was already used: sign in instead.")
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError({"username": "That username is taken."})
        user = User.objects.create_user(username=username, email=locked.email, password=password)
        if locked.partner_id is not None:
            PartnerUser.objects.create(user=user, partner_id=locked.partner_id)
        else:
            AppMembership.objects.create(user=user, app=locked.app, role=locked.role)
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.save(update_fields=["accepted_at", "accepted_by"])
        record_audit(
            app=locked.app,
            acting_user=user,
            action="team.joined",
            changes={username: ["", locked.role or f"{locked.partner} partner user"]},
        )
    return user


def change_role(membership: AppMembership, *, role: str, acting_user: AbstractBaseUser) -> None:
    if membership.role == role:
        return
    with transaction.atomic():
        _keep_an_admin(membership, leaving=membership.role == Role.ADMIN)
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        record_audit(
            app=membership.app,
            acting_user=acting_user,
            action="team.role_changed",
            changes={str(membership.user): [old, role]},
        )


def remove_member(membership: AppMembership, *, acting_user: AbstractBaseUser) -> None:
    with transaction.atomic():
        _keep_an_admin(membership, leaving=membership.role == Role.ADMIN)
        membership.delete()
        record_audit(
            app=membership.app,
            acting_user=acting_user,
            action="team.removed",
            changes={str(membership.user): [membership.role, ""]},
        )


def _keep_an_admin(membership: AppMembership, *, leaving: bool) -> None:
    """Refuse the change when it would take away the app's last admin (rows locked, so two
    admins demoting each other at once cannot both succeed)."""
    if not leaving:
        return
    admins = list(
        AppMembership.objects.select_for_update()
        .filter(app_id=membership.app_id, role=Role.ADMIN)
        .values_list("pk", flat=True)
    )
    if admins == [membership.pk]:
        raise ValidationError(LAST_ADMIN)


def create_first_admin(*, username: str, email: str, password: str) -> AbstractBaseUser:
    """The first account of a new installation: a superuser (staff for the operations console),
    who then creates apps in the product. Refused once any account exists."""
    User = get_user_model()
    with transaction.atomic():
        if User.objects.exists():
            raise ValidationError("Signalboard already has accounts: sign in instead.")
        return User.objects.create_superuser(username=username, email=email, password=password)


def _email(invitation: Invitation, *, subject: str, message: str) -> None:
    """Send the invitation; if the mail server refuses, withdraw it and say so (nothing is left
    behind that nobody was told about)."""
    try:
        send_mail(
            subject=subject, message=message, from_email=None, recipient_list=[invitation.email]
        )
    except (OSError, SMTPException) as error:
        invitation.delete()
        raise ValidationError(
            f"The invitation could not be emailed ({type(error).__name__}); nothing was sent. "
            "Check EMAIL_URL and try again."
        ) from None
