from __future__ import annotations

import pytest

from integrations.models import AuditEntry, PartnerPermission
from integrations.policy import Action, access_for
from integrations.services.grants import update_partner_permissions
from tests import factories

NONE = dict.fromkeys(PartnerPermission.GRANTS, False)


@pytest.fixture
def web(db):
    return factories.partner("tiktokweb_int")


def test_partner_wide_grants_are_saved_with_the_role(app, admin_user, web, partner_user):
    update_partner_permissions(
        app,
        web,
        acting_user=admin_user,
        acts_as="agency",
        partner_wide={**NONE, "can_configure_integration": True},
        members={},
    )
    row = PartnerPermission.objects.get(app=app, partner=web, partner_user=None)
    assert row.acts_as == "agency" and row.can_configure_integration
    assert access_for(partner_user, app).can(Action.CONFIGURE_INTEGRATION)


def test_a_member_can_get_own_grants_and_go_back_to_the_partners(
    app, admin_user, web, partner_user
):
    member = partner_user.partner_user
    update_partner_permissions(
        app,
        web,
        acting_user=admin_user,
        acts_as="ad_network",
        partner_wide=NONE,
        members={member.pk: {**NONE, "can_configure_postbacks": True}},
    )
    assert access_for(partner_user, app).can(Action.CONFIGURE_POSTBACKS)
    update_partner_permissions(
        app,
        web,
        acting_user=admin_user,
        acts_as="ad_network",
        partner_wide=NONE,
        members={member.pk: None},
    )
    assert not PartnerPermission.objects.filter(partner_user=member).exists()
    assert not access_for(partner_user, app).can(Action.CONFIGURE_POSTBACKS)


def test_saving_records_who_granted_what(app, admin_user, web):
    update_partner_permissions(
        app,
        web,
        acting_user=admin_user,
        acts_as="ad_network",
        partner_wide={**NONE, "can_view_revenue": True},
        members={},
    )
    entry = AuditEntry.objects.get(action="partner.permissions_saved")
    assert entry.actor == admin_user
    assert entry.changes == {"tiktokweb_int: Aggregate revenue data": [False, True]}


def test_members_of_another_partner_are_ignored(app, admin_user, web):
    stranger = factories.make_partner_user(factories.make_user(), "bytedanceglobal_int")
    update_partner_permissions(
        app,
        web,
        acting_user=admin_user,
        acts_as="ad_network",
        partner_wide=NONE,
        members={stranger.pk: {**NONE, "can_configure_integration": True}},
    )
    assert not PartnerPermission.objects.filter(partner_user=stranger).exists()
