"""Thin views of subscription notifications: the three receivers (public, checked by signature
or secret) and the app's Subscriptions page (URLs to paste, write-only secrets, what arrived)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from events.models import SubscriptionNotification
from events.services import subscriptions
from events.stores import app_store, google_play, google_play_api, revenuecat
from integrations.models import App, SubscriptionReceivers
from integrations.policy import Action, get_app_for_user
from integrations.services import subscriptions as receiver_settings

RECENT = 20


def _receive(request: HttpRequest, app_id: str, store: str, read) -> JsonResponse:  # noqa: ANN001
    app = get_object_or_404(App, app_id=app_id)
    receivers = SubscriptionReceivers.objects.filter(app=app).first()
    try:
        step = read(app, receivers, request)
    except subscriptions.NotAuthentic as error:
        return JsonResponse({"error": str(error)}, status=401)
    except subscriptions.NotSetUp as error:
        return JsonResponse({"error": str(error)}, status=409)
    except subscriptions.LookupUnavailable as error:
        return JsonResponse({"error": str(error)}, status=503)
    return JsonResponse(subscriptions.receive(app, store, step).as_dict())


@csrf_exempt
@require_POST
def app_store_notification(request: HttpRequest, app_id: str) -> JsonResponse:
    return _receive(
        request, app_id, SubscriptionNotification.Store.APP_STORE,
        lambda app, receivers, r: app_store.read(app, receivers, r.body),
    )  # fmt: skip


@csrf_exempt
@require_POST
def google_play_notification(request: HttpRequest, app_id: str) -> JsonResponse:
    return _receive(
        request, app_id, SubscriptionNotification.Store.GOOGLE_PLAY,
        lambda app, receivers, r: google_play.read(
            app, receivers, r.GET.get("token", ""), r.body
        ),
    )  # fmt: skip


@csrf_exempt
@require_POST
def revenuecat_webhook(request: HttpRequest, app_id: str) -> JsonResponse:
    return _receive(
        request, app_id, SubscriptionNotification.Store.REVENUECAT,
        lambda app, receivers, r: revenuecat.read(
            receivers, r.headers.get("Authorization", ""), r.body
        ),
    )  # fmt: skip


class ReceiversForm(forms.Form):
    def clean_google_service_account(self) -> str:
        text = self.cleaned_data["google_service_account"].strip()
        if text:
            try:
                google_play_api.read_service_account(text)
            except ValueError as error:
                raise forms.ValidationError(str(error)) from None
        return text

    apple_bundle_id = forms.CharField(label="Bundle ID", max_length=155, required=False)
    apple_app_apple_id = forms.IntegerField(
        label="App Apple ID", min_value=1, required=False,
        help_text="Numeric, under App Information in App Store Connect (production needs it).",
    )  # fmt: skip
    google_package_name = forms.CharField(label="Package name", max_length=155, required=False)
    google_push_token = forms.CharField(
        label="Pub/Sub push token", required=False, min_length=16, max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="A long random value you also put in the push endpoint's URL. Blank keeps "
        "the stored one.",
    )  # fmt: skip
    forget_google_push_token = forms.BooleanField(label="Remove the push token", required=False)
    google_service_account = forms.CharField(
        label="Service account key (JSON)", required=False, max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        help_text="Optional: with it, each notification's purchase is looked up in Google Play "
        "for its price and your user id. Stored encrypted, never shown. Blank keeps the stored "
        "one.",
    )  # fmt: skip
    forget_google_service_account = forms.BooleanField(
        label="Remove the service account", required=False
    )
    revenuecat_authorization = forms.CharField(
        label="RevenueCat Authorization header", required=False, min_length=16, max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="The value you set in RevenueCat's webhook settings. Blank keeps the stored one.",
    )  # fmt: skip
    forget_revenuecat_authorization = forms.BooleanField(
        label="Remove the RevenueCat value", required=False
    )


@login_required
def subscriptions_page(request: HttpRequest, app_id: str) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.CONFIGURE_INTEGRATION)
    app = access.app
    stored = receiver_settings.receivers_of(app)
    form = ReceiversForm(
        request.POST or None,
        initial={
            "apple_bundle_id": stored.apple_bundle_id,
            "apple_app_apple_id": stored.apple_app_apple_id,
            "google_package_name": stored.google_package_name,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        receiver_settings.save_receivers(
            app,
            acting_user=request.user,
            apple_bundle_id=data["apple_bundle_id"].strip(),
            apple_app_apple_id=data["apple_app_apple_id"],
            google_package_name=data["google_package_name"].strip(),
            google_push_token=data["google_push_token"],
            revenuecat_authorization=data["revenuecat_authorization"],
            google_service_account=data["google_service_account"],
            forget=tuple(
                name
                for name in (
                    "google_push_token",
                    "google_service_account",
                    "revenuecat_authorization",
                )
                if data[f"forget_{name}"]
            ),  # fmt: skip
        )
        messages.success(request, "Subscription receivers saved.")
        return redirect("events:subscriptions", app_id=app.app_id)
    base = settings.PUBLIC_BASE_URL
    context = {
        "app": app,
        "form": form,
        "stored": stored,
        "urls": {
            "app_store": base + reverse("events:app-store-notifications", args=[app.app_id]),
            "google_play": base + reverse("events:google-play-notifications", args=[app.app_id]),
            "revenuecat": base + reverse("events:revenuecat-webhook", args=[app.app_id]),
        },
        "notifications": app.subscription_notifications.order_by("-received_at")[:RECENT],
    }
    return render(request, "events/subscriptions.html", context, status=400 if form.errors else 200)
