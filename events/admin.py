"""Operations console for what apps send us and what we deliver."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from events import models
from events.services.delivery import requeue_postbacks


@admin.register(models.Touchpoint)
class TouchpointAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "kind", "app", "media_source", "campaign", "ttclid", "ip"]
    list_filter = ["kind", "media_source", "is_retargeting"]
    search_fields = ["click_id", "ttclid", "campaign", "web_user_id"]
    list_select_related = ["app"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.register(models.Install)
class InstallAdmin(admin.ModelAdmin):
    list_display = ["installed_at", "app", "device_id", "media_source", "campaign", "match_type"]
    list_filter = ["media_source", "match_type", "is_reengagement"]
    search_fields = ["device_id", "customer_user_id", "web_user_id", "ttclid"]
    list_select_related = ["app"]
    raw_id_fields = ["touchpoint"]
    date_hierarchy = "installed_at"
    show_full_result_count = False


@admin.register(models.InAppEvent)
class InAppEventAdmin(admin.ModelAdmin):
    list_display = ["event_time", "event_name", "app", "media_source", "revenue", "currency"]
    list_filter = ["media_source", "is_reengagement", "is_ad_revenue"]
    search_fields = ["event_id", "event_name", "customer_user_id", "ttclid"]
    list_select_related = ["app"]
    raw_id_fields = ["install"]
    date_hierarchy = "event_time"
    show_full_result_count = False


class DeadLetterFilter(admin.SimpleListFilter):
    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [("dead", "Dead-lettered"), ("failing", "Failed or retrying"), ("due", "Due now")]

    def queryset(self, request, queryset):
        from django.utils import timezone

        if self.value() == "dead":
            return queryset.filter(status=models.Postback.Status.DEAD)
        if self.value() == "failing":
            return queryset.filter(
                status__in=[models.Postback.Status.FAILED, models.Postback.Status.PENDING],
                attempts__gt=0,
            )
        if self.value() == "due":
            return queryset.filter(
                status=models.Postback.Status.PENDING, next_attempt_at__lte=timezone.now()
            )
        return queryset


@admin.register(models.Postback)
class PostbackAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "partner_event_name",
        "integration",
        "status",
        "attempts",
        "response_code",
        "response_message",
        "next_attempt_at",
    ]
    list_filter = [DeadLetterFilter, "status", "integration__partner"]
    search_fields = ["partner_event_name", "response_request_id", "event__event_id"]
    list_select_related = ["integration__app", "integration__partner"]
    raw_id_fields = ["event", "install", "integration"]
    readonly_fields = ["request_body", "attempt_log", "created_at"]
    show_full_result_count = False
    actions = ["retry_or_replay"]

    @admin.action(description="Retry failed / replay dead-lettered postbacks now")
    def retry_or_replay(self, request: HttpRequest, queryset: QuerySet) -> None:
        by_integration: dict = defaultdict(list)
        for postback in queryset.select_related("integration__app"):
            by_integration[postback.integration].append(postback.pk)
        count = sum(
            requeue_postbacks(integration, ids, acting_user=request.user)
            for integration, ids in by_integration.items()
        )
        self.message_user(request, f"{count} postback(s) queued again.", messages.SUCCESS)
