from django.contrib import admin

from reporting import models


@admin.register(models.CostRecord)
class CostRecordAdmin(admin.ModelAdmin):
    list_display = [
        "stat_date",
        "app",
        "media_source",
        "advertiser_id",
        "campaign",
        "adset",
        "ad",
        "country_code",
        "spend",
        "currency",
        "impressions",
        "clicks",
    ]
    list_filter = ["media_source", "currency"]
    search_fields = ["campaign", "campaign_id", "adset", "ad", "advertiser_id"]
    list_select_related = ["app"]
    raw_id_fields = ["connection"]
    date_hierarchy = "stat_date"
    show_full_result_count = False


@admin.register(models.ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["day", "currency", "per_usd"]
    list_filter = ["currency"]
    date_hierarchy = "day"
