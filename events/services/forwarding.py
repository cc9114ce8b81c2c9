"""Which events become postbacks: the planner that joins forwarding to ingestion.

`record_events` and `record_install` call the `plan_*` functions inside their one
`transaction.atomic()`, right after the insert, with only the rows that were new (never the
duplicates). Each planned `Postback` row commits or rolls back together with the event it
delivers, and delivery is queued only once the transaction has committed.

An event becomes one postback per enabled mapping row of every active integration of the app
(with in-app event postbacks on) whose rules all hold: "for users from", the postback window,
the conditions. Re-engagement events are never forwarded to TikTok's Events API.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from events.models import InAppEvent, Install, Postback
from events.services.bulk import insert_columns
from events.services.config_cache import ConfigCache
from integrations.models import (
    App,
    EventMapping,
    Including,
    Integration,
    PostbackWindowUnit,
    UsersFrom,
)

INSTALL_EVENT = "InstallApp"  # TikTok's app event for an install (spec §2.3)
INSTALL_APP_EVENT = "install"  # our name for an install or first visit in mapping rows
# Never sent to a partner, whatever the mapping says: a refund is not a conversion.
NEVER_FORWARDED = frozenset({"refund"})


FORWARDING = ConfigCache[list[Integration]]()


def forwarding_integrations(app: App) -> list[Integration]:
    """Integrations that forward in-app events, with their enabled mapping rows (remembered
    for CONFIG_CACHE_SECONDS: see config_cache)."""
    return FORWARDING.get(app.pk, lambda: _load_forwarding_integrations(app))


def _load_forwarding_integrations(app: App) -> list[Integration]:
    """The app's own integrations, then the pixel integrations of websites that link this app
    (web-to-app: they forward the app events of users their web ads brought; see `_mismatch`)."""
    enabled_rows = Prefetch(
        "mappings",
        queryset=EventMapping.objects.filter(is_enabled=True),
        to_attr="enabled_mappings",  # declared on Integration, for readers and mypy
    )
    rows = (
        Integration.objects.filter(
            Q(app=app) | Q(app__ios_app=app) | Q(app__android_app=app),
            is_active=True,
            in_app_postbacks_enabled=True,
            partner__supports_events_api=True,
        )
        .select_related("partner")
        .prefetch_related(enabled_rows)  # type: ignore[no-redef]
    )
    own = [i for i in rows if i.app_id == app.pk]
    return own + [i for i in rows if i.app_id != app.pk and not i.partner.is_app]


def plan_postbacks_for_events(app: App, new_events: Sequence[InAppEvent]) -> int:
    """Write the postbacks for events just stored (primary keys and attribution set); returns
    how many. Written column by column: a Postback instance per row cost a tenth of a batch."""
    forwarded = [event for event in new_events if not event.is_reengagement]
    if not forwarded:
        return 0
    integrations = forwarding_integrations(app)
    if not integrations:
        return 0
    anchors = _window_anchors(forwarded)
    flagged = _flagged_installs(forwarded, integrations)
    planned = [
        (integration.pk, event, mapping)
        for event in forwarded
        for integration in integrations
        if not (integration.block_flagged_installs and event.install_id in flagged)
        for mapping in integration.enabled_mappings
        if not _mismatch(event, integration, mapping, anchors.get(event.pk))
    ]
    count = insert_columns(
        Postback,
        per_row={
            "integration_id": [integration_id for integration_id, _, _ in planned],
            "event_id": [event.pk for _, event, _ in planned],
            "event_time": [event.event_time for _, event, _ in planned],
            "partner_event_name": [mapping.partner_event_name for _, _, mapping in planned],
            "include_values": [m.including != Including.NO_VALUES for _, _, m in planned],
            "include_revenue": [m.including == Including.VALUES_AND_REVENUE for _, _, m in planned],
        },
        shared={"next_attempt_at": timezone.now()},
    )
    if count:
        queue_delivery()
    return count


def plan_postbacks_for_install(app: App, new_install: Install) -> list[Postback]:
    """App partners with install postbacks get installs, per their "send install postbacks for"
    choice: installs attributed to them only, or every install including organic. Web partners
    get a website's first visit through a mapping row for the `install` event (the default
    mapping's install → Download), under that row's "for users from"."""
    if new_install.is_reengagement:
        return []
    return _app_install_postbacks(app, new_install) + _mapped_install_postbacks(app, new_install)


def _mapped_install_postbacks(app: App, new_install: Install) -> list[Postback]:
    now = timezone.now()
    postbacks = [
        Postback(
            integration=integration,
            install=new_install,
            partner_event_name=mapping.partner_event_name,
            next_attempt_at=now,
        )
        for integration in forwarding_integrations(app)
        if integration.app_id == app.pk  # a website's first visit, not a linked app's install
        and not integration.partner.supports_install_postbacks
        and not _blocks(integration, new_install)
        for mapping in integration.enabled_mappings
        if mapping.app_event_name == INSTALL_APP_EVENT
        # An install has no value, so a row with conditions on it can never hold.
        and not mapping.conditions
        and (
            mapping.users_from == UsersFrom.ALL_SOURCES
            or new_install.media_source == integration.partner.media_source
        )
    ]
    Postback.objects.bulk_create(postbacks)
    if postbacks:
        queue_delivery()
    return postbacks


def _app_install_postbacks(app: App, new_install: Install) -> list[Postback]:
    integrations = Integration.objects.filter(
        app=app,
        is_active=True,
        partner__supports_events_api=True,
        partner__supports_install_postbacks=True,
    ).select_related("partner")
    now = timezone.now()
    postbacks = [
        Postback(
            integration=integration,
            install=new_install,
            partner_event_name=INSTALL_EVENT,
            next_attempt_at=now,
        )
        for integration in integrations
        if not _blocks(integration, new_install)
        and (
            integration.install_postbacks == UsersFrom.ALL_SOURCES
            or new_install.media_source == integration.partner.media_source
        )
    ]
    Postback.objects.bulk_create(postbacks)
    if postbacks:
        queue_delivery()
    return postbacks


def _blocks(integration: Integration, install: Install) -> bool:
    """The integration keeps installs flagged by the fraud checks out of its postbacks."""
    return integration.block_flagged_installs and bool(install.fraud_reasons)


def _flagged_installs(events: Sequence[InAppEvent], integrations: list[Integration]) -> set[int]:
    """Installs of these events' users that the fraud checks flagged (asked only when an
    integration blocks them)."""
    if not any(integration.block_flagged_installs for integration in integrations):
        return set()
    install_ids = {event.install_id for event in events if event.install_id}
    if not install_ids:
        return set()
    return set(
        Install.objects.filter(pk__in=install_ids)
        .exclude(fraud_reasons="")
        .values_list("pk", flat=True)
    )


def queue_delivery() -> None:
    """Deliver soon after the commit. The every-minute sweep catches anything a lost enqueue
    misses, so this is a latency optimisation, not what guarantees delivery."""
    from events.tasks import enqueue_delivery

    transaction.on_commit(enqueue_delivery)


@dataclass(frozen=True)
class Reason:
    integration: str
    mapping: str
    sent: bool
    why: str


def explain(event: InAppEvent, integrations: QuerySet[Integration]) -> list[Reason]:
    """Why this event was (or was not) sent to each of `integrations` (those the viewer may
    see: `AppAccess.visible_integrations`), for the event's page."""
    reasons = []
    anchor = _window_anchors([event]).get(event.pk)
    for integration in integrations.filter(app_id=event.app_id).select_related("partner"):
        name = integration.partner.name
        gate = _integration_gate(integration, event)
        if gate:
            reasons.append(Reason(name, "", False, gate))
            continue
        rows = [m for m in integration.mappings.all() if m.app_event_name == event.event_name]
        if not rows:
            reasons.append(Reason(name, "", False, f"No mapping row for “{event.event_name}”."))
        for mapping in rows:
            label = f"{mapping.app_event_name} → {mapping.partner_event_name}"
            if not mapping.is_enabled:
                reasons.append(Reason(name, label, False, "The mapping row is switched off."))
                continue
            problem = _mismatch(event, integration, mapping, anchor)
            reasons.append(Reason(name, label, not problem, problem or "Matches every rule."))
    return reasons


def _integration_gate(integration: Integration, event: InAppEvent) -> str:
    if not integration.partner.supports_events_api:
        return "This partner takes no event postbacks."
    if not integration.is_active:
        return "The integration is not active."
    if not integration.in_app_postbacks_enabled:
        return "In-app event postbacks are switched off."
    if event.is_reengagement:
        return "Re-engagement events are never sent to TikTok's Events API."
    if integration.block_flagged_installs and event.install and event.install.fraud_reasons:
        return (
            "The user's install was flagged as fraud, and this integration does not send "
            "flagged installs or their events."
        )
    return ""


def _window_anchors(events: Iterable[InAppEvent]) -> dict[int, datetime | None]:
    """The moment each event's postback window starts: the user's install, else the first
    touch that attributed it. One query for all installs of the batch."""
    events = list(events)
    installed_at: dict[int, datetime] = {}
    for event in events:  # ingest hands over the installs it matched: no query for those
        if event.install_id and InAppEvent.install.is_cached(event) and event.install:
            installed_at[event.install_id] = event.install.installed_at
    missing = {e.install_id for e in events if e.install_id and e.install_id not in installed_at}
    if missing:
        installed_at |= dict(
            Install.objects.filter(pk__in=missing).values_list("pk", "installed_at")
        )
    return {
        event.pk: (installed_at.get(event.install_id) if event.install_id else None)
        or event.touch_time
        for event in events
    }


def _mismatch(
    event: InAppEvent, integration: Integration, mapping: EventMapping, anchor: datetime | None
) -> str:
    """Why the row does not apply to the event, or "" when it does."""
    if mapping.app_event_name != event.event_name:
        return "Another event."
    if event.event_name in NEVER_FORWARDED:
        return "Refunds are never sent to partners."
    if (
        integration.app_id != event.app_id
        and event.media_source != integration.partner.media_source
    ):
        # A website's integration forwards a linked app's events only for users its ads brought.
        return (
            f"An app event goes to the website's pixel only for users from "
            f"{integration.partner.media_source} (web-to-app)."
        )
    if (
        mapping.users_from == UsersFrom.THIS_PARTNER
        and event.media_source != integration.partner.media_source
    ):
        return (
            f"Attributed to {event.media_source}; this row sends only users from "
            f"{integration.partner.media_source}."
        )
    if not _within_window(event.event_time, anchor, integration):
        return (
            f"Outside the {integration.postback_window_value} {integration.postback_window_unit} "
            "postback window."
        )
    for condition in mapping.conditions:
        if not condition_holds(condition, event):
            return f"Condition not met: {condition.get('field')} {condition.get('op')} " + str(
                condition.get("value")
            )
    return ""


def _within_window(event_time: datetime, anchor: datetime | None, integration: Integration) -> bool:
    """Lifetime always; otherwise the event must not come later than the window after the
    install (or first touch). With no anchor at all (an organic user we never saw install),
    nothing proves the event late, so it is sent."""
    unit = integration.postback_window_unit
    if unit == PostbackWindowUnit.LIFETIME or anchor is None:
        return True
    size = integration.postback_window_value or 0
    window = timedelta(hours=size) if unit == PostbackWindowUnit.HOURS else timedelta(days=size)
    return event_time - anchor <= window


def condition_holds(condition: dict[str, Any], event: InAppEvent) -> bool:
    """A mapping condition on the event's value. `revenue` may be named even though it is
    stored beside the value. Numeric operators need numbers on both sides."""
    field, operator, expected = condition.get("field"), condition.get("op"), condition.get("value")
    value = event.value or {}
    actual = value.get(field) if field in value else (event.revenue if field == "revenue" else None)
    if actual is None:
        return operator == "neq"
    if operator in ("gt", "gte", "lt", "lte"):
        left, right = _number(actual), _number(expected)
        if left is None or right is None:
            return False
        return {
            "gt": left > right,
            "gte": left >= right,
            "lt": left < right,
            "lte": left <= right,
        }[operator]
    if operator == "contains":
        if isinstance(actual, list):
            return any(str(item) == str(expected) for item in actual)
        return str(expected).lower() in str(actual).lower()
    equal = _equal(actual, expected)
    return equal if operator == "eq" else not equal


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _equal(actual: Any, expected: Any) -> bool:
    """Numbers compare as numbers (10 equals "10.0"), everything else as text."""
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left == right
    if isinstance(actual, bool):
        return str(actual).lower() == str(expected).strip().lower()
    return str(actual) == str(expected)
