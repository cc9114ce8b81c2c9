"""Who may send us data: the app's server API key (S2S) or, for the web SDK, the app's public
key from one of the app's own web origins."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from events.services.config_cache import ConfigCache
from integrations.models import App
from integrations.services.apps import find_app_by_api_key

HOW_TO_AUTHENTICATE = "Send the app's server API key as 'Authorization: Bearer <key>'."


APPS_BY_KEY = ConfigCache[App | None]()


class AppApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <server API key>`; `request.auth` becomes the key's app."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, App] | None:
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != b"bearer" or len(header) != 2:
            raise AuthenticationFailed(HOW_TO_AUTHENTICATE)
        try:
            raw_key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("The API key has characters no key has.") from None
        app = APPS_BY_KEY.get(raw_key, lambda: find_app_by_api_key(raw_key))
        if app is None:
            APPS_BY_KEY.forget(raw_key)  # only known keys are remembered
            raise AuthenticationFailed("Unknown or rotated API key.")
        return AnonymousUser(), app

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="signalboard-events"'


class KeyBelongsToApp(BasePermission):
    """The key must be the one of the app named in the URL."""

    def has_permission(self, request: Request, view: object) -> bool:
        app = request.auth
        if not isinstance(app, App):
            raise NotAuthenticated(HOW_TO_AUTHENTICATE)
        if app.app_id != view.kwargs.get("app_id"):
            raise PermissionDenied("This API key belongs to another app.")
        return True


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, or "" when it has none or is malformed."""
    try:
        parts = urlsplit(url.strip().lower())
    except ValueError:  # "http://[::1" is an invalid IPv6 URL
        return ""
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def is_allowed_origin(app: App, origin: str, own_origin: str) -> bool:
    """A browser's `Origin` must be one of the app's domains. Pages served by Signalboard itself
    (the demo landing page) are allowed too: no other site's script can claim our origin."""
    origin = origin_of(origin)
    if not origin:
        return False
    if origin == origin_of(own_origin):
        return True
    return origin in {origin_of(domain) for domain in app.domains if isinstance(domain, str)}
