"""Shapes of the events API for the OpenAPI schema and the docs page.

Validation itself happens in `events.services.event_input` and `.installs` (one pass, no
per-item queries, AppsFlyer aliases); a test keeps these documented fields and the accepted
ones in step.
"""

from __future__ import annotations

from rest_framework import serializers

TIME_HELP = (
    "ISO 8601 with an offset (2026-03-01T12:30:00Z), or Unix epoch seconds or milliseconds "
    "(a number or digits). Values below 10^11 are seconds, others milliseconds."
)


class EventSerializer(serializers.Serializer):
    event_id = serializers.CharField(
        required=False,
        max_length=128,
        help_text="Your id; a repeat is acknowledged as a duplicate and stored once. If absent, "
        "a stable id is derived from the content and returned (event_time is then required).",
    )
    event_name = serializers.CharField(max_length=100, help_text="AppsFlyer: eventName.")
    event_time = serializers.CharField(
        required=False,
        help_text=TIME_HELP + " AppsFlyer's eventTime without an offset is read as UTC. "
        "Defaults to the time received.",
    )
    customer_user_id = serializers.CharField(required=False, max_length=255)
    web_user_id = serializers.CharField(required=False, max_length=64)
    device_id = serializers.CharField(
        required=False, max_length=64, help_text="AppsFlyer: appsflyer_id."
    )
    idfa = serializers.UUIDField(required=False)
    idfv = serializers.UUIDField(required=False)
    gaid = serializers.UUIDField(required=False, help_text="AppsFlyer: advertising_id.")
    ip = serializers.IPAddressField(required=False)
    user_agent = serializers.CharField(required=False, max_length=2048)
    email = serializers.CharField(
        required=False,
        help_text="Plain (trimmed, lower-cased, then SHA-256 hashed on arrival; never stored) or "
        "already a SHA-256 hex digest (kept as is).",
    )
    phone = serializers.CharField(
        required=False,
        help_text="Plain E.164 such as +12133734253 (hashed on arrival) or a SHA-256 hex digest.",
    )
    value = serializers.JSONField(
        required=False, help_text="A JSON object, or a string holding one (AppsFlyer: eventValue)."
    )
    revenue = serializers.DecimalField(
        required=False, max_digits=18, decimal_places=6,
        help_text="Defaults to eventValue.af_revenue when absent.",
    )  # fmt: skip
    currency = serializers.CharField(
        required=False, min_length=3, max_length=3,
        help_text="ISO 4217; AppsFlyer: eventCurrency. Defaults to the app's currency.",
    )  # fmt: skip
    url = serializers.CharField(required=False, max_length=4096)
    referrer = serializers.CharField(required=False, max_length=4096)
    ttclid = serializers.CharField(required=False, max_length=255)
    ttp = serializers.CharField(
        required=False,
        max_length=255,
        help_text="The TikTok pixel's first-party _ttp cookie; the web SDK sends it when set.",
    )
    country_code = serializers.CharField(required=False, min_length=2, max_length=2)


class EventBatchSerializer(serializers.Serializer):
    events = EventSerializer(many=True, help_text="1 to 1,000 events (or send a bare array).")


class SingleResultSerializer(serializers.Serializer):
    """What the single-event endpoints answer: one item's result."""

    status = serializers.ChoiceField(choices=["accepted", "duplicate", "rejected"])
    event_id = serializers.CharField(required=False)
    media_source = serializers.CharField(required=False, help_text="Attribution (accepted only).")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    ignored_fields = serializers.ListField(child=serializers.CharField(), required=False)


class ItemResultSerializer(SingleResultSerializer):
    """One item's result in a batch answer; `index` is its place in the batch."""

    index = serializers.IntegerField()


class BatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = ItemResultSerializer(many=True)


class InstallSerializer(serializers.Serializer):
    device_id = serializers.CharField(
        max_length=64, required=False,
        help_text="AppsFlyer: appsflyer_id. For a website's first visit, web_user_id suffices.",
    )  # fmt: skip
    installed_at = serializers.CharField(required=False, help_text=TIME_HELP)
    customer_user_id = serializers.CharField(required=False, max_length=255)
    web_user_id = serializers.CharField(required=False, max_length=64)
    idfa = serializers.UUIDField(required=False)
    idfv = serializers.UUIDField(required=False)
    gaid = serializers.UUIDField(required=False)
    ip = serializers.IPAddressField(required=False)
    user_agent = serializers.CharField(required=False, max_length=2048)
    play_referrer = serializers.CharField(
        required=False, max_length=2048, help_text="Google Play's install referrer, verbatim."
    )
    app_version = serializers.CharField(required=False, max_length=32)
    os_version = serializers.CharField(required=False, max_length=32)
    country_code = serializers.CharField(required=False, min_length=2, max_length=2)
    ttclid = serializers.CharField(required=False, max_length=255)
    click_id = serializers.CharField(required=False, max_length=64)


class AttributionSerializer(serializers.Serializer):
    media_source = serializers.CharField()
    campaign = serializers.CharField()
    campaign_id = serializers.CharField()
    adset = serializers.CharField()
    adset_id = serializers.CharField()
    ad = serializers.CharField()
    ad_id = serializers.CharField()
    touch_type = serializers.CharField()
    touch_time = serializers.DateTimeField(allow_null=True)
    ttclid = serializers.CharField()
    match_type = serializers.CharField()


class InstallResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "reengagement"])
    device_id = serializers.CharField()
    installed_at = serializers.DateTimeField()
    is_reengagement = serializers.BooleanField()
    attribution = AttributionSerializer()


SDK_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


class VisitSerializer(serializers.Serializer):
    web_user_id = serializers.RegexField(SDK_ID_PATTERN, help_text="8 to 64 of A-Z a-z 0-9 - _")
    visit_id = serializers.RegexField(SDK_ID_PATTERN, help_text="8 to 64 of A-Z a-z 0-9 - _")
    params = serializers.DictField(child=serializers.CharField(), required=False)
    url = serializers.CharField(required=False, max_length=4096)
    referrer = serializers.CharField(required=False, max_length=4096)


class VisitResultSerializer(serializers.Serializer):
    install = InstallResultSerializer()
    click_recorded = serializers.BooleanField()
    click_lookback_days = serializers.IntegerField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class RejectedSerializer(serializers.Serializer):
    """A single item refused: each field at fault with its reasons."""

    status = serializers.ChoiceField(choices=["rejected"])
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    event_id = serializers.CharField(required=False)
    ignored_fields = serializers.ListField(child=serializers.CharField(), required=False)
