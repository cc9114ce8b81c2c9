"""RevenueCat webhooks: checked by the Authorization header value set in RevenueCat's
dashboard (compared in constant time with the one stored, encrypted, for the app).
https://www.revenuecat.com/docs/integrations/webhooks/event-types-and-fields
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from events.services.subscriptions import (
    CANCELLATION,
    REFUND,
    RENEWAL,
    SUBSCRIPTION_STARTED,
    TRIAL_CONVERTED,
    TRIAL_STARTED,
    NotAuthentic,
    SubscriptionStep,
    require_shared_secret,
    time_from_milliseconds,
)
from integrations.models import SubscriptionReceivers


def read(
    receivers: SubscriptionReceivers | None, authorization: str, body: bytes
) -> SubscriptionStep:
    require_shared_secret(
        receivers.revenuecat_authorization.reveal() if receivers else "",
        authorization,
        unset="Set the RevenueCat authorization value on the Subscriptions page first.",
        wrong="The Authorization header is not the one set for this app.",
    )
    try:
        event = json.loads(body)["event"]
        kind, event_id = str(event["type"]), str(event["id"])
    except (ValueError, KeyError, TypeError):
        raise NotAuthentic("Not a RevenueCat webhook body.") from None
    step = SubscriptionStep(notification_id=event_id, kind=kind)
    name = _event_name(event)
    if not name:
        step.note = "Not a subscription step Signalboard records."
        return step
    step.event_name = name
    step.event_id = f"revenuecat:{event_id}"
    step.customer_user_id = str(event.get("app_user_id") or "")[:255]
    step.occurred_at = time_from_milliseconds(
        event.get("event_timestamp_ms") or event.get("purchased_at_ms")
    )
    step.details = {
        "product_id": str(event.get("product_id") or ""),
        "original_transaction_id": str(event.get("original_transaction_id") or ""),
        "transaction_id": str(event.get("transaction_id") or ""),
        "environment": str(event.get("environment") or ""),
        "store": f"revenuecat/{event.get('store') or ''}",
    }
    amount = _money(event.get("price_in_purchased_currency"))
    if amount is not None and event.get("currency") and name != CANCELLATION:
        step.revenue = -abs(amount) if name == REFUND else amount
        step.currency = str(event["currency"])[:3]
    return step


def _event_name(event: dict[str, Any]) -> str:
    kind, period = event.get("type"), event.get("period_type")
    if kind == "INITIAL_PURCHASE":
        return TRIAL_STARTED if period == "TRIAL" else SUBSCRIPTION_STARTED
    if kind == "RENEWAL":
        return TRIAL_CONVERTED if event.get("is_trial_conversion") else RENEWAL
    if kind == "CANCELLATION":
        # RevenueCat reports a refund as a cancellation for customer support's reason.
        return REFUND if event.get("cancel_reason") == "CUSTOMER_SUPPORT" else CANCELLATION
    return ""


def _money(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None
