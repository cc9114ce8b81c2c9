"""The operations console for the partner side. Secrets are write-only and shown masked."""

from __future__ import annotations

from copy import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from integrations import models
from integrations.secrets import Secret, SecretInput
from integrations.services.apps import save_admin_app_edit, save_new_app
from integrations.services.mapping import MappingRow, check_rows
from integrations.services.setup import (
    activation_errors,
    credential_errors,
    resume_deliveries,
    save_admin_edit,
)


class SecretReplaceForm(forms.ModelForm):
    """A model form whose secret fields are write-only: blank keeps the stored value."""

    secret_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            field = self.fields[name]
            field.widget = SecretInput()
            field.required = not (self.instance and self.instance.pk)
            stored = getattr(self.instance, name, None)
            if stored:
                field.help_text = f"Stored: {stored.hint}. Leave blank to keep it."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in self.secret_fields:
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


class SecretFieldsAdmin(admin.ModelAdmin):
    """An admin whose form (or an inline's) takes a token or key: an error report while saving
    shows none of the POST (inline field names carry a prefix, so all of it is hidden)."""

    @method_decorator(sensitive_post_parameters())
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return super().changeform_view(request, object_id, form_url, extra_context)


class AuditedIntegrationAdmin(SecretFieldsAdmin):
    """Changes made in the admin land in the integration's history like changes made on its
    pages, with secrets written as hints."""

    def integration_of(self, obj: Any) -> models.Integration:
        return obj.integration

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        secret_fields = getattr(form, "secret_fields", ())
        changes = {}
        for name in form.changed_data:
            old, new = form.initial.get(name), form.cleaned_data.get(name)
            if name in secret_fields:
                old, new = Secret(str(old or "")), Secret(str(new or ""))
            changes[name] = (old, new)
        save_admin_edit(
            obj, integration=self.integration_of(obj), acting_user=request.user, changes=changes
        )


@admin.register(models.App)
class AppAdmin(admin.ModelAdmin):
    list_display = ["name", "app_id", "platform", "timezone", "currency", "integration_count"]
    list_filter = ["platform"]
    search_fields = ["name", "app_id", "store_id"]
    readonly_fields = ["public_key", "api_key_hint", "created_at"]
    exclude = ["api_key_hash", "loyal_after_sessions"]  # the app's settings page sets it

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_integrations=Count("integrations"))

    def save_model(self, request: HttpRequest, obj: models.App, form: Any, change: bool) -> None:
        """A new app gets its server API key here too, shown once (messages live in the
        server-side session, never in a cookie)."""
        if change:
            model_fields = {field.name for field in obj._meta.concrete_fields}
            changes = {
                name: (form.initial.get(name), form.cleaned_data.get(name))
                for name in form.changed_data
                # Model fields only (not write-only inputs), and really changed: a JSON list
                # re-posted as typed counts as changed to Django's form.
                if name in model_fields and form.initial.get(name) != form.cleaned_data.get(name)
            }
            save_admin_app_edit(obj, acting_user=request.user, changes=changes)
            return
        raw_key = save_new_app(obj, acting_user=request.user)
        messages.warning(
            request,
            f"Server API key for {obj.app_id}, shown only now; copy it: {raw_key}",
        )

    @admin.display(description="Integrations", ordering="_integrations")
    def integration_count(self, obj: models.App) -> int:
        return obj._integrations


@admin.register(models.AppMembership)
class AppMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "app", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "app__app_id", "app__name"]
    list_select_related = ["user", "app"]
    autocomplete_fields = ["app"]


class PartnerEventInline(admin.TabularInline):
    model = models.PartnerEvent
    extra = 0


class PartnerDefaultMappingInline(admin.TabularInline):
    model = models.PartnerDefaultMapping
    extra = 0


@admin.register(models.Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "media_source",
        "supports_web",
        "supports_app",
        "supports_events_api",
        "supports_cost",
        "supports_ad_revenue",
        "is_listed",
    ]
    list_filter = ["supports_web", "supports_app", "supports_cost", "is_listed"]
    search_fields = ["name", "media_source"]
    inlines = [PartnerEventInline, PartnerDefaultMappingInline]


@admin.register(models.PartnerEvent)
class PartnerEventAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "api_name",
        "partner",
        "is_legacy",
        "allows_revenue",
        "requires_revenue",
    ]
    list_filter = ["partner", "is_legacy", "allows_revenue"]
    search_fields = ["name", "api_name"]
    list_select_related = ["partner"]


@admin.register(models.PartnerDefaultMapping)
class PartnerDefaultMappingAdmin(admin.ModelAdmin):
    list_display = ["app_event_name", "partner_event_name", "partner", "is_primary", "sort_order"]
    list_filter = ["partner", "is_primary"]
    list_select_related = ["partner"]


@admin.register(models.PartnerUser)
class PartnerUserAdmin(admin.ModelAdmin):
    list_display = ["user", "partner", "created_at"]
    list_filter = ["partner"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user", "partner"]


@admin.register(models.PartnerPermission)
class PartnerPermissionAdmin(admin.ModelAdmin):
    list_display = ["app", "partner", "partner_user", "acts_as", "granted"]
    list_filter = ["partner", "acts_as"]
    search_fields = ["app__app_id", "partner__media_source", "partner_user__user__username"]
    list_select_related = ["app", "partner", "partner_user__user"]

    @admin.display(description="Grants")
    def granted(self, obj: models.PartnerPermission) -> str:
        names = [
            str(obj._meta.get_field(grant).verbose_name)
            for grant in models.PartnerPermission.GRANTS
            if getattr(obj, grant)
        ]
        return ", ".join(names) or "—"


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("attention", "Needs attention"), ("ok", "Healthy")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "attention":
            return queryset.filter(needs_attention=True)
        if self.value() == "ok":
            return queryset.filter(needs_attention=False)
        return queryset


PIXEL_FIELDS = ("pixel_code", "access_token")


class PixelInlineFormSet(forms.BaseInlineFormSet):
    """The pixel as typed, checked against the integration as typed. The integration's own
    form sees only the stored pixel: clearing or deleting the pixel of an active integration
    here would pass it, and typing the pixel while activating would fail it."""

    def clean(self) -> None:
        super().clean()
        integration = self.instance  # the main form has already put the typed values on it
        if not integration.is_active or any(form.errors for form in self.forms):
            return
        kept = [f for f in self.forms if f.cleaned_data and not self._should_delete_form(f)]
        pixel = kept[0].instance if kept else None  # a valid form's instance holds its values
        was_active = bool(
            integration.pk
            and models.Integration.objects.filter(pk=integration.pk, is_active=True).exists()
        )
        errors = activation_errors(integration, pixel, was_active=was_active, fields=PIXEL_FIELDS)
        elsewhere = []
        for field, message in errors.items():
            if kept and field in kept[0].fields:
                kept[0].add_error(field, message)
            else:
                elsewhere.append(message)
        if elsewhere:
            raise forms.ValidationError(elsewhere)


class PixelAdminForm(SecretReplaceForm):
    """The pixel's ID and a newly typed token, refused as the Integration tab refuses them."""

    secret_fields = ("access_token",)

    class Meta:
        model = models.Pixel
        fields = ["pixel_code", "access_token"]

    def clean(self) -> dict[str, Any]:
        typed_token = self.cleaned_data.get("access_token") or ""
        cleaned = super().clean()
        errors = credential_errors(
            pixel_code=cleaned.get("pixel_code") or "", access_token=str(typed_token)
        )
        for field, message in errors.items():
            self.add_error(field, message)
        return cleaned


class PixelInline(admin.StackedInline):
    model = models.Pixel
    formset = PixelInlineFormSet
    form = PixelAdminForm


class IntegrationAdminForm(forms.ModelForm):
    class Meta:
        model = models.Integration
        fields = "__all__"  # noqa: DJ007 - the operations admin edits every field

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        tiktok_app_id = cleaned.get("tiktok_app_id") or ""
        for field, message in credential_errors(tiktok_app_id=tiktok_app_id).items():
            self.add_error(field, message)
        if cleaned.get("is_active"):
            candidate = copy(self.instance)
            for name, value in cleaned.items():
                setattr(candidate, name, value)
            # The pixel's fields are checked by PixelInlineFormSet, which sees what was typed.
            errors = activation_errors(
                candidate, None, was_active=self.instance.is_active, fields=("tiktok_app_id",)
            )
            for field, message in errors.items():
                self.add_error(field, message)
        return cleaned


@admin.register(models.Integration)
class IntegrationAdmin(AuditedIntegrationAdmin):
    form = IntegrationAdminForm
    list_display = [
        "__str__",
        "app",
        "partner",
        "is_active",
        "in_app_postbacks_enabled",
        "ccpa_limited_data_use",
        "needs_attention",
        "attention_reason",
        "last_delivery_at",
    ]
    list_filter = [NeedsAttentionFilter, "is_active", "partner"]
    search_fields = ["app__app_id", "app__name", "partner__media_source"]
    list_select_related = ["app", "partner"]
    inlines = [PixelInline]
    readonly_fields = ["created_at", "updated_at", "last_delivery_at", "last_delivery_ok"]
    actions = ["resume"]

    def integration_of(self, obj: models.Integration) -> models.Integration:
        return obj

    @admin.action(description="Resume deliveries (clear “needs attention”)")
    def resume(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = sum(resume_deliveries(i, acting_user=request.user) for i in queryset)
        self.message_user(request, f"Deliveries resumed for {count} integration(s).")


@admin.register(models.Pixel)
class PixelAdmin(AuditedIntegrationAdmin):
    list_display = ["pixel_code", "integration", "token_hint", "updated_at"]
    search_fields = ["pixel_code", "integration__app__app_id"]
    list_select_related = ["integration__app", "integration__partner"]

    class form(PixelAdminForm):  # noqa: N801
        class Meta:
            model = models.Pixel
            fields = ["integration", "pixel_code", "access_token"]

        def clean(self) -> dict[str, Any]:
            cleaned = super().clean()
            integration = cleaned.get("integration")
            if integration is None or not integration.is_active or self.errors:
                return cleaned
            pixel = copy(self.instance)
            pixel.pixel_code = cleaned.get("pixel_code") or ""
            pixel.access_token = cleaned.get("access_token") or ""
            errors = activation_errors(integration, pixel, was_active=True, fields=PIXEL_FIELDS)
            for field, message in errors.items():
                self.add_error(field, message)
            return cleaned

    @admin.display(description="Access token")
    def token_hint(self, obj: models.Pixel) -> str:
        return obj.access_token.hint or "—"


class EventMappingAdminForm(forms.ModelForm):
    class Meta:
        model = models.EventMapping
        fields = "__all__"  # noqa: DJ007 - the operations admin edits every field

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        integration = cleaned.get("integration")
        if integration is None or not cleaned.get("partner_event_name"):
            return cleaned
        row = MappingRow(
            app_event_name=cleaned.get("app_event_name", ""),
            partner_event_name=cleaned["partner_event_name"],
            users_from=cleaned.get("users_from") or MappingRow.users_from,
            including=cleaned.get("including") or MappingRow.including,
            conditions=cleaned.get("conditions") or [],
        )
        others = [
            MappingRow(app_event_name=a, partner_event_name=p)
            for a, p in integration.mappings.exclude(pk=self.instance.pk).values_list(
                "app_event_name", "partner_event_name"
            )
        ]
        row_errors = check_rows(integration.partner, [*others, row]).get(len(others), {})
        for name, message in row_errors.items():
            self.add_error(name if name in self.fields else None, message)
        return cleaned


@admin.register(models.EventMapping)
class EventMappingAdmin(AuditedIntegrationAdmin):
    form = EventMappingAdminForm
    list_display = [
        "app_event_name",
        "partner_event_name",
        "integration",
        "users_from",
        "including",
        "is_enabled",
    ]
    list_filter = ["is_enabled", "users_from", "including", "integration__partner"]
    search_fields = ["app_event_name", "partner_event_name", "integration__app__app_id"]
    list_select_related = ["integration__app", "integration__partner"]


@admin.register(models.SeenEventName)
class SeenEventNameAdmin(admin.ModelAdmin):
    list_display = ["name", "app", "first_seen_at", "last_seen_at"]
    search_fields = ["name", "app__app_id"]
    list_select_related = ["app"]


@admin.register(models.MatchKeyTally)
class MatchKeyTallyAdmin(admin.ModelAdmin):
    """Written by deliveries only; shown for reading."""

    list_display = [
        "integration",
        "day",
        "delivered",
        "email",
        "phone",
        "external_id",
        "ip_user_agent",
        "click_id",
        "advertising_id",
        "ttp",
    ]
    list_filter = ["integration__partner"]
    date_hierarchy = "day"
    list_select_related = ["integration__app", "integration__partner"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class CostAdvertiserInline(admin.TabularInline):
    model = models.CostAdvertiser
    extra = 0


@admin.register(models.CostConnection)
class CostConnectionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "integration", "status", "token_hint", "last_success_at"]
    list_filter = ["status"]
    list_select_related = ["integration__app", "integration__partner"]
    exclude = ["access_token"]
    readonly_fields = ["token_hint", "created_at"]
    inlines = [CostAdvertiserInline]

    @admin.display(description="Access token")
    def token_hint(self, obj: models.CostConnection) -> str:
        return obj.access_token.hint or "—"


@admin.register(models.CostPull)
class CostPullAdmin(admin.ModelAdmin):
    list_display = [
        "queued_at", "connection", "trigger", "status", "rows_read", "pages", "retries",
        "duration_ms", "error",
    ]  # fmt: skip
    list_filter = ["status", "trigger"]
    list_select_related = ["connection__integration__app", "connection__integration__partner"]
    readonly_fields = [field.name for field in models.CostPull._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(models.CostAdvertiser)
class CostAdvertiserAdmin(admin.ModelAdmin):
    list_display = ["advertiser_id", "name", "currency", "timezone", "is_selected", "connection"]
    list_filter = ["is_selected", "currency"]
    search_fields = ["advertiser_id", "name"]
    list_select_related = ["connection__integration__app", "connection__integration__partner"]


@admin.register(models.AdRevenueSettings)
class AdRevenueSettingsAdmin(SecretFieldsAdmin):
    list_display = ["integration", "is_enabled", "tiktok_app_id", "account_id", "key_hint"]
    list_select_related = ["integration__app", "integration__partner"]

    class form(SecretReplaceForm):  # noqa: N801
        secret_fields = ("secure_key",)

        class Meta:
            model = models.AdRevenueSettings
            fields = [
                "integration",
                "is_enabled",
                "tiktok_app_id",
                "secure_key",
                "account_id",
                "event_source",
            ]

    @admin.display(description="Secure key")
    def key_hint(self, obj: models.AdRevenueSettings) -> str:
        return obj.secure_key.hint or "—"


@admin.register(models.AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "action", "actor", "app", "integration"]
    list_filter = ["action"]
    search_fields = ["action", "app__app_id", "actor__username"]
    list_select_related = ["actor", "app", "integration__partner", "integration__app"]
    readonly_fields = ["app", "integration", "actor", "action", "changes", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
