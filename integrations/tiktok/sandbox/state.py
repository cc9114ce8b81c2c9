"""The sandbox's operations: register sources and tokens, inject faults, record what arrived."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import connections, router, transaction
from django.db.models import F
from django.utils import timezone

from integrations.tiktok.sandbox.models import (
    AccessToken,
    EventSource,
    Fault,
    ReceivedEvent,
    ReceivedRequest,
)

DEDUP_WINDOW = timedelta(hours=48)  # §1.6


def new_request_id() -> str:
    """TikTok's observed shape: 14-digit UTC timestamp + 20 uppercase hex characters (§0)."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(10).upper()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register_event_source(source_id: str, kind: str = "web", name: str = "") -> EventSource:
    source, _ = EventSource.objects.get_or_create(
        source_id=source_id, defaults={"kind": kind, "name": name}
    )
    return source


def issue_token(
    *,
    sources: Sequence[str] = (),
    advertiser_ids: Sequence[str] = (),
    token: str | None = None,
) -> str:
    """Create (or extend) a token and return it in plain text, as Events Manager shows it once."""
    token = token or secrets.token_hex(20)
    row, _ = AccessToken.objects.get_or_create(
        token_hash=_hash(token), defaults={"hint": "…" + token[-4:]}
    )
    if advertiser_ids:
        row.advertiser_ids = sorted(set(row.advertiser_ids) | set(advertiser_ids))
        row.save(update_fields=["advertiser_ids"])
    for source_id in sources:
        row.sources.add(register_event_source(source_id))
    return token


def find_token(token: str) -> AccessToken | None:
    if not token:
        return None
    return AccessToken.objects.filter(token_hash=_hash(token)).first()


def revoke_token(token: str) -> None:
    AccessToken.objects.filter(token_hash=_hash(token)).update(revoked_at=timezone.now())


def add_fault(target: str, kind: str, remaining: int = 1, hang_seconds: float = 15) -> Fault:
    return Fault.objects.create(
        target=target, kind=kind, remaining=remaining, hang_seconds=hang_seconds
    )


def take_fault(target: str) -> Fault | None:
    """Consume one use of the oldest live fault for `target`. The conditional update keeps two
    concurrent calls from consuming the same last use."""
    for fault in Fault.objects.filter(target=target, remaining__gt=0).order_by("id"):
        if Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(remaining=F("remaining") - 1):
            return fault
    return None


def record_request(
    *,
    path: str,
    target: str,
    token: str,
    body: Any,
    answer: dict[str, Any],
    http_status: int = 200,
) -> ReceivedRequest:
    return ReceivedRequest.objects.create(
        path=path,
        target=target[:64],
        token_hint=("…" + token[-4:]) if token else "",
        body=body if isinstance(body, dict | list) else None,
        response_code=answer.get("code"),
        response_message=answer.get("message", ""),
        http_status=http_status,
        request_id=answer.get("request_id", ""),
    )


@transaction.atomic
def record_events(request: ReceivedRequest, body: dict[str, Any]) -> None:
    """Store accepted events, marking copies of (source, event, event_id) seen within 48 h."""
    source_id = body["event_source_id"]
    items = body["data"]
    keys = {(item["event"], item.get("event_id", "")) for item in items if item.get("event_id")}
    since = timezone.now() - DEDUP_WINDOW
    seen = set(
        ReceivedEvent.objects.filter(
            event_source_id=source_id,
            event_id__in=[event_id for _, event_id in keys],
            received_at__gte=since,
        ).values_list("event", "event_id")
    )
    now = timezone.now()
    rows = []
    for item in items:
        key = (item["event"], item.get("event_id", ""))
        is_duplicate = bool(key[1]) and key in seen
        seen.add(key)
        rows.append(
            (
                request.pk,
                body["event_source"],
                source_id,
                item["event"],
                item.get("event_id", ""),
                item["event_time"],
                body.get("test_event_code", ""),
                item.get("limited_data_use", False),
                item,
                is_duplicate,
                now,
            )
        )
    _store_received(rows)


_RECEIVED_COLUMNS = (
    "request_id",
    "event_source",
    "event_source_id",
    "event",
    "event_id",
    "event_time",
    "test_event_code",
    "limited_data_use",
    "payload",
    "is_duplicate",
    "received_at",
)


def _store_received(rows: list[tuple]) -> None:
    """On PostgreSQL with `COPY FROM STDIN` (a batch of 1,000 events costs the sandbox a
    fraction of what 1,000 inserted rows do, so benches measure our side, not the stand-in's);
    elsewhere with bulk_create."""
    connection = connections[router.db_for_write(ReceivedEvent)]
    if connection.vendor != "postgresql":
        ReceivedEvent.objects.bulk_create(
            [ReceivedEvent(**dict(zip(_RECEIVED_COLUMNS, row, strict=True))) for row in rows],
            batch_size=1000,
        )
        return
    statement = f"COPY {ReceivedEvent._meta.db_table} ({', '.join(_RECEIVED_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row((*row[:8], json.dumps(row[8]), *row[9:]))


def create_credentials(kind: str, name: str) -> tuple[str, str]:
    """A new event source (a pixel code for "web", a TikTok App ID for "app") and an access
    token for it: what a marketer would copy from TikTok Events Manager."""
    if kind == "app":
        source_id = "73" + "".join(secrets.choice("0123456789") for _ in range(17))
    else:
        source_id = "C" + "".join(
            secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(19)
        )
    register_event_source(source_id, kind=kind, name=name[:100])
    return source_id, issue_token(sources=[source_id])
