"""What partner users and analysts meet on the setup pages, in the browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from integrations.models import Integration
from tests import factories
from tests.browser.conftest import log_in

TABS = ["integration", "attribution-link", "permissions"]


@pytest.fixture
def integration(app):
    integration = factories.make_integration(app)
    factories.make_pixel(integration)
    factories.make_mapping(integration, app_event_name="sign_up", partner_event_name="Lead")
    return integration


@pytest.mark.parametrize("persona", ["analyst", "partner_user"])
def test_refused_roles_see_a_403_on_every_tab(page, integration, persona, request):
    if persona == "partner_user":
        factories.grant(integration.app)
    user = request.getfixturevalue(persona)
    log_in(page, user.username, factories.PASSWORD)
    for tab in TABS:
        response = page.goto(f"/apps/{integration.app.app_id}/integrations/{integration.pk}/{tab}/")
        assert response.status == 403, tab


def test_a_partner_granted_configure_integration_edits_it_but_not_the_mapping(
    page, integration, partner_user
):
    factories.grant(integration.app, can_configure_integration=True)
    log_in(page, partner_user.username, factories.PASSWORD)
    page.goto(f"/apps/{integration.app.app_id}/integrations/{integration.pk}/integration/")
    expect(page.get_by_text("You may view the postback mapping but not change it.")).to_be_visible()
    expect(page.locator("tr.mapping-row").get_by_label("App event")).to_be_disabled()
    expect(page.get_by_role("button", name="Add event")).to_have_count(0)
    expect(page.get_by_role("link", name="Permissions")).to_have_count(0)
    page.get_by_role("checkbox", name="Limit TikTok's use of personal information (CCPA)").check()
    page.get_by_role("button", name="Save integration").click()
    expect(page.get_by_role("status").first).to_contain_text("Integration saved.")
    integration = Integration.objects.get(pk=integration.pk)
    assert integration.ccpa_limited_data_use
    assert list(integration.mappings.values_list("app_event_name", flat=True)) == ["sign_up"]
