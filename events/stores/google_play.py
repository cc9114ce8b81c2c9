"""Google Play real-time developer notifications, pushed by Cloud Pub/Sub.

The push subscription's endpoint carries a token the app's Subscriptions page stores
(encrypted): a push without it is refused. The notification says what happened to a purchase
token, not the price or the user. Where the app has a service account, the purchase is looked up
in the Play Developer API (google_play_api): price, currency, order id, trial, and the app's own
user id, through which the event is attributed. Without one, the event carries the product only.
A lookup that fails answers 503, so Pub/Sub delivers the notification again later.
https://developer.android.com/google/play/billing/rtdn-reference
"""

from __future__ import annotations

import base64
import hashlib
import json
from decimal import Decimal
from typing import Any

from events.services.subscriptions import (
    CANCELLATION,
    REFUND,
    RENEWAL,
    SUBSCRIPTION_STARTED,
    TRIAL_CONVERTED,
    TRIAL_STARTED,
    LookupUnavailable,
    NotAuthentic,
    SubscriptionStep,
    had_trial,
    require_shared_secret,
    time_from_milliseconds,
)
from events.stores import google_play_api
from integrations.models import App, SubscriptionReceivers

# subscriptionNotification.notificationType → our event (others are recorded as ignored).
STEPS = {2: RENEWAL, 3: CANCELLATION, 4: SUBSCRIPTION_STARTED, 12: REFUND}


def read(
    app: App, receivers: SubscriptionReceivers | None, token: str, body: bytes
) -> SubscriptionStep:
    require_shared_secret(
        receivers.google_push_token.reveal() if receivers else "",
        token,
        unset="Set the Pub/Sub push token on the Subscriptions page first.",
        wrong="The push endpoint's token is not the one set for this app.",
    )
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
    purchase_token = str(notification.get("purchaseToken", ""))
    token_digest = hashlib.sha256(purchase_token.encode()).hexdigest()
    product = str(notification.get("subscriptionId") or "")
    step.event_name = name
    step.event_id = f"googleplay:{token_digest[:24]}:{data.get('eventTimeMillis')}:{name}"
    step.occurred_at = time_from_milliseconds(data.get("eventTimeMillis"))
    # The purchase token stays the same across renewals: it names the subscription.
    step.details = {"product_id": product, "original_transaction_id": token_digest}
    key = receivers.google_service_account.reveal() if receivers else ""
    if key:
        try:
            purchase = google_play_api.subscription_purchase(key, package, product, purchase_token)
        except google_play_api.LookupFailed as error:
            raise LookupUnavailable(str(error)) from None
        _fill_from_purchase(app, step, purchase, token_digest)
    return step


def _fill_from_purchase(
    app: App, step: SubscriptionStep, purchase: dict[str, Any], token_digest: str
) -> None:
    """What only the purchase says: the app's user id, the order (one per charge), the price
    and whether this is a free trial (paymentState 2)."""
    step.customer_user_id = str(purchase.get("obfuscatedExternalAccountId") or "")[:255]
    order = str(purchase.get("orderId") or "")
    is_trial = purchase.get("paymentState") == 2
    if step.event_name == SUBSCRIPTION_STARTED and is_trial:
        step.event_name = TRIAL_STARTED
    elif step.event_name == RENEWAL and had_trial(app, token_digest):
        step.event_name = TRIAL_CONVERTED
    if order and step.event_name != CANCELLATION:
        step.event_id = f"googleplay:{order}:{step.event_name}"
    step.details["order_id"] = order
    try:
        amount = Decimal(int(purchase["priceAmountMicros"])) / 1_000_000
        currency = str(purchase["priceCurrencyCode"])[:3]
    except (KeyError, TypeError, ValueError):
        return
    if step.event_name == TRIAL_STARTED:
        amount = Decimal(0)
    if step.event_name != CANCELLATION:
        step.revenue = -amount if step.event_name == REFUND else amount
        step.currency = currency
