"""What analysts read besides raw events: ad cost from partners, and currency rates."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from integrations.models import App, CostConnection
from integrations.secrets import EncryptedSecretField


class CostRecord(models.Model):
    """One day of one ad (or one country, when the partner reports geo separately).

    Upserted on its natural key, so pulling the same day again replaces the numbers and never
    double-counts. Money is in the advertiser's currency.
    """

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="cost_records")
    connection = models.ForeignKey(
        CostConnection, on_delete=models.SET_NULL, null=True, blank=True, related_name="records"
    )
    media_source = models.CharField(max_length=64)
    stat_date = models.DateField(help_text="In the advertiser's timezone, as the partner reports.")
    advertiser_id = models.CharField(max_length=32)
    campaign_id = models.CharField(max_length=64)
    campaign = models.CharField(max_length=255, blank=True)
    adset_id = models.CharField(max_length=64, blank=True)
    adset = models.CharField(max_length=255, blank=True)
    ad_id = models.CharField(max_length=64, blank=True)
    ad = models.CharField(max_length=255, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    currency = models.CharField(max_length=3)
    spend = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    impressions = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    reported_conversions = models.BigIntegerField(null=True, blank=True)
    reported_installs = models.BigIntegerField(null=True, blank=True)
    pulled_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "app",
                    "media_source",
                    "advertiser_id",
                    "stat_date",
                    "campaign_id",
                    "adset_id",
                    "ad_id",
                    "country_code",
                ],
                name="cost_record_natural_key",
            ),
            models.CheckConstraint(
                condition=models.Q(spend__gte=0), name="cost_spend_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["app", "stat_date"], name="cost_app_date"),
            models.Index(fields=["app", "media_source", "stat_date"], name="cost_app_source_date"),
        ]

    def __str__(self) -> str:
        return f"{self.stat_date} {self.media_source} {self.campaign or self.campaign_id}"


class ExchangeRate(models.Model):
    """Units of `currency` per 1 USD on a day: from the European Central Bank's reference rates
    (reporting.ecb_rates), or set by the admin, whose rows the feed never overwrites."""

    class Source(models.TextChoices):
        ADMIN = "admin", "Set by an admin"
        ECB = "ecb", "European Central Bank"

    day = models.DateField()
    currency = models.CharField(max_length=3)
    per_usd = models.DecimalField(max_digits=18, decimal_places=8)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ADMIN)

    class Meta:
        ordering = ["-day", "currency"]
        indexes = [models.Index(fields=["currency", "day"], name="exchange_rate_lookup")]
        constraints = [
            models.UniqueConstraint(fields=["day", "currency"], name="exchange_rate_unique"),
            models.CheckConstraint(
                condition=models.Q(per_usd__gt=0), name="exchange_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} 1 USD = {self.per_usd} {self.currency}"


class ApiToken(models.Model):
    """A user's Pull API token. Shown once when created; only its SHA-256 and a hint are kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What it is for, e.g. Airbyte.")
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint})"


class ExportJob(models.Model):
    """A raw-data export written to a file in the background, for exports too big to wait on."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="export_jobs")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs"
    )
    report = models.CharField(max_length=32)
    params = models.JSONField(default=dict, help_text="The filters, as the page's query string.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveBigIntegerField(default=0)
    rows_written = models.PositiveBigIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    file_bytes = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "app", "created_at"], name="export_job_by_user")]

    def __str__(self) -> str:
        return f"{self.report} export for {self.user} ({self.status})"


class AttributionDay(models.Model):
    """Our installs and revenue per app, day (in the app's timezone), ad and currency: the daily
    rollup the overview reads instead of millions of raw rows.

    On PostgreSQL, triggers on `events_install`, `events_inappevent` and the app's timezone keep
    it exact on every insert, update and delete, whichever code path wrote (see migration
    0003_attribution_day). Installs count non-reengagement installs on a row whose currency is
    blank; revenue sums non-reengagement events per currency. Nothing else writes here. On
    SQLite the overview reads the raw rows and this table stays empty.
    """

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    key_hash = models.CharField(max_length=32, help_text="md5 of the attribution and currency.")
    media_source = models.CharField(max_length=64)
    campaign = models.CharField(max_length=255, blank=True)
    campaign_id = models.CharField(max_length=64, blank=True)
    adset = models.CharField(max_length=255, blank=True)
    adset_id = models.CharField(max_length=64, blank=True)
    ad = models.CharField(max_length=255, blank=True)
    ad_id = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    installs = models.BigIntegerField(default=0)
    revenue = models.DecimalField(max_digits=24, decimal_places=6, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "day", "key_hash"], name="attribution_day_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.media_source} {self.campaign or self.campaign_id}"


COHORT_DIMENSIONS = [
    ("media_source", "Media source"),
    ("campaign", "Campaign"),
    ("adset", "Ad set"),
    ("country_code", "Country"),
]


class CohortDay(models.Model):
    """Retention cohorts' figures per app, install day (in the app's timezone), media source and
    one grouping of it (`dimension`: the media source alone, or its campaign, ad set or
    country, named by `value`): installs (kind "s"), users back on day n (kind "d", 1–30) and
    in week n (kind "w", 1–12), revenue on day n per currency (kind "r", 0–84). Each install
    counts once in every grouping, so a page reads only the rows of the grouping it shows.

    On PostgreSQL, triggers on installs, session days, events and the app's timezone keep it
    exact on every write (migration 0006_cohort_day); nothing else writes here. On SQLite the
    retention page reads the raw rows and this table stays empty.
    """

    class Kind(models.TextChoices):
        INSTALLS = "s", "installs"
        DAY = "d", "users back on day n"
        WEEK = "w", "users back in week n"
        REVENUE = "r", "revenue on day n"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    cohort_day = models.DateField()
    key_hash = models.CharField(
        max_length=32, help_text="md5 of the cohort's attribution and currency."
    )
    media_source = models.CharField(max_length=64)
    dimension = models.CharField(max_length=16, choices=COHORT_DIMENSIONS)
    value = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    kind = models.CharField(max_length=1, choices=Kind.choices)
    n = models.SmallIntegerField()
    users = models.BigIntegerField(default=0)
    revenue = models.DecimalField(max_digits=24, decimal_places=6, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "cohort_day", "key_hash", "kind", "n"], name="cohort_day_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.cohort_day} {self.media_source} {self.kind}{self.n}"


class AlertKind(models.TextChoices):
    DELIVERIES_PAUSED = "deliveries_paused", "Deliveries paused: TikTok refused the credentials"
    DEAD_LETTERS = "dead_letters", "Postbacks dead-lettered"
    COST_CONNECTION = "cost_connection", "A cost connection needs reconnecting or its pull failed"
    SPEND_WITHOUT_CLICKS = "spend_without_clicks", "Spend but no attributed clicks for 24 hours"
    EVENTS_STOPPED = "events_stopped", "Events stopped arriving"


class AlertSettings(models.Model):
    """Where an app's alerts go (email, a Slack-compatible webhook) and which kinds are on."""

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="alert_settings")
    emails = models.JSONField(default=list, blank=True)
    webhook_url = EncryptedSecretField(blank=True)  # its path holds the webhook's own secret
    enabled_kinds = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"alerts of {self.app.app_id}"


class AlertState(models.Model):
    """One condition of one app (and subject, e.g. an integration): since when it holds, when
    it was last announced, and whether its end was announced."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="alert_states")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    subject = models.CharField(max_length=64, blank=True)
    since = models.DateTimeField()
    last_sent_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "kind", "subject"],
                condition=models.Q(resolved_at__isnull=True),
                name="alert_one_open_state",
            )
        ]

    def __str__(self) -> str:
        return f"{self.app.app_id} {self.kind} {self.subject}"
