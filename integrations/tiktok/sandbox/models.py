"""What the TikTok sandbox knows: event sources, tokens, what it received, failures to inject.

These tables stand in for TikTok's own state. Tokens are kept as SHA-256 hashes, like ours.
"""

from __future__ import annotations

from django.db import models


class EventSource(models.Model):
    """A pixel (web) or TikTok App ID (app) that events can be sent to."""

    source_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, default="web")
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.source_id


class AccessToken(models.Model):
    """An Events API token (bound to event sources) or a Marketing API token (advertisers)."""

    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=16)
    sources = models.ManyToManyField(EventSource, blank=True, related_name="tokens")
    advertiser_ids = models.JSONField(default=list, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.hint


class ReceivedRequest(models.Model):
    """One call to the sandbox, as received and as answered."""

    path = models.CharField(max_length=200)
    target = models.CharField(max_length=64, blank=True, help_text="Event source or advertiser.")
    token_hint = models.CharField(max_length=16, blank=True)
    body = models.JSONField(null=True, blank=True)
    response_code = models.IntegerField(null=True, blank=True)
    response_message = models.TextField(blank=True)
    http_status = models.PositiveSmallIntegerField(default=200)
    request_id = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.path} → {self.response_code}"


class ReceivedEvent(models.Model):
    """One accepted event, with TikTok's de-duplication verdict (§1.6)."""

    request = models.ForeignKey(ReceivedRequest, on_delete=models.CASCADE, related_name="events")
    event_source = models.CharField(max_length=8)
    event_source_id = models.CharField(max_length=64)
    event = models.CharField(max_length=100)
    event_id = models.CharField(max_length=200, blank=True)
    event_time = models.BigIntegerField()
    test_event_code = models.CharField(max_length=64, blank=True)
    limited_data_use = models.BooleanField(default=False)
    payload = models.JSONField()
    is_duplicate = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(
                fields=["event_source_id", "event", "event_id", "received_at"],
                name="sandbox_event_dedup",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id}"


class Fault(models.Model):
    """Make the next `remaining` calls for a target fail in a chosen way."""

    class Kind(models.TextChoices):
        RATE_LIMIT = "rate_limit", "40100 too many requests"
        SERVER_ERROR = "server_error", "50000 system error"
        MAINTENANCE = "maintenance", "60001 maintenance"
        BAD_GATEWAY = "bad_gateway", "HTML 502 from the gateway"
        HANG = "hang", "Hang past the client's timeout"
        REVOKED_TOKEN = "revoked_token", "40105 token revoked"
        NO_PERMISSION = "no_permission", "40001 no permission"
        QUERY_TOO_LARGE = "query_too_large", "40067 report query too large"
        ADVERTISER_QPS = "advertiser_qps", "40133 advertiser QPS limit"
        # Not an answer of its own: while it lasts, a 40002 names no item (no `Batch.<i>` path),
        # as TikTok may answer; the client must then find the bad items itself.
        UNNAMED_ERRORS = "unnamed_errors", "40002 without naming the bad items"

    target = models.CharField(max_length=64, help_text="Pixel code, app id or advertiser id.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    remaining = models.PositiveIntegerField(default=1)
    hang_seconds = models.FloatField(default=15)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} ×{self.remaining} for {self.target}"


class AuthCode(models.Model):
    """An authorization code handed out by the consent page: one hour, single use (§4.1)."""

    code_hash = models.CharField(max_length=64, unique=True)
    advertiser_ids = models.JSONField(default=list)
    redirect_uri = models.CharField(max_length=500)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"auth code for {', '.join(self.advertiser_ids)}"


class Restatement(models.Model):
    """How many times TikTok has restated an advertiser's numbers. Each revision changes every
    metric deterministically, so a re-pull must replace what the first pull stored."""

    advertiser_id = models.CharField(max_length=32, unique=True)
    revision = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.advertiser_id} r{self.revision}"
