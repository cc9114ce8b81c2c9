"""Delivering postbacks: claim due rows, send them in batches, record what happened.

The outbox guarantees: every planned postback ends delivered, failed with the partner's reason,
paused behind a "needs attention" integration, or dead-lettered after its last attempt; none is
lost and, to our knowledge, none is sent twice.

- **Claims.** A worker claims due rows in one short transaction: on PostgreSQL with
  `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers take disjoint rows without waiting;
  on SQLite the IMMEDIATE transaction serialises claims. A claim sets a lease; a row whose worker
  died is claimable again once the lease has expired. TikTok de-duplicates on event_id, so the
  resend after a crash cannot double-count.
- **Batches.** Rows are grouped by integration (one pixel/token) and test event code, at most
  1,000 events per request (spec §1.1).
- **Failures.** Retryable ones (§3.1) back off exponentially with jitter along
  POSTBACK_RETRY_SCHEDULE. Credential errors pause the integration and leave its rows pending
  without using up an attempt, so replacing the token resumes them, all due at once. Other
  permanent errors fail the row with TikTok's message.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import random
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F, Model, Q
from django.utils import timezone

from events.models import InAppEvent, Install, Postback
from events.services.pg_cursor import server_cursor
from integrations.models import Integration, PartnerEvent
from integrations.services.audit import record_audit
from integrations.services.deliveries import (
    mark_needs_attention,
    record_delivery_outcome,
    record_match_keys,
)
from integrations.tiktok import events_api, match_quality, payloads, transport

logger = logging.getLogger(__name__)

S = Postback.Status
JITTER = 0.2


@dataclass
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    dead: int = 0
    paused: int = 0
    requests: int = 0
    codes: dict[str, int] = field(default_factory=dict)


def worker_name() -> str:
    """This run's name in `claimed_by`: the node (NODE_NAME, else the host) and a random part."""
    return f"{(settings.NODE_NAME or socket.gethostname())[:50]}:{uuid.uuid4().hex[:8]}"


def due_postbacks(now: datetime) -> Q:
    """Rows a worker may take: pending and due, or sending with an expired lease (dead worker),
    of integrations that are active and not waiting for a person. A sending row was due when
    it was claimed (claims leave next_attempt_at as it was), so every row taken is due: the
    claim reads postback_due from its start up to now, however long the backlog behind it."""
    return (
        Q(next_attempt_at__lte=now)
        & (Q(status=S.PENDING) | Q(status=S.SENDING, lease_expires_at__lt=now))
        & Q(integration__is_active=True, integration__needs_attention=False)
    )


def claim_due_postbacks(*, worker: str, limit: int, now: datetime | None = None) -> list[int]:
    """Take up to `limit` due rows for this worker and return their ids."""
    return [claimed.pk for claimed in _claim(worker=worker, limit=limit, now=now)]


def _claim(*, worker: str, limit: int, now: datetime | None = None) -> list[_Claimed]:
    """Take up to `limit` due rows for this worker, each loaded with what it forwards."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.POSTBACK_LEASE_SECONDS)
    if connection.vendor == "postgresql":
        return _claim_in_one_statement(worker=worker, limit=limit, now=now, lease=lease)
    with transaction.atomic():
        candidates = (
            Postback.objects.filter(due_postbacks(now))
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)
        )
        ids = list(candidates[:limit])
        if not ids:
            return []
        # Conditional update: a row another worker took meanwhile no longer matches.
        Postback.objects.filter(pk__in=ids).filter(
            Q(status=S.PENDING) | Q(status=S.SENDING, lease_expires_at__lt=now)
        ).update(
            status=S.SENDING,
            claimed_by=worker,
            lease_expires_at=lease,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
        )
    rows = (
        Postback.objects.filter(pk__in=ids, claimed_by=worker, status=S.SENDING)
        .order_by("id")
        .values_list(*_LOADED)
    )
    return [_claimed_from(row) for row in rows]


def _claim_in_one_statement(
    *, worker: str, limit: int, now: datetime, lease: datetime
) -> list[_Claimed]:
    """PostgreSQL: pick due rows (skipping those another worker holds locked), mark them ours
    and read what they forward, in one statement (see _claim_sql)."""
    # psycopg's own cursor on Django's connection (its transaction): the statement is
    # prepared after a few runs, and rows come back as plain tuples.
    with server_cursor(connection, reads_times=True) as cursor:
        cursor.execute(
            _claim_sql(), [S.SENDING, worker, lease, now, now, S.PENDING, S.SENDING, now, limit]
        )
        rows = cursor.fetchall()
    claimed = []
    for row in rows:
        if row[_EVENT_VALUE] is not None:  # jsonb arrives as text; Django's JSONField parses it
            row = (*row[:_EVENT_VALUE], json.loads(row[_EVENT_VALUE]), *row[_EVENT_VALUE + 1 :])
        claimed.append(_claimed_from(row))
    _load_events_moved_in_time([row for row in claimed if row.event_id and row.event is None])
    return claimed


def _load_events_moved_in_time(rows: list[_Claimed]) -> None:
    """Events the claim did not find in the month of the postback's copy of their event_time
    (edited since, in Django's admin say): loaded by id, and the copy put right."""
    if not rows:
        return
    # The claim's own column groups, read from the event's side.
    lookups = ["event__id", *_GROUPS["event"], *_GROUPS["event_install_found"]]
    lookups += _GROUPS["event_install"]
    found = {
        values[0]: values
        for values in InAppEvent.objects.filter(pk__in=[row.event_id for row in rows]).values_list(
            *(name.removeprefix("event__") for name in lookups)
        )
    }
    event_end = 1 + len(_GROUPS["event"])
    for row in rows:
        values = found.get(row.event_id)
        if values is None:
            continue  # gone: _deliver settles the row
        row.event = _EventRow(*values[1:event_end])
        if values[event_end] is not None:
            row.event_install = _UserKeys(*values[event_end + 1 :])
        Postback.objects.filter(pk=row.pk).update(event_time=row.event.event_time)


@functools.cache
def _claim_sql() -> str:
    """UPDATE … RETURNING the claimed rows (the same rule as `due_postbacks`), joined to their
    event, that event's install and their install: a worker's claim and load in one round trip,
    with no second look-up of the rows it has just written. The events are found by id and
    event_time, so PostgreSQL looks in the event's month alone (run-time partition pruning);
    by id alone it probed every month's index for every row."""
    quote = connection.ops.quote_name
    postbacks = quote(Postback._meta.db_table)
    integrations = quote(Integration._meta.db_table)
    events = quote(InAppEvent._meta.db_table)
    installs = quote(Install._meta.db_table)
    columns = (*_CLAIMED_COLUMNS, "event_time")
    returned = ", ".join(quote(_column(Postback, name)) for name in columns)
    return (
        f"WITH c AS (UPDATE {postbacks} SET status = %s, claimed_by = %s, "  # noqa: S608
        "lease_expires_at = %s, attempts = attempts + 1, last_attempt_at = %s "
        f"WHERE id = ANY(ARRAY(SELECT p.id FROM {postbacks} p JOIN {integrations} i "
        "ON i.id = p.integration_id WHERE p.next_attempt_at <= %s AND (p.status = %s "
        "OR (p.status = %s AND p.lease_expires_at < %s)) AND i.is_active "
        "AND NOT i.needs_attention ORDER BY p.next_attempt_at, p.id LIMIT %s "
        f"FOR UPDATE OF p SKIP LOCKED)) RETURNING {returned}) "
        f"SELECT {', '.join(_selected_columns(quote))} FROM c "
        # With the partition key, each row's event is looked up in its own month only.
        f"LEFT JOIN {events} e ON e.id = c.event_id AND e.event_time = c.event_time "
        f"LEFT JOIN {installs} ei ON ei.id = e.install_id "
        f"LEFT JOIN {installs} ci ON ci.id = c.install_id ORDER BY c.id"
    )


# A run stops claiming after this long, well inside django-q2's task timeout; the next run
# (queued on commit, or the minute sweep) carries on.
RUN_SECONDS = 60


def deliver_due_postbacks(*, limit: int | None = None, worker: str | None = None) -> DeliveryReport:
    """Claim and deliver until nothing is due, `limit` rows were handled, or RUN_SECONDS passed."""
    worker = worker or worker_name()
    report = DeliveryReport()
    budget = limit or settings.POSTBACK_CLAIM_LIMIT * 20
    deadline = time.monotonic() + RUN_SECONDS
    while budget > 0 and time.monotonic() < deadline:
        claimed = _claim(worker=worker, limit=min(budget, settings.POSTBACK_CLAIM_LIMIT))
        if not claimed:
            break
        budget -= len(claimed)
        report.claimed += len(claimed)
        _deliver(claimed, report)
    return report


def _deliver(claimed: list[_Claimed], report: DeliveryReport) -> None:
    gone = {row.pk for row in claimed if row.event is None and row.install is None}
    if gone:
        # Its event was deleted after it was planned (events are not tied to postbacks by a
        # database constraint): nothing is left to send, and the rest of the claim goes on.
        Postback.objects.filter(pk__in=gone).update(
            status=S.FAILED,
            response_message="Its event no longer exists, so there was nothing to send.",
            lease_expires_at=None,
        )
        report.failed += len(gone)
        claimed = [row for row in claimed if row.pk not in gone]
    # A claim holds few integrations and many rows: load each integration once, not per row.
    integrations = Integration.objects.select_related("partner", "app", "pixel").in_bulk(
        {row.integration_id for row in claimed}
    )
    groups: dict[tuple[int, str], list[_Claimed]] = defaultdict(list)
    for row in claimed:
        groups[(row.integration_id, row.test_event_code)].append(row)
    api_names = _api_names({integration.partner_id for integration in integrations.values()})
    for (integration_id, test_event_code), group in groups.items():
        integration = integrations[integration_id]
        for start in range(0, len(group), events_api.MAX_EVENTS_PER_REQUEST):
            batch = group[start : start + events_api.MAX_EVENTS_PER_REQUEST]
            _send_batch(integration, batch, test_event_code, api_names, report)


def _api_names(partner_ids: Iterable[int]) -> dict[tuple[int, str], str]:
    """What TikTok calls each mapped event (custom names pass through unchanged)."""
    return {
        (partner_id, name): api_name
        for partner_id, name, api_name in PartnerEvent.objects.filter(
            partner_id__in=partner_ids
        ).values_list("partner_id", "name", "api_name")
    }


class _Item(NamedTuple):
    """One `data[]` item and its JSON, encoded once for the request and each row's copy."""

    fields: dict[str, Any]
    json: str


def _send_batch(
    integration: Integration,
    batch: list[_Claimed],
    test_event_code: str,
    api_names: dict[tuple[int, str], str],
    report: DeliveryReport,
) -> None:
    items = []
    for row in batch:
        event = _forwarded(
            row, integration.partner_id, api_names, row.event, row.event_install, row.install
        )
        mapped = payloads.map_properties(event)
        item = payloads.event_item(integration, event, mapped)
        items.append(_Item(item, _item_json(item)))
        # Kept with the row (written by _finish): what TikTok could not take, and why.
        row.dropped = mapped.dropped
    _send(integration, batch, items, test_event_code, report)


def _item_json(item: dict[str, Any]) -> str:
    """An item's JSON, by orjson: a thousand per request made the standard library's encoder
    (4.5 µs an item against 0.4) the largest cost of a delivery worker. Compact, UTF-8. A
    float that is not a number would become null; none is stored (ingestion refuses NaN and
    infinity in revenue and in values)."""
    return orjson.dumps(item).decode()


def _data_prefix(envelope: dict[str, Any]) -> str:
    """The JSON of `envelope` (a body without its `data`) with `data` added last, up to its
    opening bracket: a body is this, the items' JSON joined by commas, and `]}`."""
    return json.dumps({**envelope, "data": []})[: -len("]}")]


def _send(
    integration: Integration,
    batch: list[_Claimed],
    items: list[_Item],
    test_event_code: str,
    report: DeliveryReport,
    *,
    is_resend: bool = False,
    is_follow_up: bool = False,
) -> None:
    """One request for `batch`; when TikTok refuses some of its events, the bad ones are
    failed and the others sent again (see _isolate_bad_items)."""
    envelope = payloads.request_body(integration, [], test_event_code=test_event_code)
    del envelope["data"]
    text = _data_prefix(envelope) + ", ".join(item.json for item in items) + "]}"
    body = events_api.EncodedBody(text.encode(), len(items))
    pixel = getattr(integration, "pixel", None)
    token = pixel.access_token.reveal() if pixel else ""
    if is_follow_up:
        # Finding bad items may take several requests: keep the claim alive meanwhile, so no
        # other worker takes these rows over.
        Postback.objects.filter(pk__in=[p.pk for p in batch], status=S.SENDING).update(
            lease_expires_at=timezone.now() + timedelta(seconds=settings.POSTBACK_LEASE_SECONDS)
        )
    report.requests += 1
    try:
        result = events_api.track(access_token=token, body=body)
    except events_api.RejectedEventsError as error:
        _isolate_bad_items(
            integration, batch, items, envelope, error, test_event_code, report, is_resend
        )
        return
    except transport.TikTokError as error:
        _record_failure(integration, batch, items, envelope, error, report)
        return
    now = timezone.now()
    outcome = {
        "status": S.DELIVERED,
        "delivered_at": now,
        "response_code": result.code,
        "response_message": result.message,
        "response_request_id": result.request_id,
        "http_status": 200,
        "duration_ms": result.duration_ms,
    }
    masks = [match_quality.keys_carried(item.fields) for item in items]
    _finish(batch, items, envelope, outcome, now, match_keys=masks)
    # Summed per day on the integration's side for its coverage panel (so that panel never
    # parses stored payloads); each row keeps its own in `match_keys`.
    record_match_keys(integration, at=now, masks=masks)
    report.delivered += len(batch)
    _count(report, str(result.code), len(batch))
    record_delivery_outcome(integration.pk, ok=True, at=now)


def _isolate_bad_items(
    integration: Integration,
    batch: list[_Claimed],
    items: list[_Item],
    envelope: dict[str, Any],
    error: events_api.RejectedEventsError,
    test_event_code: str,
    report: DeliveryReport,
    is_resend: bool,
) -> None:
    """One bad event costs one event, not the batch. Items TikTok names are failed, each with
    TikTok's words about it, and the others are sent once more at once. If TikTok names none,
    the batch is split in halves until each bad event is alone; if a resend is refused again
    with other items named, TikTok names only some of them, so the rest is split too.
    A refusal of the request itself (not of an item) fails the batch: splitting cannot help."""
    if len(batch) == 1 or error.is_about_request:
        _record_failure(integration, batch, items, envelope, error, report)
        return
    now = timezone.now()
    record_delivery_outcome(integration.pk, ok=False, at=now)
    named = error.item_errors
    if named:
        bad = sorted(named)
        _finish(
            [batch[index] for index in bad],
            [items[index] for index in bad],
            envelope,
            {**_answer(error), "status": S.FAILED, "batch_size": len(batch)},
            now,
            messages=[named[index] for index in bad],
        )
        report.failed += len(bad)
        _count(report, str(error.code), len(bad))
        keep = [index for index in range(len(batch)) if index not in named]
        batch, items = [batch[i] for i in keep], [items[i] for i in keep]
        if not batch:
            return
        if not is_resend:
            _send(
                integration,
                batch,
                items,
                test_event_code,
                report,
                is_resend=True,
                is_follow_up=True,
            )
            return
    middle = len(batch) // 2
    for part in (slice(0, middle), slice(middle, None)):
        _send(integration, batch[part], items[part], test_event_code, report, is_follow_up=True)


def _answer(error: transport.TikTokError) -> dict[str, Any]:
    return {
        "response_code": error.code,
        "response_message": error.message[:2000],
        "response_request_id": error.request_id,
        "http_status": error.http_status,
        "duration_ms": error.duration_ms,
    }


def _count(report: DeliveryReport, key: str, rows: int) -> None:
    report.codes[key] = report.codes.get(key, 0) + rows


def _record_failure(
    integration: Integration,
    batch: list[_Claimed],
    items: list[_Item],
    envelope: dict[str, Any],
    error: transport.TikTokError,
    report: DeliveryReport,
) -> None:
    now = timezone.now()
    answer = _answer(error)
    _count(
        report,
        str(error.code if error.code is not None else f"http {error.http_status or 'none'}"),
        len(batch),
    )
    record_delivery_outcome(integration.pk, ok=False, at=now)
    if isinstance(error, transport.RetryableError):
        _schedule_retries(batch, items, envelope, answer, now, report)
        return
    if error.is_credential_problem:
        # Replacing the token fixes these, so the rows wait for it instead of failing. A pause
        # is not an attempt (it gives back the one its claim counted), and the integration's
        # other waiting rows become due too: a resume sends everything at once, afresh.
        reason = f"TikTok refused our credentials ({error.code}): {error.message}"
        mark_needs_attention(integration.pk, code=error.code, reason=reason)
        paused = {"status": S.PENDING, "next_attempt_at": now, "attempts": F("attempts") - 1}
        _finish(batch, items, envelope, {**answer, **paused}, now)
        Postback.objects.filter(
            integration=integration, status=S.PENDING, next_attempt_at__gt=now
        ).update(next_attempt_at=now)
        report.paused += len(batch)
        return
    _finish(batch, items, envelope, {**answer, "status": S.FAILED}, now)
    report.failed += len(batch)


def _schedule_retries(
    batch: list[_Claimed],
    items: list[_Item],
    envelope: dict[str, Any],
    answer: dict[str, Any],
    now: datetime,
    report: DeliveryReport,
) -> None:
    schedule = settings.POSTBACK_RETRY_SCHEDULE
    retry: list[tuple[_Claimed, _Item]] = []
    dead: list[tuple[_Claimed, _Item]] = []
    for postback, item in zip(batch, items, strict=True):
        (dead if postback.attempts > len(schedule) else retry).append((postback, item))
    if retry:
        # One delay per batch: the rows failed together and are retried together.
        delay = schedule[retry[0][0].attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
        _finish(
            [p for p, _ in retry],
            [i for _, i in retry],
            envelope,
            {**answer, "status": S.PENDING, "next_attempt_at": now + timedelta(seconds=delay)},
            now,
        )
        report.retrying += len(retry)
    if dead:
        _finish(
            [p for p, _ in dead], [i for _, i in dead], envelope, {**answer, "status": S.DEAD}, now
        )
        report.dead += len(dead)


ATTEMPT_LOG_LENGTH = 20  # a row keeps its last 20 attempts


def _finish(
    batch: list[_Claimed],
    items: list[_Item],
    envelope: dict[str, Any],
    outcome: dict[str, Any],
    now: datetime,
    *,
    messages: list[str] | None = None,
    match_keys: list[int] | None = None,
) -> None:
    """Write one attempt's result on every row of the batch: the common answer, and each row's
    own request (its item in the batch's envelope), an entry appended to its attempt log, its
    dropped properties, its message and, for a delivery, the match keys it carried."""
    common = {"batch_size": len(batch), **outcome, "lease_expires_at": None}
    message = common.pop("response_message", "") or ""
    # The item as sent: built by payloads.event_item from the event's own fields, it holds no
    # secret of ours (the access token travels in a header, the envelope is stripped).
    prefix = _data_prefix(transport.strip_secrets(envelope))
    rows = _RowValues(
        ids=[row.pk for row in batch],
        bodies=[f"{prefix}{item.json}]}}" for item in items],
        messages=[text[:2000] for text in messages] if messages else message[:2000],
        dropped=[json.dumps(row.dropped) for row in batch]
        if any(row.dropped for row in batch)
        else "[]",
        match_keys=match_keys,
    )
    log_entry = {
        "at": now.isoformat(),
        "code": outcome.get("response_code"),
        "http": outcome.get("http_status"),
        "request_id": outcome.get("response_request_id") or "",
    }
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _update_rows_as_arrays(common, rows, log_entry)
        else:
            _update_rows_one_by_one(common, rows, log_entry)


@dataclass(frozen=True)
class _RowValues:
    """What `_finish` writes on each row. A column that is the same for every row holds that
    one value instead of a list."""

    ids: list[int]
    bodies: list[str]
    messages: list[str] | str
    dropped: list[str] | str  # JSON
    match_keys: list[int] | None  # None: each row keeps what it had

    def of_row(self, index: int, column: str) -> Any:
        value = getattr(self, column)
        return value[index] if isinstance(value, list) else value


def _update_rows_as_arrays(
    common: dict[str, Any], rows: _RowValues, log_entry: dict[str, Any]
) -> None:
    """PostgreSQL: one UPDATE … FROM unnest(arrays) for the whole batch, bound on the server in
    binary (psycopg's own cursor on Django's connection, same transaction). Values the rows
    share are sent once; the attempt log grows in the database, so it is never read here.
    A common value that is an expression (a paused row's attempt given back) is left to the
    ORM in a statement before."""
    plain = {name: value for name, value in common.items() if not _is_expression(value)}
    expressions = {name: value for name, value in common.items() if name not in plain}
    if expressions:
        Postback.objects.filter(pk__in=rows.ids).update(**expressions)
    fields = [field for field in Postback._meta.concrete_fields if field.name in plain]
    if len(fields) != len(plain):
        raise ValueError(f"not columns of Postback: {set(plain) - {f.name for f in fields}}")
    quote = connection.ops.quote_name
    # Placeholders are filled in the order they appear in the statement: every piece below
    # takes its parameters as it is written, in that order.
    params: list[Any] = []
    arrays: dict[str, tuple[str, list[Any]]] = {"id": ("bigint", rows.ids)}

    def param(value: Any, sql_type: str = "") -> str:
        params.append(value)
        return f"%s::{sql_type}" if sql_type else "%s"

    def per_row(name: str, sql_type: str, values: list[Any] | Any) -> str:
        """`v.<name>` when the rows differ, else their one value as a parameter."""
        if isinstance(values, list):
            arrays[name] = (sql_type, values)
            return f"v.{name}"
        return param(values, sql_type)

    sets = [
        f"{quote(column.column or column.name)} = "
        f"{param(column.get_db_prep_save(plain[column.name], connection))}"
        for column in fields
    ]
    sets.append(f"request_body = {per_row('body', 'text', rows.bodies)}::jsonb")
    sets.append(f"response_message = {per_row('message', 'text', rows.messages)}")
    sets.append(f"dropped_properties = {per_row('dropped', 'text', rows.dropped)}::jsonb")
    if rows.match_keys is not None:
        sets.append(f"match_keys = {per_row('keys', 'int', rows.match_keys)}")
    # The log grows in the database (so it is never read here) and keeps its last entries.
    entry = ", ".join(
        [
            f"'at', {param(log_entry['at'], 'text')}",
            f"'code', {param(log_entry['code'], 'int')}",
            f"'http', {param(log_entry['http'], 'int')}",
            f"'message', left({per_row('message', 'text', rows.messages)}, 200)",
            f"'request_id', {param(log_entry['request_id'], 'text')}",
        ]
    )
    sets.append(
        f"attempt_log = jsonb_path_query_array(p.attempt_log || jsonb_build_array("
        f"jsonb_build_object({entry})), '$[last - {ATTEMPT_LOG_LENGTH - 1} to last]')"
    )
    table = quote(Postback._meta.db_table)
    unnest = ", ".join(f"%b::{sql_type}[]" for sql_type, _ in arrays.values())
    with server_cursor(connection) as cursor:
        cursor.execute(
            f"UPDATE {table} AS p SET {', '.join(sets)} "  # noqa: S608
            f"FROM unnest({unnest}) AS v({', '.join(arrays)}) WHERE p.id = v.id",
            [*params, *(values for _, values in arrays.values())],
        )


def _update_rows_one_by_one(
    common: dict[str, Any], rows: _RowValues, log_entry: dict[str, Any]
) -> None:
    """SQLite: the common answer in one UPDATE, then each row's own columns."""
    Postback.objects.filter(pk__in=rows.ids).update(**common)
    table = connection.ops.quote_name(Postback._meta.db_table)
    keep = ATTEMPT_LOG_LENGTH - 1
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET request_body = %s, response_message = %s, "  # noqa: S608
            "dropped_properties = %s, match_keys = coalesce(%s, match_keys), "
            "attempt_log = json_insert(CASE WHEN json_array_length(attempt_log) > "
            f"{keep} THEN json_remove(attempt_log, '$[0]') ELSE attempt_log END, "
            "'$[#]', json(%s)) WHERE id = %s",
            [
                (
                    body,
                    rows.of_row(index, "messages"),
                    rows.of_row(index, "dropped"),
                    rows.match_keys[index] if rows.match_keys is not None else None,
                    json.dumps({**log_entry, "message": rows.of_row(index, "messages")[:200]}),
                    pk,
                )
                for index, (pk, body) in enumerate(zip(rows.ids, rows.bodies, strict=True))
            ],
        )


def _is_expression(value: Any) -> bool:
    return hasattr(value, "resolve_expression")


# What forwarding reads of a postback, its event and its install. The claim loads these columns
# into the small records below: building postback, event and install model instances (some
# 30 to 60 columns each, JSON and times converted) was the largest cost of a delivery worker.
@dataclass(slots=True)
class _UserKeys:
    """The match keys an event and an install both carry, by the same names."""

    ttclid: str
    ip: str | None
    user_agent: str
    customer_user_id: str
    idfa: str
    idfv: str
    gaid: str


@dataclass(slots=True)
class _InstallRow(_UserKeys):
    installed_at: datetime
    device_id: str
    campaign_id: str
    ad_id: str


@dataclass(slots=True)
class _EventRow(_UserKeys):
    event_id: str
    event_time: datetime
    ttp: str
    email_sha256: str
    phone_sha256: str
    url: str
    referrer: str
    value: Any
    revenue: Decimal | None
    currency: str
    campaign_id: str
    ad_id: str


@dataclass(slots=True)
class _Claimed:
    """A claimed postback: its own columns (`_CLAIMED_COLUMNS`, in this order) and what it
    forwards, its event (with that event's install's keys) or its install."""

    pk: int
    integration_id: int
    partner_event_name: str
    include_values: bool
    include_revenue: bool
    test_event_code: str
    attempts: int  # this attempt included
    install_id: int | None
    event_id: int | None
    event: _EventRow | None = None
    event_install: _UserKeys | None = None
    install: _InstallRow | None = None
    dropped: list[dict[str, str]] = field(default_factory=list)  # set when its item is built


_CLAIMED_COLUMNS = (
    "id",
    "integration_id",
    "partner_event_name",
    "include_values",
    "include_revenue",
    "test_event_code",
    "attempts",
    "install_id",
    "event_id",
)


def _names(row_type: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclass_fields(row_type))


# The claim's columns in groups (as ORM lookups from Postback), and where each group sits in a
# loaded row.
_GROUPS = {
    "postback": _CLAIMED_COLUMNS,
    # Columns never null in their own table, so null means "no such row" (a foreign key's id
    # would be read from the postback itself and say nothing of whether the row exists).
    "event_found": ("event__event_time",),
    "event": tuple(f"event__{name}" for name in _names(_EventRow)),
    "event_install_found": ("event__install__installed_at",),
    "event_install": tuple(f"event__install__{name}" for name in _names(_UserKeys)),
    "install": tuple(f"install__{name}" for name in _names(_InstallRow)),
}
_LOADED = tuple(itertools.chain.from_iterable(_GROUPS.values()))
_ENDS = list(itertools.accumulate(len(columns) for columns in _GROUPS.values()))
_AT = {
    group: slice(end - len(columns), end)
    for (group, columns), end in zip(_GROUPS.items(), _ENDS, strict=True)
}
_EVENT_VALUE = _AT["event"].start + _names(_EventRow).index("value")


def _selected_columns(quote: Any) -> list[str]:
    """`_LOADED` as columns of the claim statement's tables: `c` the claimed postbacks, `e`
    their events, `ei` those events' installs, `ci` the postbacks' own installs."""
    tables = {"": ("c", Postback), "event": ("e", InAppEvent), "event__install": ("ei", Install)}
    tables["install"] = ("ci", Install)
    columns = []
    for lookup in _LOADED:
        path, _, name = lookup.rpartition("__")
        alias, model = tables[path]
        columns.append(f"{alias}.{quote(_column(model, name))}")
    return columns


def _column(model: type[Model], name: str) -> str:
    """The column of a model's field, by its name or attname (`install` or `install_id`)."""
    for model_field in model._meta.concrete_fields:
        if name in (model_field.name, model_field.attname):
            return model_field.column or model_field.attname
    raise LookupError(f"{model.__name__} has no column for {name}")


def _claimed_from(row: tuple[Any, ...]) -> _Claimed:
    claimed = _Claimed(*row[_AT["postback"]])
    if row[_AT["event_found"]] != (None,):
        claimed.event = _EventRow(*row[_AT["event"]])
    if row[_AT["event_install_found"]] != (None,):
        claimed.event_install = _UserKeys(*row[_AT["event_install"]])
    if claimed.install_id is not None:
        claimed.install = _InstallRow(*row[_AT["install"]])
    return claimed


_NO_KEYS = _UserKeys("", None, "", "", "", "", "")


def forwarded_event(
    postback: Postback, api_names: dict[tuple[int, str], str]
) -> payloads.ForwardedEvent:
    """What TikTok gets for one postback loaded as a model, its event and install with it."""
    event = postback.event
    return _forwarded(
        postback,
        postback.integration.partner_id,
        api_names,
        event,
        event.install if event is not None else None,
        postback.install,
    )


def _forwarded(
    postback: Postback | _Claimed,
    partner_id: int,
    api_names: dict[tuple[int, str], str],
    event: InAppEvent | _EventRow | None,
    event_install: Install | _UserKeys | None,
    install: Install | _InstallRow | None,
) -> payloads.ForwardedEvent:
    """What TikTok gets for one postback, with values and revenue only where the row allows.
    An event carries every match key we know for its user: its own, else its install's (the
    device, IP and user agent an app reported on first open; spec §1.3)."""
    event_name = api_names.get(
        (partner_id, postback.partner_event_name), postback.partner_event_name
    )
    if install is not None:
        return payloads.ForwardedEvent(
            event_name=event_name,
            event_time=install.installed_at,
            event_id=f"install-{install.device_id}",
            ttclid=install.ttclid,
            ip=install.ip or "",
            user_agent=install.user_agent,
            external_id=install.customer_user_id,
            idfa=install.idfa,
            idfv=install.idfv,
            gaid=install.gaid,
            attributed_campaign_id=install.campaign_id,
            attributed_ad_id=install.ad_id,
        )
    if event is None:
        raise ValueError(f"postback {postback.pk} names neither an install nor an event")
    keys = event_install or _NO_KEYS
    return payloads.ForwardedEvent(
        event_name=event_name,
        event_time=event.event_time,
        event_id=event.event_id,
        ttclid=event.ttclid or keys.ttclid,
        ttp=event.ttp,
        ip=event.ip or keys.ip or "",
        user_agent=event.user_agent or keys.user_agent,
        email_sha256=event.email_sha256,
        phone_sha256=event.phone_sha256,
        external_id=event.customer_user_id or keys.customer_user_id,
        idfa=event.idfa or keys.idfa,
        idfv=event.idfv or keys.idfv,
        gaid=event.gaid or keys.gaid,
        url=event.url,
        referrer=event.referrer,
        value=event.value if postback.include_values else None,
        revenue=event.revenue if postback.include_revenue else None,
        currency=event.currency if postback.include_revenue else "",
        attributed_campaign_id=event.campaign_id,
        attributed_ad_id=event.ad_id,
    )


def requeue_postbacks(
    integration: Integration, ids: Iterable[int], *, acting_user: AbstractBaseUser | None
) -> int:
    """Retry failed rows and replay dead letters now, with a fresh set of attempts. Delivered
    rows are left alone; rows waiting for their retry are simply brought forward."""
    ids = list(ids)
    with transaction.atomic():
        count = Postback.objects.filter(
            integration=integration,
            pk__in=ids,
            status__in=[S.FAILED, S.DEAD, S.PENDING],
        ).update(
            status=S.PENDING, next_attempt_at=timezone.now(), attempts=0, lease_expires_at=None
        )
        if count:
            record_audit(
                integration=integration,
                acting_user=acting_user,
                action="postbacks.requeued",
                changes={},
                details={"count": count},
            )
            from events.tasks import enqueue_delivery

            transaction.on_commit(enqueue_delivery)
    return count
