from __future__ import annotations

import re

import pytest
from django.urls import reverse

from integrations.models import App
from integrations.services.apps import find_app_by_api_key, rotate_api_key
from tests import factories


def test_login_is_required(client, app):
    response = client.get(reverse("integrations:app-list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_app_list_shows_only_the_users_apps(client, app, marketer):
    factories.make_app(name="Someone else's shop")
    client.force_login(marketer)
    body = client.get(reverse("integrations:app-list")).content.decode()
    assert "Trailhead shop" in body
    assert "Someone else" not in body


def test_an_outsider_cannot_see_that_an_app_exists(client, app, outsider):
    client.force_login(outsider)
    assert client.get(reverse("integrations:app-detail", args=[app.app_id])).status_code == 404


def test_navigation_offers_the_apps_sections(client, app, marketer):
    client.force_login(marketer)
    body = client.get(reverse("integrations:app-detail", args=[app.app_id])).content.decode()
    assert 'aria-label="Main"' in body
    assert app.name in body


def test_admin_link_is_only_for_staff(client, app, marketer, superuser):
    client.force_login(marketer)
    assert "/admin/" not in client.get(reverse("integrations:app-list")).content.decode()
    client.force_login(superuser)
    assert "/admin/" in client.get(reverse("integrations:app-list")).content.decode()


def test_rotating_the_api_key_shows_it_once_and_stores_only_its_hash(client, app, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("integrations:app-rotate-key", args=[app.app_id]), follow=True)
    new_key = response.context["new_api_key"]
    assert new_key.startswith("sk_")
    assert new_key in response.content.decode()
    app.refresh_from_db()
    assert new_key not in (app.api_key_hash, app.api_key_hint)
    assert find_app_by_api_key(new_key) == app
    again = client.get(reverse("integrations:app-detail", args=[app.app_id])).content.decode()
    assert new_key not in again


def test_a_rotated_key_replaces_the_old_one(app):
    first = rotate_api_key(app, acting_user=None)
    second = rotate_api_key(app, acting_user=None)
    assert find_app_by_api_key(first) is None
    assert find_app_by_api_key(second) == app


@pytest.mark.parametrize("persona", ["marketer", "analyst"])
def test_only_admins_rotate_keys(client, app, persona, request):
    client.force_login(request.getfixturevalue(persona))
    before = App.objects.get(pk=app.pk).api_key_hash
    response = client.post(reverse("integrations:app-rotate-key", args=[app.app_id]))
    assert response.status_code == 403
    assert App.objects.get(pk=app.pk).api_key_hash == before


@pytest.mark.parametrize(
    ("persona", "shown", "hidden"),
    [
        ("marketer", ["Partner Marketplace", "Active Integrations", "All Cost"], []),
        ("analyst", ["Active Integrations", "All Cost"], ["Partner Marketplace"]),
    ],
)
def test_the_app_navigation_offers_only_pages_the_role_may_open(
    client, app, request, persona, shown, hidden
):
    client.force_login(request.getfixturevalue(persona))
    page = client.get(reverse("integrations:active", args=[app.app_id])).content.decode()
    nav = page[page.index("<nav") : page.index("</nav>")]
    for label in shown:
        assert label in nav
    for label in hidden:
        assert label not in nav
    for href in re.findall(r'href="(/apps/[^"]+)"', nav):
        assert client.get(href).status_code == 200, href
