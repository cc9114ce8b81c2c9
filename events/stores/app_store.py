"""App Store Server Notifications V2, checked with Apple's own app-store-server-library.

Apple signs each notification (a JWS whose x5c chain ends at Apple Root CA - G3, shipped in
events/data and named by APPLE_ROOT_CERTIFICATES); the library verifies the chain, Apple's
certificate OIDs, the signature, and that the bundle id, App Apple ID and environment are the
app's. The transaction inside is signed the same way and verified too.
https://developer.apple.com/documentation/appstoreservernotifications/responsebodyv2decodedpayload
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import jwt
from appstoreserverlibrary.models.Environment import Environment
from appstoreserverlibrary.models.JWSTransactionDecodedPayload import JWSTransactionDecodedPayload
from appstoreserverlibrary.signed_data_verifier import SignedDataVerifier, VerificationException
from django.conf import settings

from events.services.subscriptions import (
    CANCELLATION,
    REFUND,
    RENEWAL,
    SUBSCRIPTION_STARTED,
    TRIAL_CONVERTED,
    TRIAL_STARTED,
    NotAuthentic,
    NotSetUp,
    SubscriptionStep,
    had_trial,
    time_from_milliseconds,
)
from integrations.models import App, SubscriptionReceivers

ENVIRONMENTS = {"Production": Environment.PRODUCTION, "Sandbox": Environment.SANDBOX}


def root_certificates() -> list[bytes]:
    return [Path(path).read_bytes() for path in settings.APPLE_ROOT_CERTIFICATES]


def read(app: App, receivers: SubscriptionReceivers | None, body: bytes) -> SubscriptionStep:
    if receivers is None or not receivers.apple_bundle_id:
        raise NotSetUp("Set the app's bundle ID on its Subscriptions page first.")
    signed = _signed_payload(body)
    environment = _claimed_environment(signed)
    if environment == Environment.PRODUCTION and not receivers.apple_app_apple_id:
        raise NotSetUp("Production notifications need the App Apple ID on the Subscriptions page.")
    verifier = SignedDataVerifier(
        root_certificates(),
        settings.APPLE_ONLINE_CHECKS,
        environment,
        receivers.apple_bundle_id,
        receivers.apple_app_apple_id,
    )
    try:
        notification = verifier.verify_and_decode_notification(signed)
        signed_transaction = notification.data.signedTransactionInfo if notification.data else None
        transaction = (
            verifier.verify_and_decode_signed_transaction(signed_transaction)
            if signed_transaction
            else None
        )
    except VerificationException as error:
        raise NotAuthentic(f"Apple's signature did not verify ({error.status.name}).") from None
    kind = notification.rawNotificationType or "UNKNOWN"
    if notification.rawSubtype:
        kind += f"/{notification.rawSubtype}"
    step = SubscriptionStep(notification_id=notification.notificationUUID or "", kind=kind)
    if transaction is not None:
        _fill(app, step, notification.rawNotificationType or "", notification.rawSubtype or "",
              transaction)  # fmt: skip
    return step


def _signed_payload(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        raise NotAuthentic("The body is not JSON.") from None
    signed = payload.get("signedPayload") if isinstance(payload, dict) else None
    if not isinstance(signed, str) or signed.count(".") != 2:
        raise NotAuthentic("No signedPayload in the body.")
    return signed


def _claimed_environment(signed: str) -> Environment:
    """The environment the payload names, read before verification only to pick the
    verifier; the verifier then insists the signed payload says the same."""
    try:
        claims = jwt.decode(signed, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise NotAuthentic("The signedPayload is not a JWS.") from None
    named = (claims.get("data") or {}).get("environment") if isinstance(claims, dict) else None
    if named not in ENVIRONMENTS:
        raise NotAuthentic("The notification names no App Store environment.")
    return ENVIRONMENTS[named]


def _fill(
    app: App, step: SubscriptionStep, kind: str, subtype: str, tx: JWSTransactionDecodedPayload
) -> None:
    original = tx.originalTransactionId or ""
    step.customer_user_id = tx.appAccountToken or ""
    step.details = {
        "product_id": tx.productId or "",
        "original_transaction_id": original,
        "transaction_id": tx.transactionId or "",
        "environment": tx.rawEnvironment or "",
    }
    price = Decimal(tx.price) / 1000 if tx.price is not None else None
    is_trial = (tx.rawOfferDiscountType or "") == "FREE_TRIAL" or (
        price == 0 and tx.rawOfferType == 1
    )
    name = ""
    when = tx.purchaseDate
    if kind == "SUBSCRIBED":
        name = TRIAL_STARTED if is_trial else SUBSCRIPTION_STARTED
    elif kind == "DID_RENEW":
        name = TRIAL_CONVERTED if had_trial(app, original) else RENEWAL
    elif kind == "DID_CHANGE_RENEWAL_STATUS" and subtype == "AUTO_RENEW_DISABLED":
        name, price = CANCELLATION, None
        when = tx.signedDate
    elif kind == "REFUND":
        name = REFUND
        price = -price if price else price
        when = tx.revocationDate or tx.signedDate
    if not name:
        step.note = "Not a subscription step Signalboard records."
        return
    step.event_name = name
    # One event per store transaction; a cancellation has none of its own, so the
    # notification names it.
    anchor = step.notification_id if name == CANCELLATION else (tx.transactionId or "")
    step.event_id = f"appstore:{anchor}:{name}"
    step.occurred_at = time_from_milliseconds(when)
    if price is not None and tx.currency:
        step.revenue, step.currency = price, tx.currency
