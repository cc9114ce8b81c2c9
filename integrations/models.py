"""The partner side: apps, who may work on them, the partner catalog and each app's integrations."""

from __future__ import annotations

import secrets as pysecrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from integrations.secrets import EncryptedSecretField

app_id_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{1,99}\Z",
    "Use letters, digits, dots, dashes or underscores (e.g. id1234567890 or com.example.app).",
)
media_source_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_]{1,63}\Z", "Use lowercase letters, digits and underscores."
)


def new_public_key() -> str:
    return "pk_" + pysecrets.token_urlsafe(18)


class Platform(models.TextChoices):
    WEB = "web", "Web"
    IOS = "ios", "iOS"
    ANDROID = "android", "Android"


class App(models.Model):
    """An app or website whose traffic we attribute. `app_id` is AppsFlyer-style and in URLs."""

    app_id = models.CharField(max_length=100, unique=True, validators=[app_id_validator])
    name = models.CharField(max_length=200)
    platform = models.CharField(max_length=10, choices=Platform.choices)
    store_id = models.CharField(
        max_length=200, blank=True, help_text="App Store id (numeric) or Google Play package name."
    )
    website_url = models.URLField(blank=True, help_text="Landing page for web and web-to-app.")
    domains = models.JSONField(
        default=list, blank=True, help_text="Origins the web SDK may send events from."
    )
    timezone = models.CharField(max_length=64, default="UTC")
    currency = models.CharField(max_length=3, default="USD")
    loyal_after_sessions = models.PositiveSmallIntegerField(
        default=3, help_text="Sessions after which a user counts as loyal (AppsFlyer: 3)."
    )
    # Web-to-app: where a website's "app via store" links send phones, and whose users' app
    # events the website's web integrations may forward to their pixel.
    ios_app = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="web_apps_leading_to_ios",
        limit_choices_to={"platform": "ios"},
        verbose_name="Linked iOS app",
        help_text="iPhones that tap an “app via store” link go to its App Store page.",
    )
    android_app = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="web_apps_leading_to_android",
        limit_choices_to={"platform": "android"},
        verbose_name="Linked Android app",
        help_text="Android phones go to its Google Play page, our click id in the referrer.",
    )
    public_key = models.CharField(max_length=64, unique=True, default=new_public_key)
    # The server-to-server API key is shown once; only its SHA-256 and a hint are kept.
    api_key_hash = models.CharField(max_length=64, blank=True, db_index=True)
    api_key_hint = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.app_id})"


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MARKETER = "marketer", "Marketer"
    ANALYST = "analyst", "Analyst"


class AppMembership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="app_memberships"
    )
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "app"], name="membership_one_role_per_app")
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.app.app_id}"


class Invitation(models.Model):
    """An invitation to join an app with a role, sent by email as a signed one-time link
    (integrations.services.team)."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, blank=True)
    # Set for a partner's team member (invited from the Permissions tab): no role on the app,
    # the partner's grants instead.
    partner = models.ForeignKey(
        "Partner", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.email} invited to {self.app.app_id} as {self.role}"


class EventSource(models.TextChoices):
    """What a partner's Events API calls the source of forwarded events."""

    WEB = "web", "Web (pixel)"
    APP = "app", "App (TikTok App ID)"


class Partner(models.Model):
    """A media source in the marketplace. Capabilities are data, so a new partner is a row."""

    media_source = models.CharField(max_length=64, unique=True, validators=[media_source_validator])
    name = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    event_source = models.CharField(
        max_length=8,
        choices=EventSource.choices,
        default=EventSource.WEB,
        help_text="What the partner's Events API calls the source of forwarded events.",
    )
    supports_web = models.BooleanField(default=False)
    supports_app = models.BooleanField(default=False)
    supports_events_api = models.BooleanField(default=False)
    supports_install_postbacks = models.BooleanField(default=False)
    supports_view_through = models.BooleanField(default=False)
    supports_reengagement_postbacks = models.BooleanField(default=False)
    supports_cost = models.BooleanField(default=False)
    supports_ad_revenue = models.BooleanField(default=False)
    supports_permissions = models.BooleanField(default=True)
    is_listed = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.media_source})"

    @property
    def is_app(self) -> bool:
        """Events go to it as an app's (TikTok App ID), not a website's (pixel)."""
        return self.event_source == EventSource.APP


class PartnerEvent(models.Model):
    """A partner's event name. `name` is what marketers pick; `api_name` what the API receives."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="events")
    name = models.CharField(max_length=100)
    api_name = models.CharField(max_length=100)
    label = models.CharField(max_length=200, blank=True)
    is_legacy = models.BooleanField(default=False, help_text="Renamed or retired by the partner.")
    replacement = models.CharField(max_length=100, blank=True)
    allows_revenue = models.BooleanField(default=False)
    requires_revenue = models.BooleanField(default=False)
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["partner", "is_legacy", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "name"], name="partner_event_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class PartnerDefaultMapping(models.Model):
    """The mapping the setup page's "Load default mapping" fills in."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="default_mappings")
    app_event_name = models.CharField(max_length=100)
    partner_event_name = models.CharField(max_length=100)
    including = models.CharField(max_length=20, default="no_values")
    is_primary = models.BooleanField(default=True, help_text="Shown first; others under 'more'.")
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["partner", "-is_primary", "sort_order"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "app_event_name", "partner_event_name"],
                name="default_mapping_unique_row",
            )
        ]

    def __str__(self) -> str:
        return f"{self.app_event_name} → {self.partner_event_name}"


class PartnerUser(models.Model):
    """A member of an ad network's or agency's team. Sees only what a PartnerPermission grants."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_user"
    )
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="team_members")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} @ {self.partner.media_source}"


class PartnerPermission(models.Model):
    """What a partner (partner_user empty) or one of its team members may do on one app."""

    class ActsAs(models.TextChoices):
        AD_NETWORK = "ad_network", "Ad network"
        AGENCY = "agency", "Agency"
        BOTH = "both", "Ad network and agency"

    GRANTS = (
        "can_configure_integration",
        "can_configure_postbacks",
        "can_view_retention",
        "can_view_loyal_users",
        "can_view_in_app_events",
        "can_view_revenue",
        "can_view_protect360",
    )

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="partner_permissions")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="permissions")
    partner_user = models.ForeignKey(
        PartnerUser, on_delete=models.CASCADE, null=True, blank=True, related_name="permissions"
    )
    acts_as = models.CharField(max_length=16, choices=ActsAs.choices, default=ActsAs.AD_NETWORK)
    can_configure_integration = models.BooleanField("Configure integration", default=False)
    can_configure_postbacks = models.BooleanField("Configure in-app event postbacks", default=False)
    can_view_retention = models.BooleanField("Retention report", default=False)
    can_view_loyal_users = models.BooleanField("Aggregate loyal user data", default=False)
    can_view_in_app_events = models.BooleanField("Aggregate in-app events data", default=False)
    can_view_revenue = models.BooleanField("Aggregate revenue data", default=False)
    can_view_protect360 = models.BooleanField("Protect360 dashboard", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "partner"],
                condition=Q(partner_user__isnull=True),
                name="permission_one_partner_wide_row",
            ),
            models.UniqueConstraint(
                fields=["app", "partner_user"],
                condition=Q(partner_user__isnull=False),
                name="permission_one_row_per_member",
            ),
        ]

    def __str__(self) -> str:
        who = self.partner_user or self.partner.media_source
        return f"{who} on {self.app.app_id}"


class PostbackWindowUnit(models.TextChoices):
    HOURS = "hours", "Hours"
    DAYS = "days", "Days"
    LIFETIME = "lifetime", "Lifetime"


class UsersFrom(models.TextChoices):
    THIS_PARTNER = "this_partner", "This partner only"
    ALL_SOURCES = "all_sources", "All media sources, including organic"


class Including(models.TextChoices):
    NO_VALUES = "no_values", "No values"
    VALUES = "values", "Values without revenue"
    VALUES_AND_REVENUE = "values_and_revenue", "Values and revenue"


class Integration(models.Model):
    """One app working with one partner: activation, postback rules, lookbacks, health."""

    # Set by events.services.forwarding.forwarding_integrations (a prefetch, not a column).
    enabled_mappings: list[EventMapping]

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="integrations")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="integrations")
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    # Events API settings
    ccpa_limited_data_use = models.BooleanField(default=False)
    tiktok_app_id = models.CharField(
        max_length=64, blank=True, help_text="Event source id for app events (app partners)."
    )
    in_app_postbacks_enabled = models.BooleanField(default=False)
    postback_window_value = models.PositiveIntegerField(null=True, blank=True)
    postback_window_unit = models.CharField(
        max_length=10, choices=PostbackWindowUnit.choices, default=PostbackWindowUnit.LIFETIME
    )
    install_postbacks = models.CharField(
        max_length=16, choices=UsersFrom.choices, default=UsersFrom.THIS_PARTNER
    )
    view_through_enabled = models.BooleanField(default=False)
    # Installs flagged by the fraud checks (events.services.fraud), and their users' events, are
    # not sent to this partner.
    block_flagged_installs = models.BooleanField(default=False)
    # Attribution link and lookbacks (they feed the attribution engine)
    click_lookback_days = models.PositiveSmallIntegerField(default=7)
    view_lookback_hours = models.PositiveSmallIntegerField(default=24)
    link_base_url = models.URLField(blank=True)
    link_parameters = models.JSONField(default=list, blank=True)
    # Health: set when the partner rejects our credentials; deliveries pause until fixed.
    needs_attention = models.BooleanField(default=False)
    attention_reason = models.CharField(max_length=300, blank=True)
    attention_code = models.IntegerField(null=True, blank=True)
    attention_since = models.DateTimeField(null=True, blank=True)
    # Delivery summary recorded by `events` through integrations.services.deliveries
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_delivery_ok = models.BooleanField(null=True, blank=True)
    cost_enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["app", "partner__sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["app", "partner"], name="integration_one_per_partner"),
            models.CheckConstraint(
                condition=Q(postback_window_unit="lifetime")
                | Q(postback_window_value__isnull=False, postback_window_value__gt=0),
                name="integration_window_has_value",
            ),
        ]
        indexes = [
            models.Index(fields=["app", "is_active"], name="integration_app_active"),
        ]

    def __str__(self) -> str:
        return f"{self.partner.name} on {self.app.app_id}"


class MatchKeyTally(models.Model):
    """Delivered postbacks of one integration on one day (the app's calendar) and how many
    carried each TikTok match key. `events` adds to it after each delivered batch through
    `integrations.services.deliveries.record_match_keys`; the coverage panel sums the last
    seven days."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="match_key_tallies"
    )
    day = models.DateField()
    delivered = models.PositiveIntegerField(default=0)
    email = models.PositiveIntegerField(default=0)
    phone = models.PositiveIntegerField(default=0)
    external_id = models.PositiveIntegerField(default=0)
    ip_user_agent = models.PositiveIntegerField(default=0)
    click_id = models.PositiveIntegerField(default=0)
    advertising_id = models.PositiveIntegerField(default=0)
    ttp = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "day"], name="match_key_tally_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.integration} {self.day}: {self.delivered} delivered"


class Pixel(models.Model):
    """Where forwarded events go: the TikTok pixel (web) and the Events API access token
    (encrypted). App partners keep only the token here; their event source is the TikTok App ID
    on the integration."""

    integration = models.OneToOneField(Integration, on_delete=models.CASCADE, related_name="pixel")
    pixel_code = models.CharField(
        max_length=64,
        blank=True,
        validators=[RegexValidator(r"^[A-Za-z0-9]+\Z", "A pixel ID has only letters and digits.")],
        help_text="Empty for app partners, whose events go to the integration's TikTok App ID.",
    )
    access_token = EncryptedSecretField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.pixel_code


class EventMapping(models.Model):
    """One row of the postback mapping: which app event goes to the partner, for whom, with what."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="mappings")
    app_event_name = models.CharField(max_length=100)
    partner_event_name = models.CharField(max_length=100)
    users_from = models.CharField(
        max_length=16, choices=UsersFrom.choices, default=UsersFrom.THIS_PARTNER
    )
    including = models.CharField(
        max_length=20, choices=Including.choices, default=Including.NO_VALUES
    )
    conditions = models.JSONField(
        default=list, blank=True, help_text='[{"field": "plan", "op": "eq", "value": "pro"}]'
    )
    is_enabled = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["integration", "sort_order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "app_event_name", "partner_event_name"],
                name="mapping_no_duplicate_rows",
            )
        ]
        indexes = [
            models.Index(fields=["integration", "app_event_name"], name="mapping_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.app_event_name} → {self.partner_event_name}"


class SeenEventName(models.Model):
    """Event names an app has sent, recorded by `events` so the mapping page can offer them."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="seen_event_names")
    name = models.CharField(max_length=100)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["app", "name"]
        constraints = [
            models.UniqueConstraint(fields=["app", "name"], name="seen_event_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class CostConnection(models.Model):
    """A TikTok for Business account connected by OAuth to pull cost for one integration."""

    # Set by services.cost_connections.cost_overview for the Cost tab (not columns).
    recent_pulls: list[CostPull]
    latest_pull: CostPull | None

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        BROKEN = "broken", "Needs reconnecting"
        REVOKED = "revoked", "Deleted"

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="cost_connections"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    label = models.CharField(max_length=200, blank=True)
    access_token = EncryptedSecretField()
    scope = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONNECTED)
    last_error = models.CharField(max_length=500, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # The social-auth association this token came from (a hash of the token, see oauth.py).
    oauth_uid = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.label or f"Connection {self.pk}"

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED


class CostAdvertiser(models.Model):
    """An advertiser account a connection can read; the marketer picks which ones to pull."""

    connection = models.ForeignKey(
        CostConnection, on_delete=models.CASCADE, related_name="advertisers"
    )
    advertiser_id = models.CharField(max_length=32)
    name = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    is_selected = models.BooleanField(default=False)
    pulled_through = models.DateField(
        null=True, blank=True, help_text="Last day (advertiser's timezone) a pull has read."
    )

    class Meta:
        ordering = ["name", "advertiser_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "advertiser_id"], name="cost_advertiser_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.advertiser_id})"


class CostPull(models.Model):
    """One run of the cost pull for one connection: what it read, how long it took, how it ended."""

    class Trigger(models.TextChoices):
        BACKFILL = "backfill", "First pull (last 7 days)"
        DAILY = "daily", "Daily pull"
        MANUAL = "manual", "Pull now"
        RETRY = "retry", "Retry after a TikTok-side failure"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(CostConnection, on_delete=models.CASCADE, related_name="pulls")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_saved = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    error_code = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["connection", "-queued_at"], name="cost_pull_recent")]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} of {self.connection}: {self.status}"

    @property
    def is_in_progress(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class AdRevenueSettings(models.Model):
    integration = models.OneToOneField(
        Integration, on_delete=models.CASCADE, related_name="ad_revenue_settings"
    )
    is_enabled = models.BooleanField(default=False)
    tiktok_app_id = models.CharField(max_length=64, blank=True)
    secure_key = EncryptedSecretField()
    account_id = models.CharField(max_length=64, blank=True)
    event_source = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "ad revenue settings"

    def __str__(self) -> str:
        return f"Ad revenue for {self.integration}"


class AuditEntry(models.Model):
    """Who changed what on an app or integration. `changes` maps field → [old, new], masked."""

    LABELS = {
        "app.created": "created the app",
        "app.api_key_rotated": "rotated the server API key",
        "integration.created": "set up the integration",
        "integration.settings_saved": "saved the integration settings",
        "integration.postbacks_saved": "saved the in-app event postbacks",
        "integration.default_mapping_loaded": "loaded the default mapping",
        "integration.attribution_link_saved": "saved the attribution link",
        "integration.test_event_sent": "sent a test event",
        "integration.needs_attention": "paused deliveries: the partner refused our credentials",
        "postbacks.requeued": "queued deliveries again",
        "integration.deliveries_resumed": "resumed deliveries",
        "partner.permissions_saved": "saved the partner's permissions",
        "cost.connected": "connected a TikTok for Business account",
        "cost.saved": "saved the cost settings",
        "cost.connection_deleted": "deleted a cost connection",
        "cost.connection_broken": "lost access to a TikTok account (reconnect needed)",
        "cost.pull_requested": "asked for a cost pull",
        "ad_revenue.saved": "saved the ad revenue settings",
        "admin.changed": "changed settings in the admin",
    }

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="audit_entries")
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    action = models.CharField(max_length=64)
    changes = models.JSONField(default=dict, blank=True)
    details = models.JSONField(
        default=dict, blank=True, help_text="Context, e.g. a test event's request and answer."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["integration", "-created_at"], name="audit_integration_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor or 'system'}"

    @property
    def label(self) -> str:
        return self.LABELS.get(self.action, self.action)


class LandingPage(models.Model):
    """A hosted landing page for web-to-app campaigns, served at /p/<slug>/: a headline, text,
    an image and store buttons that go through the app's smart link (so the TikTok click id
    reaches the install), plus an optional "continue on web" button. Plain HTML: the buttons
    are links, so it works without JavaScript; the web SDK (websites only) records the visit."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="landing_pages")
    slug = models.SlugField(
        max_length=64, unique=True, help_text="The page's address: /p/<slug>/. Letters, digits, -"
    )
    headline = models.CharField(max_length=120)
    text = models.TextField(
        max_length=2000, blank=True, help_text="Plain text; blank lines part paragraphs."
    )
    image = models.BinaryField(null=True, blank=True, editable=False)
    image_type = models.CharField(max_length=32, blank=True)
    image_alt = models.CharField(
        max_length=200, blank=True, verbose_name="Image description",
        help_text="What the image shows, for screen readers (required with an image).",
    )  # fmt: skip
    media_source = models.CharField(
        max_length=64, default="tiktokweb_int", validators=[media_source_validator],
        help_text="The partner the store buttons' clicks are attributed to.",
    )  # fmt: skip
    show_app_store = models.BooleanField(default=True, verbose_name="App Store button")
    show_google_play = models.BooleanField(default=True, verbose_name="Google Play button")
    web_button_label = models.CharField(
        max_length=60, blank=True, verbose_name="“Continue on web” label"
    )
    web_button_url = models.URLField(blank=True, verbose_name="“Continue on web” address")
    is_published = models.BooleanField(default=False, verbose_name="Published")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"/p/{self.slug}/"


class SubscriptionReceivers(models.Model):
    """How an app's subscription notifications are checked: App Store Server Notifications V2
    (signed by Apple: the bundle id and App Apple ID must match), Google Play real-time
    developer notifications (Pub/Sub push with our token in the URL) and RevenueCat webhooks
    (its Authorization header). The token and the header value are secrets: encrypted, never
    shown back."""

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="subscription_receivers")
    apple_bundle_id = models.CharField(max_length=155, blank=True, verbose_name="Bundle ID")
    apple_app_apple_id = models.PositiveBigIntegerField(
        null=True, blank=True, verbose_name="App Apple ID",
        help_text="The numeric id App Store Connect shows under App Information.",
    )  # fmt: skip
    google_package_name = models.CharField(max_length=155, blank=True, verbose_name="Package name")
    google_push_token = EncryptedSecretField(blank=True)
    # A service account's JSON key: with it, a notification's purchase is looked up in Play for
    # its price and the app's user id; without, the notification's own fields are used.
    google_service_account = EncryptedSecretField(blank=True)
    revenuecat_authorization = EncryptedSecretField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"subscription receivers of {self.app.app_id}"
