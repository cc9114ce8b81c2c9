"""What analysts read besides raw events: ad cost from partners, and currency rates."""

from __future__ import annotations

from django.db import models

from integrations.models import App, CostConnection


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
    """Units of `currency` per 1 USD on a day; the admin maintains them, the demo seeds them."""

    day = models.DateField()
    currency = models.CharField(max_length=3)
    per_usd = models.DecimalField(max_digits=18, decimal_places=8)

    class Meta:
        ordering = ["-day", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["day", "currency"], name="exchange_rate_unique"),
            models.CheckConstraint(
                condition=models.Q(per_usd__gt=0), name="exchange_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} 1 USD = {self.per_usd} {self.currency}"
