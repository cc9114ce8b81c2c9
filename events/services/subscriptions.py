"""Subscription lifecycle from the stores (App Store, Google Play) and RevenueCat, as app events.

Each notification becomes at most one app event with a stable event id (one per store
transaction), so a repeated notification changes nothing: the notification is stored once (a
repeat is counted) and the event id is the same. Events are tied to the user by the app's own
user id (Apple's appAccountToken, RevenueCat's app_user_id), attributed through that user's
install and forwarded per the mapping as any event is; refunds are never forwarded
(events.services.forwarding).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from events.models import InAppEvent, SubscriptionNotification
from events.services.ingest import record_events
from integrations.models import App

TRIAL_STARTED = "trial_started"
TRIAL_CONVERTED = "trial_converted"
SUBSCRIPTION_STARTED = "subscription_started"
RENEWAL = "renewal"
CANCELLATION = "cancellation"
REFUND = "refund"
SUBSCRIPTION_EVENTS = (
    TRIAL_STARTED, TRIAL_CONVERTED, SUBSCRIPTION_STARTED, RENEWAL, CANCELLATION, REFUND,
)  # fmt: skip


class NotAuthentic(Exception):
    """The notification's signature or secret did not check out: refused with 401."""


class NotSetUp(Exception):
    """The app has no settings for this sender yet."""


class LookupUnavailable(Exception):
    """The store could not be asked about the purchase now: answered 503, sent again later."""


@dataclass
class SubscriptionStep:
    """What one notification says, read and checked by its sender's module."""

    notification_id: str  # the sender's id of the notification (a repeat has the same)
    kind: str  # the sender's own type, e.g. DID_RENEW or RENEWAL
    event_name: str = ""  # one of SUBSCRIPTION_EVENTS, or "" (nothing to record)
    event_id: str = ""
    occurred_at: datetime | None = None
    customer_user_id: str = ""
    revenue: Decimal | None = None
    currency: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # product, transaction, environment
    note: str = ""


@dataclass(frozen=True)
class Receipt:
    outcome: str  # "stored", "ignored" or "duplicate"
    event_id: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"status": self.outcome, **({"event_id": self.event_id} if self.event_id else {})}


def receive(app: App, store: str, step: SubscriptionStep) -> Receipt:
    """Store the notification once and, for a lifecycle step, its app event, together."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                notification = SubscriptionNotification.objects.create(
                    app=app,
                    store=store,
                    notification_id=step.notification_id[:128],
                    kind=step.kind[:64],
                    event_name=step.event_name,
                    event_id=step.event_id[:128],
                    outcome=SubscriptionNotification.Outcome.STORED
                    if step.event_name
                    else SubscriptionNotification.Outcome.IGNORED,
                    detail=step.note[:300],
                )
        except IntegrityError:
            SubscriptionNotification.objects.filter(
                app=app, store=store, notification_id=step.notification_id[:128]
            ).update(repeats=F("repeats") + 1)
            return Receipt("duplicate", step.event_id)
        if not step.event_name:
            return Receipt("ignored")
        item: dict[str, Any] = {
            "event_id": step.event_id,
            "event_name": step.event_name,
            "customer_user_id": step.customer_user_id,
            "value": {"store": store, **step.details},
        }
        if step.occurred_at is not None:
            item["event_time"] = step.occurred_at.isoformat()
        if step.revenue is not None and step.currency:
            item["revenue"] = str(step.revenue)
            item["currency"] = step.currency
        [result] = record_events(app, [item])
        if result.errors:
            # Answered 200 all the same: sending it again would not make it valid.
            notification.outcome = SubscriptionNotification.Outcome.IGNORED
            notification.detail = f"Not a valid event: {result.errors}"[:300]
            notification.save(update_fields=["outcome", "detail"])
            return Receipt("ignored")
        return Receipt("stored" if result.status != "duplicate" else "duplicate", step.event_id)


def require_shared_secret(expected: str, sent: str, *, unset: str, wrong: str) -> None:
    """For senders that prove themselves with a value we gave them (a Pub/Sub push token, a
    RevenueCat Authorization header): NotSetUp without one, NotAuthentic unless it matches
    (compared in constant time)."""
    if not expected:
        raise NotSetUp(unset)
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise NotAuthentic(wrong)


def time_from_milliseconds(value: Any) -> datetime | None:
    """A sender's epoch milliseconds (a number, or digits in a string as Play sends them)."""
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def had_trial(app: App, original_transaction_id: str) -> bool:
    """True when this subscription started with a trial that has not converted yet (Apple
    says so only by the renewal that follows a trial)."""
    events = InAppEvent.objects.filter(
        app=app, value__original_transaction_id=original_transaction_id
    )
    return (
        events.filter(event_name=TRIAL_STARTED).exists()
        and not events.filter(event_name__in=[TRIAL_CONVERTED, RENEWAL]).exists()
    )
