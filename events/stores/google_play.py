"""Google Play real-time developer notifications, pushed by Cloud Pub/Sub.

The push subscription's endpoint carries a token the app's Subscriptions page stores
(encrypted): a push without it is refused. The notification says what happened to a purchase
token, not the price or the user: those need the Play Developer API and a service account,
which this receiver does not call, so these events carry the product and no revenue, and are
attributed only when the app sends the same user's events itself.
https://developer.android.com/google/play/billing/rtdn-reference
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from events.services.subscriptions import (
    CANCELLATION,
    REFUND,
    RENEWAL,
    SUBSCRIPTION_STARTED,
    NotAuthentic,
    NotSetUp,
    SubscriptionStep,
)
from integrations.models import App, SubscriptionReceivers

# subscriptionNotification.notificationType → our event (others are recorded as ignored).
STEPS = {2: RENEWAL, 3: CANCELLATION, 4: SUBSCRIPTION_STARTED, 12: REFUND}


def read(
    app: App, receivers: SubscriptionReceivers | None, token: str, body: bytes
) -> SubscriptionStep:
    expected = receivers.google_push_token.reveal() if receivers else ""
    if not expected:
        raise NotSetUp("Set the Pub/Sub push token on the Subscriptions page first.")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise NotAuthentic("The push endpoint's token is not the one set for this app.")
    try:
        message = json.loads(body)["message"]
        data = json.loads(base64.b64decode(message["data"]))
        message_id = str(message.get("messageId") or message.get("message_id") or "")
    except (ValueError, KeyError, TypeError):
        raise NotAuthentic("Not a Pub/Sub push of a Play notification.") from None
    package = (receivers.google_package_name if receivers else "") or app.store_id
    if data.get("testNotification"):
        return SubscriptionStep(notification_id=message_id, kind="TEST", note="A test push.")
    if data.get("packageName") != package:
        return SubscriptionStep(
            notification_id=message_id, kind="OTHER_PACKAGE",
            note=f"For {str(data.get('packageName'))[:100]}, not {package}.",
        )  # fmt: skip
    notification = data.get("subscriptionNotification") or {}
    kind_number = notification.get("notificationType")
    step = SubscriptionStep(notification_id=message_id, kind=f"SUBSCRIPTION_{kind_number}")
    name = STEPS.get(kind_number) if isinstance(kind_number, int) else None
    if not name:
        step.note = "Not a subscription step Signalboard records."
        return step
    token_digest = hashlib.sha256(str(notification.get("purchaseToken", "")).encode()).hexdigest()
    step.event_name = name
    step.event_id = f"googleplay:{token_digest[:24]}:{data.get('eventTimeMillis')}:{name}"
    step.occurred_at = _time(data.get("eventTimeMillis"))
    step.details = {
        "product_id": str(notification.get("subscriptionId") or ""),
        "purchase_token_sha256": token_digest,
    }
    return step


def _time(milliseconds: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(milliseconds) / 1000, tz=UTC)
    except (TypeError, ValueError):
        return None
