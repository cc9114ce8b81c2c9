"""Subscription notifications become attributed, forwarded app events, once each: App Store
Server Notifications V2 (signed; verified by Apple's app-store-server-library against a test CA
the test makes, since Apple's cannot sign here), RevenueCat webhooks and Google Play's Pub/Sub
pushes. A bad signature or secret is refused with 401 and nothing is stored."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.test import override_settings
from django.utils import timezone

from events.models import InAppEvent, Postback, SubscriptionNotification
from integrations.models import SubscriptionReceivers
from integrations.secrets import Secret
from tests import factories

BUNDLE = "com.example.runclub"
APPLE_ID = 1453847291
USER = str(uuid.UUID("6f1c2a8e-1d2b-4c3d-9e8f-0a1b2c3d4e5f"))
APPLE_LEAF_OID = "1.2.840.113635.100.6.11.1"
APPLE_INTERMEDIATE_OID = "1.2.840.113635.100.6.2.1"


class FakeAppleCA:
    """A root, an intermediate and a leaf shaped like Apple's (the two Apple OIDs, CA flags),
    signing JWS the way the App Store does: ES256 with the chain in x5c."""

    def __init__(self) -> None:
        now = datetime.now(UTC) - timedelta(days=1)
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = self._cert("Test Root", self.root_key, None, self.root_key, now, ca=True)
        self.mid_key = ec.generate_private_key(ec.SECP256R1())
        self.mid = self._cert("Test Intermediate", self.mid_key, self.root, self.root_key, now,
                              ca=True, oid=APPLE_INTERMEDIATE_OID)  # fmt: skip
        self.leaf_key = ec.generate_private_key(ec.SECP256R1())
        self.leaf = self._cert("Test Leaf", self.leaf_key, self.mid, self.mid_key, now,
                               ca=False, oid=APPLE_LEAF_OID)  # fmt: skip

    @staticmethod
    def _cert(name, key, issuer, issuer_key, now, *, ca, oid=None):  # noqa: ANN001, ANN205
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.subject if issuer else subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=not ca,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=ca,
                    crl_sign=ca,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )  # fmt: skip
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )
        if issuer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
            )
        if oid:
            builder = builder.add_extension(
                x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), b"\x05\x00"), False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    def sign(self, payload: dict, *, key=None) -> str:  # noqa: ANN001
        chain = [
            base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
            for cert in (self.leaf, self.mid, self.root)
        ]
        return jwt.encode(payload, key or self.leaf_key, algorithm="ES256", headers={"x5c": chain})


@pytest.fixture
def ca(tmp_path):
    authority = FakeAppleCA()
    root = tmp_path / "test-root.cer"
    root.write_bytes(authority.root.public_bytes(serialization.Encoding.DER))
    with override_settings(APPLE_ROOT_CERTIFICATES=[str(root)], APPLE_ONLINE_CHECKS=False):
        yield authority


@pytest.fixture
def subscribed_app(ios_app):
    """Run Club with its receivers set up, a TikTok app integration mapping the subscription
    events, and a user who installed from a TikTok ad and told the app their user id."""
    SubscriptionReceivers.objects.create(
        app=ios_app.app, apple_bundle_id=BUNDLE, apple_app_apple_id=APPLE_ID,
        google_package_name=BUNDLE, google_push_token=Secret("push-token-0123456789abcdef"),
        revenuecat_authorization=Secret("Bearer rc-secret-0123456789"),
    )  # fmt: skip
    tiktok = factories.make_integration(ios_app.app, "bytedanceglobal_int", is_active=True,
                                        in_app_postbacks_enabled=True)  # fmt: skip
    for name, partner_event in (("trial_started", "Start_trial"), ("trial_converted", "Subscribe"),
                                ("renewal", "Pay"), ("refund", "Pay")):  # fmt: skip
        factories.make_mapping(tiktok, app_event_name=name, partner_event_name=partner_event,
                               including="values_and_revenue")  # fmt: skip
    factories.make_install(ios_app.app, device_id="runner-9", customer_user_id=USER,
                           media_source="bytedanceglobal_int", campaign="Trials_US",
                           installed_at=timezone.now() - timedelta(days=3))  # fmt: skip
    return ios_app


def milliseconds(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def apple_notification(ca: FakeAppleCA, kind: str, subtype: str | None, transaction: dict, **extra):
    now = datetime.now(UTC)
    tx = {
        "originalTransactionId": "2000000100", "bundleId": BUNDLE, "environment": "Production",
        "productId": "runclub.premium.monthly", "type": "Auto-Renewable Subscription",
        "appAccountToken": USER, "currency": "USD", "purchaseDate": milliseconds(now),
        "signedDate": milliseconds(now), **transaction,
    }  # fmt: skip
    payload = {
        "notificationType": kind, "notificationUUID": str(uuid.uuid4()), "version": "2.0",
        "signedDate": milliseconds(now),
        "data": {"environment": "Production", "bundleId": BUNDLE, "appAppleId": APPLE_ID,
                 "signedTransactionInfo": ca.sign(tx)},
        **extra,
    }  # fmt: skip
    if subtype:
        payload["subtype"] = subtype
    return payload


def post_apple(client, app, payload: dict, ca: FakeAppleCA, **sign):  # noqa: ANN001, ANN201
    body = json.dumps({"signedPayload": ca.sign(payload, **sign)})
    return client.post(f"/api/v1/apps/{app.app_id}/subscriptions/app-store", body,
                       content_type="application/json")  # fmt: skip


def test_app_store_trial_conversion_renewal_and_refund_become_attributed_events_once(
    client, subscribed_app, ca
):
    app = subscribed_app.app
    free_trial = {"transactionId": "2000000100", "price": 0, "offerType": 1,
                  "offerDiscountType": "FREE_TRIAL"}  # fmt: skip
    trial = apple_notification(ca, "SUBSCRIBED", "INITIAL_BUY", free_trial)
    first = post_apple(client, app, trial, ca)
    assert first.status_code == 200 and first.json()["status"] == "stored"
    again = post_apple(client, app, trial, ca)  # Apple retries with the same notification
    assert again.json()["status"] == "duplicate"
    converted = apple_notification(ca, "DID_RENEW", None,
                                   {"transactionId": "2000000101", "price": 9990})  # fmt: skip
    renewed = apple_notification(ca, "DID_RENEW", None,
                                 {"transactionId": "2000000102", "price": 9990})  # fmt: skip
    refund = apple_notification(ca, "REFUND", None, {"transactionId": "2000000102", "price": 9990,
                                "revocationDate": milliseconds(datetime.now(UTC))})  # fmt: skip
    for payload in (converted, renewed, refund):
        assert post_apple(client, app, payload, ca).json()["status"] == "stored"

    events = {e.event_name: e for e in InAppEvent.objects.filter(app=app)}
    assert set(events) == {"trial_started", "trial_converted", "renewal", "refund"}
    assert events["trial_started"].event_id == "appstore:2000000100:trial_started"
    assert events["trial_converted"].revenue == Decimal("9.99")
    assert events["refund"].revenue == Decimal("-9.99")
    for event in events.values():
        assert (event.media_source, event.campaign) == ("bytedanceglobal_int", "Trials_US")
        assert event.value["product_id"] == "runclub.premium.monthly"
    forwarded = set(Postback.objects.values_list("event__event_name", flat=True))
    assert forwarded == {"trial_started", "trial_converted", "renewal"}  # never the refund
    notes = SubscriptionNotification.objects.filter(app=app)
    assert notes.count() == 4 and notes.get(kind="SUBSCRIBED/INITIAL_BUY").repeats == 1


def test_a_forged_or_foreign_app_store_notification_is_refused_and_nothing_stored(
    client, subscribed_app, ca
):
    app = subscribed_app.app
    payload = apple_notification(ca, "DID_RENEW", None, {"transactionId": "1", "price": 9990})
    forger = ec.generate_private_key(ec.SECP256R1())  # signs, but is not the chain's leaf
    assert post_apple(client, app, payload, ca, key=forger).status_code == 401
    other_ca = FakeAppleCA()  # a whole chain ending at a root we do not trust
    response = post_apple(client, app, payload, other_ca)
    assert response.status_code == 401
    assert "VERIFICATION_FAILURE" in response.json()["error"]
    foreign = apple_notification(ca, "DID_RENEW", None, {"transactionId": "2", "price": 9990})
    foreign["data"]["bundleId"] = "com.other.app"
    assert post_apple(client, app, foreign, ca).status_code == 401
    body = client.post(f"/api/v1/apps/{app.app_id}/subscriptions/app-store", "not json",
                       content_type="application/json")  # fmt: skip
    assert body.status_code == 401
    assert not InAppEvent.objects.exists() and not SubscriptionNotification.objects.exists()


def revenuecat_event(kind: str, **fields) -> dict:
    event = {
        "id": str(uuid.uuid4()), "type": kind, "app_user_id": USER, "product_id": "rc_monthly",
        "period_type": "NORMAL", "price_in_purchased_currency": 4.99, "currency": "EUR",
        "event_timestamp_ms": milliseconds(datetime.now(UTC)), "store": "APP_STORE",
        "environment": "PRODUCTION", "transaction_id": str(uuid.uuid4().int)[:12],
    }  # fmt: skip
    return {"api_version": "1.0", "event": {**event, **fields}}


def test_revenuecat_webhooks_need_the_authorization_value_and_are_stored_once(
    client, subscribed_app
):
    url = f"/api/v1/apps/{subscribed_app.app.app_id}/subscriptions/revenuecat"
    trial = revenuecat_event("INITIAL_PURCHASE", period_type="TRIAL", price_in_purchased_currency=0)
    wrong = client.post(url, json.dumps(trial), content_type="application/json",
                        HTTP_AUTHORIZATION="Bearer guessed")  # fmt: skip
    assert wrong.status_code == 401 and not SubscriptionNotification.objects.exists()
    headers = {"HTTP_AUTHORIZATION": "Bearer rc-secret-0123456789"}
    conversion = revenuecat_event("RENEWAL", is_trial_conversion=True)
    refund = revenuecat_event("CANCELLATION", cancel_reason="CUSTOMER_SUPPORT",
                              price_in_purchased_currency=-4.99)  # fmt: skip
    billing = revenuecat_event("BILLING_ISSUE")
    for body in (trial, trial, conversion, refund, billing):
        response = client.post(url, json.dumps(body), content_type="application/json", **headers)
        assert response.status_code == 200
    events = {e.event_name: e for e in InAppEvent.objects.all()}
    assert set(events) == {"trial_started", "trial_converted", "refund"}
    assert (events["trial_converted"].revenue, events["trial_converted"].currency) == (
        Decimal("4.99"), "EUR",
    )  # fmt: skip
    assert events["refund"].revenue == Decimal("-4.99")
    assert events["trial_converted"].media_source == "bytedanceglobal_int"
    assert SubscriptionNotification.objects.get(kind="BILLING_ISSUE").outcome == "ignored"
    assert SubscriptionNotification.objects.count() == 4


def test_google_play_pushes_need_the_token_and_carry_the_product(client, subscribed_app):
    url = f"/api/v1/apps/{subscribed_app.app.app_id}/subscriptions/google-play"
    purchased = {"version": "1.0", "notificationType": 4, "purchaseToken": "token-abc",
                 "subscriptionId": "monthly"}  # fmt: skip
    data = {"version": "1.0", "packageName": BUNDLE, "eventTimeMillis": "1764800000000",
            "subscriptionNotification": purchased}  # fmt: skip
    encoded = base64.b64encode(json.dumps(data).encode()).decode()
    push = {"message": {"data": encoded, "messageId": "136969346945"},
            "subscription": "projects/x/subscriptions/y"}  # fmt: skip
    assert client.post(url + "?token=wrong", json.dumps(push),
                       content_type="application/json").status_code == 401  # fmt: skip
    for _ in range(2):  # Pub/Sub delivers at least once
        response = client.post(url + "?token=push-token-0123456789abcdef", json.dumps(push),
                               content_type="application/json")  # fmt: skip
        assert response.status_code == 200
    event = InAppEvent.objects.get()
    assert (event.event_name, event.value["product_id"], event.revenue) == (
        "subscription_started", "monthly", None,
    )  # fmt: skip
    assert "token-abc" not in json.dumps(event.value)  # only its digest is kept


def test_the_subscriptions_page_shows_urls_keeps_secrets_write_only_and_lists_arrivals(
    client, subscribed_app, admin_user
):
    from integrations.models import Role

    factories.make_membership(admin_user, subscribed_app.app, Role.ADMIN)
    client.force_login(admin_user)
    url = f"/apps/{subscribed_app.app.app_id}/subscriptions/"
    page = client.get(url).content.decode()
    assert "/api/v1/apps/id1453847291/subscriptions/app-store" in page
    assert "rc-secret-0123456789" not in page and "push-token-0123456789abcdef" not in page
    form = {"apple_bundle_id": BUNDLE, "apple_app_apple_id": APPLE_ID,
            "google_package_name": BUNDLE,
            "revenuecat_authorization": "Bearer new-secret-abcdefgh"}  # fmt: skip
    response = client.post(url, form)
    assert response.status_code == 302
    stored = SubscriptionReceivers.objects.get(app=subscribed_app.app)
    assert stored.revenuecat_authorization.reveal() == "Bearer new-secret-abcdefgh"
    assert stored.google_push_token.reveal() == "push-token-0123456789abcdef"  # blank kept it
    SubscriptionNotification.objects.create(
        app=subscribed_app.app, store="app_store", notification_id="n-1", kind="DID_RENEW",
        event_name="renewal", event_id="appstore:2000000102:renewal", outcome="stored",
    )  # fmt: skip
    listed = client.get(url).content.decode()
    assert "/events/appstore:2000000102:renewal/" in listed and "DID_RENEW" in listed


class FakeGooglePlay:
    """Stands in for Google's token endpoint and the Play Developer API over real HTTP (Google
    cannot be reached from here): it checks the service account's signed assertion, then
    answers the purchase lookups it was given."""

    def __init__(self, public_key) -> None:  # noqa: ANN001
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs

        fake = self
        self.purchases: dict[str, dict] = {}
        self.failing = False
        self.lookups: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                # google-auth addresses the assertion to Google's token endpoint, whatever
                # token_uri it posts it to.
                claims = jwt.decode(form["assertion"][0], public_key, algorithms=["RS256"],
                                    audience="https://oauth2.googleapis.com/token")  # fmt: skip
                assert claims["scope"] == "https://www.googleapis.com/auth/androidpublisher"
                self._answer(200, {"access_token": "ya29.fake", "expires_in": 3600,
                                   "token_type": "Bearer"})  # fmt: skip

            def do_GET(self) -> None:  # noqa: N802
                if self.headers.get("Authorization") != "Bearer ya29.fake":
                    return self._answer(401, {"error": "unauthenticated"})
                if fake.failing:
                    return self._answer(500, {"error": "backend"})
                token = self.path.rsplit("/", 1)[-1]
                fake.lookups.append(self.path)
                self._answer(200, fake.purchases[token])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def google_play(subscribed_app):
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake = FakeGooglePlay(key.public_key())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()  # fmt: skip
    account = {"type": "service_account", "client_email": "signalboard@runclub.iam.example",
               "private_key": pem, "private_key_id": "k1",
               "token_uri": f"{fake.url}/token"}  # fmt: skip
    receivers = SubscriptionReceivers.objects.get(app=subscribed_app.app)
    receivers.google_service_account = Secret(json.dumps(account))
    receivers.save()
    with override_settings(GOOGLE_PLAY_API_BASE_URL=fake.url):
        yield fake
    fake.server.shutdown()


def play_push(kind: int, token: str, at: str, message_id: str) -> str:
    notification = {"version": "1.0", "notificationType": kind, "purchaseToken": token,
                    "subscriptionId": "monthly"}  # fmt: skip
    data = {"version": "1.0", "packageName": BUNDLE, "eventTimeMillis": at,
            "subscriptionNotification": notification}  # fmt: skip
    encoded = base64.b64encode(json.dumps(data).encode()).decode()
    return json.dumps({"message": {"data": encoded, "messageId": message_id}})


def test_with_a_service_account_play_purchases_are_looked_up_attributed_and_priced(
    client, subscribed_app, google_play
):
    url = (f"/api/v1/apps/{subscribed_app.app.app_id}/subscriptions/google-play"
           "?token=push-token-0123456789abcdef")  # fmt: skip
    started = str(milliseconds(datetime.now(UTC) - timedelta(days=2)))
    renewed = str(milliseconds(datetime.now(UTC)))
    google_play.purchases["tok-1"] = {"orderId": "GPA.3300-1111-2222-33333", "paymentState": 2,
                                      "priceAmountMicros": "4990000", "priceCurrencyCode": "EUR",
                                      "obfuscatedExternalAccountId": USER}  # fmt: skip
    google_play.failing = True
    down = client.post(url, play_push(4, "tok-1", started, "m-1"),
                       content_type="application/json")  # fmt: skip
    assert down.status_code == 503 and not SubscriptionNotification.objects.exists()
    google_play.failing = False
    for _ in range(2):  # Pub/Sub sends it again; stored once
        assert client.post(url, play_push(4, "tok-1", started, "m-1"),
                           content_type="application/json").status_code == 200  # fmt: skip
    google_play.purchases["tok-1"] = {**google_play.purchases["tok-1"], "paymentState": 1,
                                      "orderId": "GPA.3300-1111-2222-33333..0"}  # fmt: skip
    assert client.post(url, play_push(2, "tok-1", renewed, "m-2"),
                       content_type="application/json").status_code == 200  # fmt: skip
    events = {e.event_name: e for e in InAppEvent.objects.all()}
    assert set(events) == {"trial_started", "trial_converted"}
    assert events["trial_started"].revenue == Decimal(0)
    assert (events["trial_converted"].revenue, events["trial_converted"].currency) == (
        Decimal("4.99"), "EUR",
    )  # fmt: skip
    assert (
        events["trial_converted"].event_id
        == "googleplay:GPA.3300-1111-2222-33333..0:trial_converted"
    )
    assert events["trial_converted"].media_source == "bytedanceglobal_int"  # through the user id
    assert Postback.objects.filter(event__event_name="trial_converted").exists()
    assert google_play.lookups[0].endswith("/applications/com.example.runclub/purchases/"
                                           "subscriptions/monthly/tokens/tok-1")  # fmt: skip


def test_a_notification_that_makes_no_valid_event_is_kept_as_ignored_not_retried_forever(
    client, subscribed_app
):
    url = f"/api/v1/apps/{subscribed_app.app.app_id}/subscriptions/revenuecat"
    body = revenuecat_event("RENEWAL", event_timestamp_ms=631152000000)  # 1990: not a real time
    response = client.post(url, json.dumps(body), content_type="application/json",
                           HTTP_AUTHORIZATION="Bearer rc-secret-0123456789")  # fmt: skip
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    note = SubscriptionNotification.objects.get()
    assert note.outcome == "ignored" and "before 2000-01-01" in note.detail
    assert not InAppEvent.objects.exists()
