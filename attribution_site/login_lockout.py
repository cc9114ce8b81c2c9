"""Login throttling with django-axes: the backend that checks for a lockout, and the page a
locked-out login gets (through AXES_LOCKOUT_CALLABLE)."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' check, for logins that come with a request. authenticate() without one (a script,
    a management command) has no client to throttle; django-axes would raise instead."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def locked_out_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """429 with the wait in words and in Retry-After. Every failure during the lockout restarts
    it (django-axes' AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so the full wait is right."""
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": minutes, "login_url": request.path},
        status=429,
    )
    response["Retry-After"] = str(minutes * 60)
    return response
