"""Failed logins are throttled per user and per IP, on our login page and the admin's; successful
logins never count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import factories

LOCKED = "Too many failed attempts; try again in 15 minutes."
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
IP = "198.51.100.7"


def _log_in(client: Client, username: str, password: str, url: str = LOGIN, ip: str = IP):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _fail(client: Client, username: str, times: int, url: str = LOGIN, ip: str = IP):
    for _ in range(times):
        response = _log_in(client, username, "wrong-password", url, ip)
        assert response.status_code in (200, 429)  # refused; the fifth one locks


def _is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_five_failures_lock_the_user_out_with_a_clear_message(client, admin_user):
    _fail(client, "alice-admin", 5)
    response = _log_in(client, "alice-admin", factories.PASSWORD)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert not _is_logged_in(client)


def test_the_user_is_locked_out_from_another_ip_too(client, admin_user):
    _fail(client, "alice-admin", 5)
    response = _log_in(client, "alice-admin", factories.PASSWORD, ip="203.0.113.50")
    assert response.status_code == 429
    assert not _is_logged_in(client)


def test_an_ip_guessing_many_users_is_locked_out(client, admin_user, marketer):
    for n in range(5):
        _fail(client, f"guess-{n}", 1)
    response = _log_in(client, "bob-marketer", factories.PASSWORD)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    other = Client()
    assert _log_in(other, "bob-marketer", factories.PASSWORD, ip="203.0.113.50").status_code == 302
    assert _is_logged_in(other)


def test_four_failures_still_let_the_right_password_in(client, admin_user):
    _fail(client, "alice-admin", 4)
    response = _log_in(client, "alice-admin", factories.PASSWORD)
    assert response.status_code == 302
    assert _is_logged_in(client)


def test_successful_logins_are_never_counted(client, admin_user):
    for _ in range(20):
        assert _log_in(client, "alice-admin", factories.PASSWORD).status_code == 302
        client.logout()
    assert _log_in(client, "alice-admin", factories.PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(client, superuser):
    _fail(client, "root", 5, url=ADMIN_LOGIN)
    response = _log_in(client, "root", factories.PASSWORD, url=ADMIN_LOGIN)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert not _is_logged_in(client)


def test_failures_on_the_admin_and_our_page_add_up(client, admin_user):
    _fail(client, "alice-admin", 3, url=ADMIN_LOGIN)
    _fail(client, "alice-admin", 2)
    assert _log_in(client, "alice-admin", factories.PASSWORD).status_code == 429


def test_the_lockout_ends_after_fifteen_minutes(client, admin_user):
    _fail(client, "alice-admin", 5)
    # Time passing is the one thing a test cannot wait for: age the recorded failures.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    response = _log_in(client, "alice-admin", factories.PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("integrations:app-list")
    assert _is_logged_in(client)


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_a_locked_out_answer_says_when_to_retry(client, admin_user, url):
    _fail(client, "alice-admin", 5, url=url)
    response = _log_in(client, "alice-admin", "wrong-password", url)
    assert response.status_code == 429
    assert response["Retry-After"] == "900"


def test_code_outside_a_request_can_still_authenticate(admin_user):
    """Scripts and management commands call authenticate() without a request; throttling is
    for requests only."""
    from django.contrib.auth import authenticate

    assert authenticate(username="alice-admin", password=factories.PASSWORD) == admin_user
    assert authenticate(username="alice-admin", password="wrong-password") is None


def test_behind_a_proxy_the_ip_count_is_the_visitors_not_the_balancers(
    client, settings, admin_user, marketer
):
    settings.NUM_PROXIES = 1
    balancer = "10.0.0.5"

    def attempt(visitor: str, username: str, password: str):
        return Client().post(
            LOGIN,
            {"username": username, "password": password},
            REMOTE_ADDR=balancer,
            HTTP_X_FORWARDED_FOR=visitor,
        )

    for n in range(5):
        attempt("198.51.100.7", f"guess-{n}", "wrong-password")
    assert attempt("198.51.100.7", "bob-marketer", factories.PASSWORD).status_code == 429
    # Another visitor behind the same balancer is not locked out by the first one's guesses.
    assert attempt("203.0.113.50", "bob-marketer", factories.PASSWORD).status_code == 302
