"""Apps and their team without Django admin: add and edit an app, invite by email, accept the
one-time link, change roles, remove members, the last-admin rule, password reset, first run."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from integrations.models import App, AppMembership, AuditEntry, Invitation, PartnerUser, Role
from tests import factories

NEW_APP = {
    "name": "Run Club",
    "app_id": "id1453847291",
    "platform": "ios",
    "store_id": "1453847291",
    "website_url": "https://run.example.com/",
    "domains": "https://run.example.com\nhttps://www.run.example.com/",
    "timezone": "Europe/Berlin",
    "currency": "EUR",
}


def set_role(client, membership, role, **kwargs):
    url = reverse("integrations:member-role", args=[membership.app.app_id, membership.pk])
    return client.post(url, {"role": role}, **kwargs)


def invite_link() -> str:
    return re.search(r"http://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)


def test_a_signed_in_user_adds_an_app_becomes_its_admin_and_sees_the_key_once(client, db):
    user = factories.make_user("erin")
    client.force_login(user)
    response = client.post(reverse("integrations:app-new"), NEW_APP)
    assert response.status_code == 302
    app = App.objects.get(app_id="id1453847291")
    assert app.domains == ["https://run.example.com", "https://www.run.example.com"]
    assert AppMembership.objects.get(app=app).role == Role.ADMIN
    page = client.get(response["Location"]).content.decode()
    key = re.search(r"sk_[\w-]{20,}", page).group(0)
    assert key.endswith(app.api_key_hint[-4:])
    assert key not in client.get(response["Location"]).content.decode()  # shown once


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"store_id": ""}, "store_id", "needs its store id"),
        ({"currency": "euro"}, "currency", "three-letter"),
        ({"domains": "shop.example.com"}, "domains", "not an origin"),
        ({"timezone": "Mars/Olympus"}, "timezone", "valid choice"),
        ({"app_id": "has spaces"}, "app_id", ""),
    ],
)
def test_a_bad_new_app_is_refused_next_to_the_field_and_nothing_is_saved(
    client, db, changes, field, words
):
    client.force_login(factories.make_user("erin"))
    response = client.post(reverse("integrations:app-new"), {**NEW_APP, **changes})
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors[field])
    assert words in errors
    assert not App.objects.exists()


def test_a_partner_user_cannot_add_apps(client, partner_user):
    client.force_login(partner_user)
    assert client.get(reverse("integrations:app-new")).status_code == 403


def test_an_admin_edits_the_app_but_not_its_id_and_the_change_is_in_the_history(
    client, app, admin_user
):
    client.force_login(admin_user)
    url = reverse("integrations:app-settings", args=[app.app_id])
    form = client.get(url).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data["domains"] = form["domains"].value() if isinstance(form["domains"].value(), str) else ""
    data |= {"name": "Trailhead outdoors", "timezone": "Asia/Tokyo", "app_id": "changed"}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    app.refresh_from_db()
    assert (app.name, app.timezone, app.app_id) == (
        "Trailhead outdoors",
        "Asia/Tokyo",
        "web.trailhead",
    )
    assert AuditEntry.objects.filter(app=app, action="app.edited").exists()


def test_a_marketer_may_not_open_the_settings_or_the_team(client, app, marketer):
    client.force_login(marketer)
    for name in ("integrations:app-settings", "integrations:team"):
        response = client.get(reverse(name, args=[app.app_id]))
        assert response.status_code == 403
        assert "You may not do this" in response.content.decode()


def test_an_invited_marketer_sets_a_password_once_and_works_on_the_app(client, app, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("integrations:team-invite", args=[app.app_id]),
        {"email": "Fay@Example.com", "role": "marketer"},
    )
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["fay@example.com"]
    link = invite_link()
    client.logout()
    path = link.split("testserver", 1)[-1] if "testserver" in link else "/" + link.split("/", 3)[3]
    assert client.get(path).status_code == 200
    answer = client.post(
        path, {"username": "fay", "password1": "n0t-so-simple!", "password2": "n0t-so-simple!"}
    )
    assert answer.status_code == 302
    fay = get_user_model().objects.get(username="fay")
    assert fay.email == "fay@example.com"
    assert AppMembership.objects.get(user=fay, app=app).role == Role.MARKETER
    assert client.get(reverse("integrations:active", args=[app.app_id])).status_code == 200
    client.logout()
    again = client.get(path)
    assert again.status_code == 410 and "already used" in again.content.decode()


def test_a_tampered_invitation_link_is_refused(client, app):
    response = client.get(reverse("integrations:invitation", args=["not-a-real-token"]))
    assert response.status_code == 410
    assert "not valid" in response.content.decode()


def test_a_weak_or_mismatched_password_is_refused_and_the_invitation_stays_open(
    client, app, admin_user
):
    client.force_login(admin_user)
    client.post(
        reverse("integrations:team-invite", args=[app.app_id]),
        {"email": "gus@example.com", "role": "analyst"},
    )
    client.logout()
    path = "/" + invite_link().split("/", 3)[3]
    response = client.post(path, {"username": "gus", "password1": "123", "password2": "123"})
    assert response.status_code == 400
    assert response.context["form"].errors["password1"]
    assert Invitation.objects.get().accepted_at is None
    assert not get_user_model().objects.filter(username="gus").exists()


def test_the_last_admin_can_be_neither_demoted_nor_removed(client, app, admin_user, marketer):
    client.force_login(admin_user)
    mine = AppMembership.objects.get(user=admin_user, app=app)
    response = client.post(
        reverse("integrations:member-role", args=[app.app_id, mine.pk]),
        {"role": "analyst"},
        follow=True,
    )
    assert "at least one admin" in response.content.decode()
    client.post(reverse("integrations:member-remove", args=[app.app_id, mine.pk]))
    mine.refresh_from_db()
    assert mine.role == Role.ADMIN
    theirs = AppMembership.objects.get(user=marketer, app=app)
    client.post(
        reverse("integrations:member-role", args=[app.app_id, theirs.pk]), {"role": "admin"}
    )
    client.post(
        reverse("integrations:member-role", args=[app.app_id, mine.pk]), {"role": "analyst"}
    )
    mine.refresh_from_db()
    assert mine.role == Role.ANALYST  # another admin exists now
    client.force_login(marketer)
    client.post(reverse("integrations:member-remove", args=[app.app_id, mine.pk]))
    assert not AppMembership.objects.filter(pk=mine.pk).exists()


def test_a_password_reset_mails_a_one_time_link(client, db):
    user = factories.make_user("hal")
    user.email = "hal@example.com"
    user.save()
    response = client.post(reverse("password_reset"), {"email": "hal@example.com"})
    assert response.status_code == 302
    link = re.search(r"https?://\S+/reset/\S+/", mail.outbox[-1].body).group(0)
    path = "/" + link.split("/", 3)[3]
    form_page = client.get(path, follow=True)
    assert form_page.context["validlink"]
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "an0ther-secret!", "new_password2": "an0ther-secret!"},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("an0ther-secret!")


def test_the_first_run_page_creates_the_first_admin_and_is_gone_afterwards(client, db):
    assert client.get("/").url == reverse("integrations:first-run")
    response = client.post(
        reverse("integrations:first-run"),
        {
            "username": "ida",
            "email": "ida@example.com",
            "password1": "first-0f-many!",
            "password2": "first-0f-many!",
        },
    )
    assert response.status_code == 302 and response.url == reverse("integrations:app-new")
    assert get_user_model().objects.get().is_superuser
    assert client.get(reverse("integrations:first-run")).status_code == 404


def test_an_admin_invites_a_partner_user_from_the_permissions_tab(client, app, admin_user):
    integration = factories.make_integration(app, "tiktokweb_int")
    factories.grant(app, can_view_in_app_events=True)  # the partner-wide row
    client.force_login(admin_user)
    tab = reverse("integrations:setup", args=[app.app_id, integration.pk, "permissions"])
    assert "Invite TikTok" in client.get(tab).content.decode()
    response = client.post(
        reverse("integrations:partner-invite", args=[app.app_id, integration.pk]),
        {"email": "kim@tiktok.example"},
    )
    assert response.status_code == 302
    path = "/" + invite_link().split("/", 3)[3]
    client.logout()
    assert "tiktokweb_int" in client.get(path).content.decode()
    client.post(
        path, {"username": "kim", "password1": "p4rtner-view!", "password2": "p4rtner-view!"}
    )
    kim = get_user_model().objects.get(username="kim")
    assert PartnerUser.objects.get(user=kim).partner.media_source == "tiktokweb_int"
    assert not AppMembership.objects.filter(user=kim).exists()
    assert client.get(reverse("reporting:raw-data", args=[app.app_id])).status_code == 200
    client.force_login(admin_user)
    assert "kim" in client.get(tab).content.decode()  # listed with the partner's grants


def test_a_marketer_cannot_invite_partner_users(client, app, marketer):
    integration = factories.make_integration(app, "tiktokweb_int")
    client.force_login(marketer)
    url = reverse("integrations:partner-invite", args=[app.app_id, integration.pk])
    assert client.post(url, {"email": "x@example.com"}).status_code == 403
    assert not Invitation.objects.exists()


def test_an_invitation_the_mail_server_refuses_is_withdrawn_and_the_page_says_so(
    client, app, admin_user
):
    from django.test import override_settings

    client.force_login(admin_user)
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=9,  # nothing listens: the connection is refused
        EMAIL_TIMEOUT=2,
    ):
        response = client.post(
            reverse("integrations:team-invite", args=[app.app_id]),
            {"email": "lee@example.com", "role": "analyst"},
        )
    assert response.status_code == 400
    assert "could not be emailed" in response.content.decode()
    assert not Invitation.objects.exists()
