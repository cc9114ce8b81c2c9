"""The Google Play Developer API's subscription purchase lookup, with the app's service
account (google-auth signs the token request and refreshes the token).

Used only where a service account is configured: a real-time developer notification names a
purchase token, and this asks Play for its price, currency, order id, trial state and the
app's own user id (`obfuscatedExternalAccountId`, set by the app at purchase).
https://developers.google.com/android-publisher/api-ref/rest/v3/purchases.subscriptions/get
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from django.conf import settings
from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

SCOPE = "https://www.googleapis.com/auth/androidpublisher"


class LookupFailed(Exception):
    """Play could not be asked (network, credentials, an error answer): retry later."""


def read_service_account(text: str) -> dict[str, Any]:
    """The key file's JSON, or ValueError naming what is wrong with it."""
    try:
        info = json.loads(text)
    except ValueError:
        raise ValueError("Paste the service account's JSON key file as it is.") from None
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if not isinstance(info, dict) or missing:
        raise ValueError(f"The key file lacks {', '.join(missing) or 'its fields'}.")
    return info


def subscription_purchase(
    service_account_json: str, package: str, subscription_id: str, purchase_token: str
) -> dict[str, Any]:
    info = read_service_account(service_account_json)
    path = (
        f"/androidpublisher/v3/applications/{quote(package, safe='')}/purchases/subscriptions/"
        f"{quote(subscription_id, safe='')}/tokens/{quote(purchase_token, safe='')}"
    )
    try:
        credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
        response = AuthorizedSession(credentials).get(
            settings.GOOGLE_PLAY_API_BASE_URL.rstrip("/") + path,
            timeout=settings.GOOGLE_PLAY_HTTP_TIMEOUT,
        )
    except (GoogleAuthError, OSError, ValueError) as error:
        raise LookupFailed(f"Google Play could not be asked: {type(error).__name__}") from None
    if response.status_code != 200:
        raise LookupFailed(f"Google Play answered {response.status_code}.")
    try:
        return response.json()
    except ValueError:
        raise LookupFailed("Google Play's answer is not JSON.") from None
