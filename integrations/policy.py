"""The access policy: may this user do X on this app? Every view and API endpoint asks here.

Roles per app are admin, marketer and analyst (AppMembership). A partner user (PartnerUser)
belongs to an ad network or agency and may do only what a PartnerPermission grants, on that
partner's integration, and sees only rows whose media source is the partner's. A team member's
own permission row, when the admin made one, replaces the partner-wide row for that member.
Superusers act as admins of every app.

Each condition stands on its own line so coverage shows which branches ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from integrations.models import (
    App,
    AppMembership,
    Integration,
    PartnerPermission,
    PartnerUser,
    Role,
)


class Action(StrEnum):
    VIEW_APP = "view_app"
    MANAGE_APP = "manage_app"
    VIEW_INTEGRATIONS = "view_integrations"
    SET_UP_INTEGRATION = "set_up_integration"
    CONFIGURE_INTEGRATION = "configure_integration"
    CONFIGURE_POSTBACKS = "configure_postbacks"
    VIEW_DELIVERIES = "view_deliveries"  # an integration's postbacks and their requests
    MANAGE_PERMISSIONS = "manage_permissions"
    MANAGE_COST = "manage_cost"
    VIEW_REPORTS = "view_reports"
    VIEW_EVENTS_REPORT = "view_events_report"
    VIEW_REVENUE = "view_revenue"
    VIEW_RETENTION = "view_retention"
    VIEW_LOYAL_USERS = "view_loyal_users"
    VIEW_COST = "view_cost"
    VIEW_PROTECT360 = "view_protect360"  # fraud signals and flagged installs
    EXPORT_REPORTS = "export_reports"


ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.MARKETER: frozenset(Action) - {Action.MANAGE_APP, Action.MANAGE_PERMISSIONS},
    Role.ANALYST: frozenset(
        {
            Action.VIEW_APP,
            Action.VIEW_INTEGRATIONS,
            Action.VIEW_REPORTS,
            Action.VIEW_EVENTS_REPORT,
            Action.VIEW_REVENUE,
            Action.VIEW_RETENTION,
            Action.VIEW_LOYAL_USERS,
            Action.VIEW_COST,
            Action.VIEW_PROTECT360,
            Action.EXPORT_REPORTS,
        }
    ),
}

# Which grant of a PartnerPermission opens which action for a partner user.
GRANT_ACTIONS: dict[str, frozenset[Action]] = {
    "can_configure_integration": frozenset(
        {Action.VIEW_INTEGRATIONS, Action.CONFIGURE_INTEGRATION, Action.VIEW_DELIVERIES}
    ),
    "can_configure_postbacks": frozenset(
        {Action.VIEW_INTEGRATIONS, Action.CONFIGURE_POSTBACKS, Action.VIEW_DELIVERIES}
    ),
    "can_view_retention": frozenset({Action.VIEW_REPORTS, Action.VIEW_RETENTION}),
    "can_view_loyal_users": frozenset({Action.VIEW_REPORTS, Action.VIEW_LOYAL_USERS}),
    "can_view_in_app_events": frozenset(
        {Action.VIEW_REPORTS, Action.VIEW_EVENTS_REPORT, Action.EXPORT_REPORTS}
    ),
    "can_view_revenue": frozenset({Action.VIEW_REPORTS, Action.VIEW_REVENUE}),
    "can_view_protect360": frozenset({Action.VIEW_REPORTS, Action.VIEW_PROTECT360}),
}

PARTNER = "partner"


@dataclass(frozen=True)
class AppAccess:
    """What one user may do on one app, worked out once per request."""

    app: App
    role: str
    actions: frozenset[Action]
    partner_id: int | None = None
    media_source: str | None = None

    @property
    def is_partner_user(self) -> bool:
        return self.role == PARTNER

    def can(self, action: Action, integration: Integration | None = None) -> bool:
        if action not in self.actions:
            return False
        if integration is None:
            return True
        if integration.app_id != self.app.pk:
            return False
        return self.partner_id is None or integration.partner_id == self.partner_id

    def require(self, action: Action, integration: Integration | None = None) -> None:
        if not self.can(action, integration):
            raise PermissionDenied(f"Your role on {self.app.name} does not allow this.")

    def scope_to_partner(self, queryset: QuerySet, field: str = "partner") -> QuerySet:
        """Partner users see only their own partner's integrations, and rows of them
        (`field="integration__partner"` for postbacks): never another partner's name or state."""
        if self.partner_id is None:
            return queryset
        return queryset.filter(**{field: self.partner_id})

    def visible_integrations(self) -> QuerySet[Integration]:
        """The app's integrations this user may know of."""
        return self.scope_to_partner(Integration.objects.filter(app=self.app))

    def scope_to_media_source(self, queryset: QuerySet, field: str = "media_source") -> QuerySet:
        """Partner users see only rows attributed to their own media source."""
        if self.media_source is None:
            return queryset
        return queryset.filter(**{field: self.media_source})


def access_for(user: AbstractBaseUser | AnonymousUser, app: App) -> AppAccess | None:
    """The user's access to `app`, or None when the app is none of their business."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return AppAccess(app=app, role=Role.ADMIN, actions=ROLE_ACTIONS[Role.ADMIN])
    membership = AppMembership.objects.filter(user=user, app=app).first()
    if membership is not None:
        return AppAccess(app=app, role=membership.role, actions=ROLE_ACTIONS[membership.role])
    partner_user = getattr(user, "partner_user", None)
    if partner_user is None:
        return None
    permission = effective_partner_permission(app, partner_user)
    if permission is None:
        return None
    actions: set[Action] = {Action.VIEW_APP}
    for grant, granted_actions in GRANT_ACTIONS.items():
        if getattr(permission, grant):
            actions |= granted_actions
    return AppAccess(
        app=app,
        role=PARTNER,
        actions=frozenset(actions),
        partner_id=partner_user.partner_id,
        media_source=partner_user.partner.media_source,
    )


def effective_partner_permission(app: App, partner_user: PartnerUser) -> PartnerPermission | None:
    rows = PartnerPermission.objects.filter(app=app, partner_id=partner_user.partner_id)
    own = rows.filter(partner_user=partner_user).first()
    if own is not None:
        return own
    return rows.filter(partner_user__isnull=True).first()


def get_app_for_user(
    user: AbstractBaseUser | AnonymousUser, app_id: str, need: Action = Action.VIEW_APP
) -> AppAccess:
    """The app and the user's access to it; 404 if they may not know it exists, 403 if `need`
    is beyond their role."""
    app = App.objects.filter(app_id=app_id).first()
    if app is None:
        raise Http404("No such app")
    access = access_for(user, app)
    if access is None:
        raise Http404("No such app")
    access.require(need)
    return access


def get_integration_for_user(
    user: AbstractBaseUser | AnonymousUser,
    app_id: str,
    integration_id: int,
    need: Action = Action.VIEW_INTEGRATIONS,
) -> tuple[AppAccess, Integration]:
    access = get_app_for_user(user, app_id)
    integration = (
        Integration.objects.select_related("app", "partner")
        .filter(pk=integration_id, app=access.app)
        .first()
    )
    if integration is None:
        raise Http404("No such integration")
    if access.partner_id is not None and integration.partner_id != access.partner_id:
        raise Http404("No such integration")
    access.require(need, integration)
    return access, integration


def with_visible_integration_counts(
    user: AbstractBaseUser | AnonymousUser, apps: QuerySet[App]
) -> QuerySet[App]:
    """`integration_count` on each app: what `AppAccess.visible_integrations` would list, so a
    partner user counts only its own partner's integration (unless it is also a member)."""
    partner_user = getattr(user, "partner_user", None)
    if user.is_superuser or partner_user is None:
        return apps.annotate(integration_count=Count("integrations", distinct=True))
    visible = Q(integrations__partner_id=partner_user.partner_id) | Q(
        integrations__app__memberships__user=user
    )
    return apps.annotate(integration_count=Count("integrations", filter=visible, distinct=True))


def visible_apps(user: AbstractBaseUser | AnonymousUser) -> QuerySet[App]:
    """Apps the user has any role on, for lists and navigation."""
    if not user.is_authenticated:
        return App.objects.none()
    if user.is_superuser:
        return App.objects.all()
    partner_user = getattr(user, "partner_user", None)
    if partner_user is None:
        return App.objects.filter(memberships__user=user)
    granted = Q(
        partner_permissions__partner_id=partner_user.partner_id,
        partner_permissions__partner_user__isnull=True,
    ) | Q(partner_permissions__partner_user=partner_user)
    return App.objects.filter(Q(memberships__user=user) | granted).distinct()
