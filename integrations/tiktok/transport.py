"""HTTP transport shared by the TikTok Business API clients.

Every call goes to `settings.TIKTOK_API_BASE_URL` with a timeout, and every answer is read the
same way (shared/spec/tiktok-api.md §0 and §3): TikTok answers HTTP 200 for errors too and the
envelope's `code` decides; 0 is success, 20001 partial success. Failures raise one of two
exceptions: `RetryableError` (try again later: throttling, TikTok-side errors, 5xx, timeouts) or
`PermanentError` (fix something first: bad token, missing permission, bad field).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings

SUCCESS_CODES = frozenset({0, 20001})

# §3.1: codes that go away on their own if we wait.
RETRYABLE_CODES = frozenset({40016, 40100, 40132, 40133, 40202, 40700, 50000, 50002, 60001, 61000})
RETRYABLE_RANGES = ((51000, 51099), (52000, 52999), (53000, 53999))

# §3, §6: the token itself is dead (expired, missing, revoked, or access removed by the advertiser).
TOKEN_REFUSED_CODES = frozenset({40102, 40104, 40105, 40106})
# Codes that mean our credentials are wrong or no longer valid: retrying cannot help, and the
# integration needs a person (new token, reconnect, pixel access). The one list: the token's
# own refusals, plus no permission on the pixel or advertiser (40001, 40113).
CREDENTIAL_CODES = TOKEN_REFUSED_CODES | {40001, 40113}

FIXES = {
    40001: (
        "TikTok says this token may not send events to this pixel. The pixel and the token come "
        "from different pixels, or the token's user lacks access to the advertiser that owns the "
        "pixel. Generate the token from the same pixel in TikTok Events Manager."
    ),
    40002: "TikTok rejected a field of the event; the message names it.",
    40100: "TikTok is rate limiting requests. Try again shortly; queued events are retried.",
    40104: "No access token was sent. Paste the pixel's Events API access token.",
    40105: (
        "TikTok rejected the access token (wrong, or revoked). Generate a new token in TikTok "
        "Events Manager (pixel settings → Generate access token) and replace it here."
    ),
    40102: "The access token has expired. Generate a new one and replace it here.",
    50000: "TikTok had a system error. Try again in a few minutes.",
    60001: "TikTok is in maintenance. Try again later.",
}


def is_retryable_code(code: int) -> bool:
    if code in RETRYABLE_CODES:
        return True
    return any(low <= code <= high for low, high in RETRYABLE_RANGES)


def fix_for(code: int | None) -> str:
    if code is None:
        return "TikTok could not be reached. Deliveries are retried automatically."
    return FIXES.get(code, "")


@dataclass(eq=False)
class TikTokError(Exception):
    """A failed TikTok call. `code` is TikTok's (None when no envelope came back)."""

    message: str
    code: int | None = None
    request_id: str = ""
    http_status: int | None = None
    duration_ms: int = 0

    def __str__(self) -> str:
        where = f" (request id {self.request_id})" if self.request_id else ""
        code = f"{self.code}: " if self.code is not None else ""
        return f"{code}{self.message}{where}"

    @property
    def is_credential_problem(self) -> bool:
        return self.code in CREDENTIAL_CODES

    @property
    def fix(self) -> str:
        return fix_for(self.code)


class RetryableError(TikTokError):
    """Throttled, TikTok-side error, 5xx, timeout or connection failure: try again later."""


class PermanentError(TikTokError):
    """Bad token, missing permission, bad field, wrong path: retrying the same call cannot help."""


@dataclass(frozen=True)
class Envelope:
    code: int
    message: str
    request_id: str
    data: dict[str, Any] = field(default_factory=dict)
    http_status: int = 200
    duration_ms: int = 0


SECRET_KEYS = frozenset({"access_token", "access-token", "secret", "app_secret", "auth_code"})


def strip_secrets(value: Any) -> Any:
    """The one place secrets leave a request before it is logged or stored. (Leaves are not
    passed to a call of their own: delivery strips a thousand rows' bodies per request.)"""
    if isinstance(value, dict):
        return {
            key: (
                "[removed]"
                if str(key).lower() in SECRET_KEYS
                else strip_secrets(item)
                if isinstance(item, dict | list)
                else item
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [strip_secrets(item) if isinstance(item, dict | list) else item for item in value]
    return value


def session() -> requests.Session:
    """The seam tests patch to simulate timeouts and dropped connections."""
    return _SESSION


_SESSION = requests.Session()


def call(
    method: str,
    path: str,
    *,
    access_token: str | None = None,
    json_body: dict[str, Any] | None = None,
    json_text: bytes | None = None,
    params: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> Envelope:
    """Call `<TIKTOK_API_BASE_URL>/open_api/<path>` and return the envelope of a success. The
    body is `json_body` encoded here, or `json_text` when the caller already encoded it."""
    url = f"{settings.TIKTOK_API_BASE_URL}/open_api/{path.lstrip('/')}"
    headers = {"Accept": "application/json"}
    if access_token is not None:
        headers["Access-Token"] = access_token
    if json_text is not None:
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    try:
        response = session().request(
            method,
            url,
            headers=headers,
            json=json_body,
            data=json_text,
            params=params,
            timeout=timeout or settings.TIKTOK_HTTP_TIMEOUT,
        )
    except requests.Timeout:
        raise RetryableError("TikTok did not answer in time", duration_ms=_ms(started)) from None
    except requests.ConnectionError as exc:
        raise RetryableError(
            f"Could not connect to TikTok: {type(exc).__name__}", duration_ms=_ms(started)
        ) from None
    duration_ms = _ms(started)
    envelope = _read_envelope(response, duration_ms)
    if envelope.code in SUCCESS_CODES:
        return envelope
    error_class = RetryableError if is_retryable_code(envelope.code) else PermanentError
    raise error_class(
        envelope.message or "TikTok returned an error",
        code=envelope.code,
        request_id=envelope.request_id,
        http_status=response.status_code,
        duration_ms=duration_ms,
    )


def _read_envelope(response: requests.Response, duration_ms: int) -> Envelope:
    """Non-200 answers never reached TikTok's API logic (§0): 5xx and 429 are worth retrying,
    anything else (404 = wrong path) is not. A 200 without a JSON envelope is treated as 5xx."""
    try:
        body = response.json()
    except (json.JSONDecodeError, ValueError):
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or "code" not in body:
        status = response.status_code
        retryable = status >= 500 or status == 429 or status == 200
        error_class = RetryableError if retryable else PermanentError
        raise error_class(
            f"TikTok answered HTTP {status} without a JSON envelope",
            http_status=status,
            duration_ms=duration_ms,
        )
    try:
        code = int(body["code"])
    except (TypeError, ValueError):
        raise RetryableError(
            "TikTok's answer had an unreadable code", http_status=200, duration_ms=duration_ms
        ) from None
    data = body.get("data")
    return Envelope(
        code=code,
        message=str(body.get("message", "")),
        request_id=str(body.get("request_id", "")),
        data=data if isinstance(data, dict) else {},
        http_status=response.status_code,
        duration_ms=duration_ms,
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
