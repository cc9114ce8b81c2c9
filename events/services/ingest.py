"""Storing events: validate a batch, attribute it, insert it once, all in one transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from events.attribution import Conversion
from events.models import InAppEvent, install_details_of
from events.services.bulk import insert_new_rows
from events.services.event_input import EventDraft, read_event
from events.services.forwarding import plan_postbacks_for_events
from events.services.matching import (
    UserKeys,
    attribute_conversions,
    attribution_from_touchpoint,
    attribution_of,
    load_install_index,
)
from events.services.sessions import record_session_events
from integrations.models import App, Platform
from integrations.services.mapping import record_seen_event_names

MAX_BATCH = 1000
SEEN_NAME_CACHE_SECONDS = 300

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"


@dataclass
class ItemResult:
    index: int
    status: str
    event_id: str = ""
    errors: dict[str, list[str]] | None = None
    ignored_fields: list[str] = field(default_factory=list)
    media_source: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.event_id:
            data["event_id"] = self.event_id
        if self.media_source:
            data["media_source"] = self.media_source
        if self.errors:
            data["errors"] = self.errors
        if self.ignored_fields:
            data["ignored_fields"] = self.ignored_fields
        return data


@dataclass(frozen=True)
class BrowserContext:
    """What the web SDK's request tells us about the visitor; S2S calls have none."""

    ip: str | None
    user_agent: str


def record_events(
    app: App,
    items: Sequence[Any],
    *,
    browser: BrowserContext | None = None,
    received_at: datetime | None = None,
) -> list[ItemResult]:
    """Validate, attribute and store a batch of events; one result per item, in order.

    Good items are stored even when others are rejected. A repeated event id (in the database or
    earlier in the same batch) is a duplicate: acknowledged, stored once. Everything accepted is
    committed when this returns."""
    received_at = received_at or timezone.now()
    results: list[ItemResult] = []
    drafts: list[tuple[int, EventDraft]] = []
    ids_in_batch: set[str] = set()
    for index, item in enumerate(items):
        outcome = read_event(item, default_currency=app.currency, received_at=received_at)
        if isinstance(outcome, dict):
            results.append(ItemResult(index, REJECTED, errors=outcome))
            continue
        if browser is not None:
            outcome.ip = outcome.ip or browser.ip
            outcome.user_agent = outcome.user_agent or browser.user_agent[:2048]
        result = ItemResult(index, DUPLICATE, outcome.event_id, None, outcome.ignored_fields)
        results.append(result)
        if outcome.event_id not in ids_in_batch:
            ids_in_batch.add(outcome.event_id)
            drafts.append((index, outcome))
    if not drafts:
        return results
    with transaction.atomic():
        attributions = attribute_events(app, [draft for _, draft in drafts])
        events = [
            _as_event(app, draft, attribution)
            for (_, draft), attribution in zip(drafts, attributions, strict=True)
        ]
        inserted = insert_new_rows(InAppEvent, events, ["id", "event_id"])
        new_ids = {event_id: pk for pk, event_id in inserted}
        new_events = []
        for (index, _), event in zip(drafts, events, strict=True):
            if event.event_id in new_ids:
                event.pk = new_ids[event.event_id]
                new_events.append(event)
                results[index].status = ACCEPTED
                results[index].media_source = event.media_source
        plan_postbacks_for_events(app, new_events)
        record_session_events(app, new_events)
    remember_event_names(app, {event.event_name for event in new_events})
    return results


def attribute_events(app: App, drafts: Sequence[EventDraft]) -> list[dict[str, Any]]:
    """Each event copies its user's install's attribution; events of users without an install
    at or before the event's time are attributed through their touchpoints by the same rules
    as installs."""
    users = [UserKeys.of(draft) for draft in drafts]
    installs = load_install_index(app, users)
    attributions: list[dict[str, Any] | None] = []
    pending: list[int] = []
    for position, (draft, keys) in enumerate(zip(drafts, users, strict=True)):
        install = installs.install_for(keys, draft.event_time)
        if install is None:
            attributions.append(None)
            pending.append(position)
            continue
        attributions.append(
            attribution_of(install)
            | install_details_of(install)
            # The install itself, not only its id: the postback window reads its time.
            | {"install": install, "is_reengagement": install.is_reengagement}
        )
    if pending:
        allows_probabilistic = app.platform != Platform.WEB
        conversions = [as_conversion(drafts[p], allows_probabilistic) for p in pending]
        for position, (decision, touchpoint) in zip(
            pending, attribute_conversions(app, conversions), strict=True
        ):
            attributions[position] = attribution_from_touchpoint(touchpoint, decision.match_type)
    return [attribution or {} for attribution in attributions]


def as_conversion(draft: EventDraft, allows_probabilistic: bool) -> Conversion:
    return Conversion(
        at=draft.event_time,
        ttclids=frozenset({draft.ttclid} - {""}),
        advertising_ids=frozenset({draft.idfa, draft.gaid} - {""}),
        web_user_id=draft.web_user_id,
        ip=draft.ip,
        user_agent=draft.user_agent,
        allows_probabilistic=allows_probabilistic,
    )


def _as_event(app: App, draft: EventDraft, attribution: dict[str, Any]) -> InAppEvent:
    fields = dict(attribution)
    # The event keeps the ttclid it carried when its attribution has none (TikTok matches on it).
    fields["ttclid"] = fields.get("ttclid") or draft.ttclid
    return InAppEvent(
        app=app,
        event_id=draft.event_id,
        event_name=draft.event_name,
        event_time=draft.event_time,
        **UserKeys.of(draft).as_fields(),
        ip=draft.ip,
        user_agent=draft.user_agent,
        country_code=draft.country_code,
        email_sha256=draft.email_sha256,
        phone_sha256=draft.phone_sha256,
        value=draft.value,
        revenue=draft.revenue,
        currency=draft.currency,
        url=draft.url,
        referrer=draft.referrer,
        ttp=draft.ttp,
        **fields,
    )


def remember_event_names(app: App, names: set[str]) -> None:
    """Tell the mapping page which event names this app sends. Runs after the commit and skips
    names recorded in the last few minutes, so busy apps don't update the same rows on every
    request (those row locks would serialise concurrent batches)."""
    if not names:
        return
    keys = {
        f"sb:seen-event:{app.pk}:{hashlib.sha256(name.encode()).hexdigest()[:32]}": name
        for name in names
    }
    recent = cache.get_many(list(keys))
    fresh = {key: name for key, name in keys.items() if key not in recent}
    if not fresh:
        return
    record_seen_event_names(app.pk, fresh.values())
    cache.set_many(dict.fromkeys(fresh, True), SEEN_NAME_CACHE_SECONDS)
