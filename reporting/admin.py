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
    list_display = ["day", "currency", "per_usd", "source"]
    list_filter = ["currency", "source"]
    readonly_fields = ["source"]  # an admin's save makes it an admin rate, kept by the feed

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        obj.source = models.ExchangeRate.Source.ADMIN
        super().save_model(request, obj, form, change)

    date_hierarchy = "day"


@admin.register(models.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by their users; staff can see and revoke, never read one."""

    list_display = ["name", "user", "hint", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user__username"]
    list_select_related = ["user"]
    exclude = ["token_hash"]
    readonly_fields = ["user", "name", "hint", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        from django.utils import timezone

        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {revoked} token(s).")


@admin.register(models.ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["created_at", "app", "user", "report", "status", "rows_written", "total_rows"]
    list_filter = ["status", "report"]
    list_select_related = ["app", "user"]
    readonly_fields = [field.name for field in models.ExportJob._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(models.AttributionDay)
class AttributionDayAdmin(admin.ModelAdmin):
    """The overview's daily rollup, kept by database triggers: read-only here."""

    list_display = ["day", "app", "media_source", "campaign", "adset", "ad", "installs"]
    list_display += ["revenue", "currency"]
    list_filter = ["media_source", "currency"]
    search_fields = ["campaign", "campaign_id", "adset", "ad"]
    list_select_related = ["app"]
    date_hierarchy = "day"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
