"""TikTok for Business advertiser authorization as a social-auth backend (spec §4).

This *connects* a TikTok account to an integration for the logged-in user; it never logs
anyone in (`ASSOCIATION_ONLY`). social-core has no backend for it, and TikTok Login Kit is a
different product. The differences from plain OAuth 2: `app_id`/`secret`/`auth_code` instead of
client_id/client_secret/code, a JSON token request, and answers inside TikTok's envelope
(errors arrive as HTTP 200 with a non-zero `code`).

The access token goes only into `CostConnection.access_token` (encrypted): our pipeline does
not run `load_extra_data`, and `store_cost_connection` blanks `extra_data` for good measure.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest
from django.urls import reverse
from social_core.backends.oauth import BaseOAuth2
from social_core.exceptions import (
    AuthCanceled,
    AuthCredentialError,
    AuthPolicyError,
    AuthProviderError,
    AuthResponseError,
    AuthSessionError,
    SocialAuthBaseException,
)
from social_django.middleware import SocialAuthExceptionMiddleware
from social_django.strategy import DjangoStrategy

from integrations.models import Integration
from integrations.policy import Action, access_for
from integrations.request_values import parse_id
from integrations.services import cost_connections
from integrations.tiktok.transport import TikTokError

BACKEND_NAME = "tiktok-business"
SESSION_INTEGRATION = "cost_integration"  # SOCIAL_AUTH_FIELDS_STORED_IN_SESSION


class TikTokBusinessOAuth2(BaseOAuth2):
    name = BACKEND_NAME
    ASSOCIATION_ONLY = True
    RESPONSE_TYPE = None
    REDIRECT_STATE = False  # TikTok matches redirect_uri exactly against the registered ones
    STATE_PARAMETER = True
    ACCESS_TOKEN_METHOD = "POST"  # noqa: S105 - an HTTP method, not a secret
    ACCESS_TOKEN_PAYLOAD = "json"  # noqa: S105 - a body format, not a secret
    EXTRA_DATA: list[Any] = []

    def authorization_url(self) -> str:
        # §4.1: the advertiser authorization page
        return f"{settings.TIKTOK_API_BASE_URL}/portal/auth"

    def access_token_url(self) -> str:
        # §4.2: POST /open_api/v1.3/oauth2/access_token/
        return f"{settings.TIKTOK_API_BASE_URL}/open_api/v1.3/oauth2/access_token/"

    def get_key_and_secret(self) -> tuple[str, str]:
        return settings.TIKTOK_APP_ID, settings.TIKTOK_APP_SECRET

    def get_redirect_uri(self, state: str | None = None) -> str:
        # §4.1: TikTok compares redirect_uri exactly with the ones registered for the app, so
        # it is always the public address (PUBLIC_BASE_URL), never the host and scheme this
        # request arrived with: behind a proxy that is an internal name over plain HTTP.
        # (social-core builds it from the request via strategy.build_absolute_uri.)
        path = reverse(f"{settings.SOCIAL_AUTH_URL_NAMESPACE}:complete", args=[self.name])
        return f"{settings.PUBLIC_BASE_URL}{path}"

    def auth_params(self, state: str | None = None) -> dict[str, str]:
        params = {"app_id": settings.TIKTOK_APP_ID, "redirect_uri": self.get_redirect_uri(state)}
        if state:
            params["state"] = state
        return params

    def auth_url(self) -> str:
        # §4.1: the redirect_uri goes URL-encoded, exactly as registered with the app.
        state = self.get_or_create_state()
        return f"{self.authorization_url()}?{urlencode(self.auth_params(state))}"

    def auth_complete_params(self, state: str | None = None) -> dict[str, str]:
        # §4.1: the redirect carries `auth_code`; some clients read `code`, so fall back to it.
        code = self.data.get("auth_code") or self.data.get("code") or ""
        return {
            "app_id": settings.TIKTOK_APP_ID,
            "secret": settings.TIKTOK_APP_SECRET,
            "auth_code": code,
        }

    def process_error(self, data: Any, *, stage: Any = "callback") -> None:
        super().process_error(data, stage=stage)
        if stage == "callback" and not (data.get("auth_code") or data.get("code")):
            raise AuthCanceled(self, "TikTok sent no authorization code", stage=stage)

    def request_access_token(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Unwrap TikTok's envelope: `code` 0 carries the token in `data`, anything else is
        an error even though HTTP said 200."""
        body = super().request_access_token(*args, **kwargs)
        code = body.get("code")
        if code != 0:
            error_class = AuthCredentialError if code in (40101, 40110) else AuthProviderError
            raise error_class(
                self,
                str(body.get("message", "")),
                provider_code=code,
                stage="token_exchange",
            )
        data = body.get("data")
        if not isinstance(data, dict) or not data.get("access_token"):
            raise AuthResponseError(self, code="malformed_response", stage="token_exchange")
        return data

    def get_user_id(self, details: dict[str, Any], response: dict[str, Any]) -> str:
        return cost_connections.uid_for_token(response["access_token"])

    def get_user_details(self, response: dict[str, Any]) -> dict[str, Any]:
        return {}

    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {}


def store_cost_connection(
    backend: TikTokBusinessOAuth2,
    user: Any,
    response: dict[str, Any],
    social: Any = None,
    *args: Any,
    **kwargs: Any,
) -> dict[str, Any]:
    """Pipeline step: move the token into the integration's encrypted connection."""
    strategy = backend.strategy
    integration = _integration_to_connect(backend, user)
    try:
        connection = cost_connections.connect_account(
            integration,
            acting_user=user,
            access_token=response["access_token"],
            scope=response.get("scope") or [],
        )
    except TikTokError as error:
        raise AuthProviderError(backend, str(error), provider_code=error.code) from None
    if social is not None and social.extra_data:
        social.extra_data = {}
        social.save(update_fields=["extra_data"])
    count = connection.advertisers.count()
    request = cast(DjangoStrategy, strategy).request
    if request is not None:
        messages.success(
            request,
            f"Connected {connection.label}: {count} advertiser{'s' if count != 1 else ''}. "
            "Pick the ones to pull and save.",
        )
    return {}


def _integration_to_connect(backend: TikTokBusinessOAuth2, user: Any) -> Integration:
    integration_id = parse_id(backend.strategy.session_get(SESSION_INTEGRATION))
    integration = (
        Integration.objects.select_related("app", "partner").filter(pk=integration_id).first()
        if integration_id is not None
        else None
    )
    access = access_for(user, integration.app) if integration is not None else None
    if integration is None or access is None or not access.can(Action.MANAGE_COST, integration):
        raise AuthPolicyError(backend, "not allowed to connect cost for this integration")
    if not integration.partner.supports_cost:
        raise AuthPolicyError(backend, "this partner has no cost")
    return integration


MESSAGES = {
    40110: (
        "TikTok says this authorization code was already used or has expired. "
        "Click “Log in to TikTok For Business” again."
    ),
    40101: (
        "TikTok refused the authorization: the code is not valid, or TIKTOK_APP_ID / "
        "TIKTOK_APP_SECRET do not match the TikTok developer app."
    ),
}


class CostConnectErrorMiddleware(SocialAuthExceptionMiddleware):
    """Failed connects go back to the Cost tab with a sentence, never an error page."""

    def raise_exception(self, request: HttpRequest, exception: Exception) -> bool:
        return False

    def get_redirect_uri(self, request: HttpRequest, exception: Exception) -> str | None:
        strategy = getattr(request, "social_strategy", None)
        back = strategy.session_get("next") if strategy is not None else None
        if isinstance(back, str) and back.startswith("/") and not back.startswith("//"):
            return back
        return super().get_redirect_uri(request, exception) or "/"

    def get_message(self, request: HttpRequest, exception: Exception) -> str:
        return "TikTok was not connected. " + connect_error_message(exception)


def connect_error_message(exception: Exception) -> str:
    provider_code = getattr(exception, "provider_code", None)
    if provider_code in MESSAGES:
        return MESSAGES[provider_code]
    if isinstance(exception, AuthCanceled):
        return "You declined on TikTok's page, so nothing changed."
    if isinstance(exception, AuthSessionError):
        return (
            "TikTok's answer did not match the connection you started here (an old or "
            "reused link, or another tab). Start again from the Cost tab."
        )
    if isinstance(exception, AuthPolicyError):
        return "Your role does not allow connecting cost on this integration."
    if isinstance(exception, AuthProviderError):
        detail = getattr(exception, "detail", "")
        return f"TikTok could not complete it ({detail or 'no answer'}). Try again shortly."
    if isinstance(exception, SocialAuthBaseException):
        return str(exception)
    return "Something went wrong."
