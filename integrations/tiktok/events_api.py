"""Client for TikTok's Events API 2.0 (shared/spec/tiktok-api.md §1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from integrations.tiktok import transport

TRACK_PATH = "v1.3/event/track/"
MAX_EVENTS_PER_REQUEST = 1000  # §1.1: a larger array rejects the whole request
PARTNER_NAME = "Signalboard"
BAD_FIELD_CODE = 40002

# §1.7: 40002 names the field's path, `Batch.<i>.<path>: <problem>` for a field of item i. Our
# sandbox lists one such clause per bad item, joined by "; "; TikTok may list only the first.
ITEM_CLAUSE = re.compile(r"Batch\.(\d+)\.")
NEXT_ITEM_CLAUSE = re.compile(r";\s*(?=Batch\.\d+\.)")
# A path of the request itself (`event_source_id: …`, `data: Length …`): no item is to blame.
REQUEST_FIELD_PATH = re.compile(r"[a-z_]+(?:\.[a-z_]+)*: ")


@dataclass(frozen=True)
class TrackResult:
    code: int
    message: str
    request_id: str
    duration_ms: int


@dataclass(eq=False)
class RejectedEventsError(transport.PermanentError):
    """40002: TikTok refused fields of the body. `item_errors` holds TikTok's words about each
    item it named (index in `data` → its own clause). None named and `is_about_request` false
    means TikTok did not say which items are bad: the caller has to find them."""

    item_errors: dict[int, str] = field(default_factory=dict)
    is_about_request: bool = False


@dataclass(frozen=True)
class EncodedBody:
    """A `/event/track/` body already in JSON, and how many events its `data` holds."""

    json: bytes
    events: int


def track(*, access_token: str, body: dict[str, Any] | EncodedBody) -> TrackResult:
    """Send one `event/track` request. Raises transport.RetryableError / PermanentError, and
    RejectedEventsError (a PermanentError) for 40002."""
    json_body, json_text = (None, body.json) if isinstance(body, EncodedBody) else (body, None)
    count = body.events if isinstance(body, EncodedBody) else len(body.get("data") or [])
    if not 1 <= count <= MAX_EVENTS_PER_REQUEST:
        raise ValueError(f"an event/track request holds 1 to 1000 events, not {count}")
    # §1: POST /open_api/v1.3/event/track/ with the Access-Token header and a JSON body.
    try:
        envelope = transport.call(
            "POST", TRACK_PATH, access_token=access_token, json_body=json_body, json_text=json_text
        )
    except transport.PermanentError as error:
        if error.code != BAD_FIELD_CODE:
            raise
        item_errors = read_item_errors(error.message, count)
        raise RejectedEventsError(
            error.message,
            code=error.code,
            request_id=error.request_id,
            http_status=error.http_status,
            duration_ms=error.duration_ms,
            item_errors=item_errors,
            is_about_request=not item_errors and bool(REQUEST_FIELD_PATH.match(error.message)),
        ) from None
    return TrackResult(
        code=envelope.code,
        message=envelope.message,
        request_id=envelope.request_id,
        duration_ms=envelope.duration_ms,
    )


def read_item_errors(message: str, batch_size: int) -> dict[int, str]:
    """Each item a 40002 message names, with the clauses about it. Indexes outside the batch
    are ignored: such a message cannot be trusted to name the right items."""
    item_errors: dict[int, str] = {}
    for clause in NEXT_ITEM_CLAUSE.split(message):
        named = ITEM_CLAUSE.match(clause.strip())
        if not named or int(named.group(1)) >= batch_size:
            continue
        index = int(named.group(1))
        text = clause.strip()
        item_errors[index] = f"{item_errors[index]}; {text}" if index in item_errors else text
    return item_errors
