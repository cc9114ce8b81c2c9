"""Client for TikTok's Events API 2.0 (shared/spec/tiktok-api.md §1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.tiktok import transport

TRACK_PATH = "v1.3/event/track/"
MAX_EVENTS_PER_REQUEST = 1000  # §1.1: a larger array rejects the whole request
PARTNER_NAME = "Signalboard"


@dataclass(frozen=True)
class TrackResult:
    code: int
    message: str
    request_id: str
    duration_ms: int


def track(*, access_token: str, body: dict[str, Any]) -> TrackResult:
    """Send one `event/track` request. Raises transport.RetryableError / PermanentError."""
    events = body.get("data") or []
    if not 1 <= len(events) <= MAX_EVENTS_PER_REQUEST:
        raise ValueError(f"an event/track request holds 1 to 1000 events, not {len(events)}")
    # §1: POST /open_api/v1.3/event/track/ with the Access-Token header and a JSON body.
    envelope = transport.call("POST", TRACK_PATH, access_token=access_token, json_body=body)
    return TrackResult(
        code=envelope.code,
        message=envelope.message,
        request_id=envelope.request_id,
        duration_ms=envelope.duration_ms,
    )
