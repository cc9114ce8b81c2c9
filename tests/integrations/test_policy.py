"""The access policy, one table: each persona against each action."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from events.models import InAppEvent
from integrations.policy import (
    Action,
    access_for,
    get_app_for_user,
    get_integration_for_user,
    visible_apps,
)
from tests import factories

A = Action
ALL = set(Action)
MARKETER = ALL - {A.MANAGE_APP, A.MANAGE_PERMISSIONS}
ANALYST = {
    A.VIEW_APP,
    A.VIEW_INTEGRATIONS,
    A.VIEW_REPORTS,
    A.VIEW_EVENTS_REPORT,
    A.VIEW_REVENUE,
    A.VIEW_RETENTION,
    A.VIEW_LOYAL_USERS,
    A.VIEW_COST,
    A.VIEW_PROTECT360,
    A.EXPORT_REPORTS,
}

# persona → (grants given to the partner user, actions expected)
TABLE = {
    "admin": (None, ALL),
    "marketer": (None, MARKETER),
    "analyst": (None, ANALYST),
    "partner_no_grants": ({}, {A.VIEW_APP}),
    "partner_configure": (
        {"can_configure_integration": True},
        {A.VIEW_APP, A.VIEW_INTEGRATIONS, A.CONFIGURE_INTEGRATION, A.VIEW_DELIVERIES},
    ),
    "partner_postbacks": (
        {"can_configure_postbacks": True},
        {A.VIEW_APP, A.VIEW_INTEGRATIONS, A.CONFIGURE_POSTBACKS, A.VIEW_DELIVERIES},
    ),
    "partner_events": (
        {"can_view_in_app_events": True},
        {A.VIEW_APP, A.VIEW_REPORTS, A.VIEW_EVENTS_REPORT, A.EXPORT_REPORTS},
    ),
    "partner_revenue": ({"can_view_revenue": True}, {A.VIEW_APP, A.VIEW_REPORTS, A.VIEW_REVENUE}),
    "partner_protect360": (
        {"can_view_protect360": True},
        {A.VIEW_APP, A.VIEW_REPORTS, A.VIEW_PROTECT360},
    ),
    "outsider": (None, set()),
}


@pytest.fixture
def persona(request, app, admin_user, marketer, analyst, partner_user, outsider):
    name = request.param
    grants, expected = TABLE[name]
    users = {"admin": admin_user, "marketer": marketer, "analyst": analyst, "outsider": outsider}
    if name.startswith("partner"):
        factories.grant(app, **grants)
        return partner_user, expected
    return users[name], expected


@pytest.mark.parametrize("persona", list(TABLE), indirect=True)
@pytest.mark.parametrize("action", list(Action))
def test_each_persona_may_do_exactly_its_actions(persona, action, app):
    user, expected = persona
    access = access_for(user, app)
    allowed = access is not None and access.can(action)
    assert allowed == (action in expected)


def test_an_outsider_gets_404_not_403_so_apps_stay_secret(app, outsider):
    with pytest.raises(Http404):
        get_app_for_user(outsider, app.app_id)


def test_an_analyst_gets_403_for_configuring(app, analyst):
    with pytest.raises(PermissionDenied):
        get_app_for_user(analyst, app.app_id, need=Action.CONFIGURE_INTEGRATION)


def test_a_partner_user_cannot_touch_another_partners_integration(app, partner_user):
    factories.grant(app, can_configure_integration=True)
    own = factories.make_integration(app, "tiktokweb_int")
    other = factories.make_integration(app, "bytedanceglobal_int")
    access, integration = get_integration_for_user(
        partner_user, app.app_id, own.pk, need=Action.CONFIGURE_INTEGRATION
    )
    assert integration == own
    with pytest.raises(Http404):
        get_integration_for_user(partner_user, app.app_id, other.pk)


def test_a_members_own_row_replaces_the_partner_wide_row(app, partner_user):
    factories.grant(app, can_view_revenue=True)
    factories.grant(app, partner_user=partner_user.partner_user, can_configure_integration=True)
    access = access_for(partner_user, app)
    assert access.can(Action.CONFIGURE_INTEGRATION)
    assert not access.can(Action.VIEW_REVENUE)


def test_partner_users_see_only_their_media_source(app, partner_user, analyst):
    factories.grant(app, can_view_in_app_events=True)
    factories.make_event(app, media_source="tiktokweb_int")
    factories.make_event(app, media_source="organic")
    factories.make_event(app, media_source="bytedanceglobal_int")
    partner_rows = access_for(partner_user, app).scope_to_media_source(InAppEvent.objects.all())
    assert set(partner_rows.values_list("media_source", flat=True)) == {"tiktokweb_int"}
    analyst_rows = access_for(analyst, app).scope_to_media_source(InAppEvent.objects.all())
    assert analyst_rows.count() == 3


def test_visible_apps_lists_memberships_and_grants_only(app, marketer, partner_user, outsider):
    other = factories.make_app()
    assert list(visible_apps(marketer)) == [app]
    assert list(visible_apps(partner_user)) == []
    factories.grant(app)
    assert list(visible_apps(partner_user)) == [app]
    assert list(visible_apps(outsider)) == []
    assert other not in visible_apps(marketer)


def test_superusers_administer_every_app(app, superuser):
    assert access_for(superuser, app).can(Action.MANAGE_PERMISSIONS)
