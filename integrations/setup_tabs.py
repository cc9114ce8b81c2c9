"""The integration setup page's tabs: a registry of steps, each with its form and template.

A tab declares when it applies (from the partner's capabilities), when it is complete, who may
see it, and how it binds and saves its forms. Progress and "next" come from the ordered list, so
adding a tab (Cost, Ad revenue) is one class, one template and one form.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, QueryDict

from integrations import hooks
from integrations.forms import (
    AdRevenueForm,
    AttributionLinkForm,
    CostSettingsForm,
    IntegrationSettingsForm,
    LinkParameterFormSet,
    MappingFormSet,
    PermissionsForm,
    PostbackSettingsForm,
    TestEventForm,
)
from integrations.models import CostConnection, Integration, PartnerPermission, PartnerUser
from integrations.policy import Action, AppAccess
from integrations.request_values import parse_ids, parse_whole_number
from integrations.services import ad_revenue, cost_connections, grants, links, mapping, setup
from integrations.services.mapping import OPERATORS
from integrations.tiktok import match_quality
from integrations.tiktok.diagnostics import last_test_event, test_event_choices

Context = dict[str, Any]


class SetupTab:
    key: str = ""
    label: str = ""
    template: str = ""

    def is_applicable(self, integration: Integration) -> bool:
        return True

    def is_complete(self, integration: Integration) -> bool:
        return False

    def can_view(self, access: AppAccess, integration: Integration) -> bool:
        raise NotImplementedError

    def bind(self, request: HttpRequest, access: AppAccess, integration: Integration) -> Context:
        """The tab's forms, bound to the POST data when there is any."""
        raise NotImplementedError

    def save(
        self, request: HttpRequest, access: AppAccess, integration: Integration, context: Context
    ) -> str | None:
        """Validate and save; return the success message, or None to show the errors."""
        raise NotImplementedError

    def after_failed_save(self, context: Context) -> Context:
        """What the page adds to the context when a save failed (nothing unless a tab says)."""
        return {}


def apply_validation_error(error: ValidationError, forms: dict[str, Any]) -> None:
    """Put a service's ValidationError next to the field it names, in whichever form has it."""
    if not hasattr(error, "error_dict"):
        next(iter(forms.values())).add_error(None, error)
        return
    for field_name, messages in error.message_dict.items():
        target = next((f for f in forms.values() if field_name in f.fields), None)
        for message in messages:
            if target is None:
                next(iter(forms.values())).add_error(None, message)
            else:
                target.add_error(field_name, message)


class IntegrationTab(SetupTab):
    key = "integration"
    label = "Integration"
    template = "integrations/setup/integration.html"

    def is_complete(self, integration: Integration) -> bool:
        return integration.is_active

    def can_view(self, access: AppAccess, integration: Integration) -> bool:
        return access.can(Action.CONFIGURE_INTEGRATION, integration) or access.can(
            Action.CONFIGURE_POSTBACKS, integration
        )

    def bind(self, request: HttpRequest, access: AppAccess, integration: Integration) -> Context:
        data = request.POST if request.method == "POST" else None
        can_settings = access.can(Action.CONFIGURE_INTEGRATION, integration)
        # Cost-only partners take no events: no postback settings or mapping to bind or check.
        can_postbacks = integration.partner.supports_events_api and access.can(
            Action.CONFIGURE_POSTBACKS, integration
        )
        unsaved_notice = ""
        if data is not None and can_postbacks and LOAD_DEFAULTS in data:
            data, added = with_default_rows(data, integration)
            unsaved_notice = (
                f"Added {added} default rows to the table (the “more events” rows off). "
                "Nothing is saved until you press Save integration."
                if added
                else "Every default row is already in the table."
            )
        settings_form = IntegrationSettingsForm(
            data if can_settings else None,
            integration=integration,
            initial=IntegrationSettingsForm.initial_for(integration),
            prefix="settings",
        )
        postback_form = PostbackSettingsForm(
            data if can_postbacks else None,
            initial=PostbackSettingsForm.initial_for(integration),
            prefix="postbacks",
        )
        mapping_formset = MappingFormSet(
            data if can_postbacks else None,
            integration=integration,
            # Bound formsets must not get `initial`: a posted row equal to its initial value
            # would count as unchanged and be dropped.
            initial=None if data and can_postbacks else MappingFormSet.initial_for(integration),
            prefix="mapping",
        )
        if not can_settings:
            _disable(settings_form)
        if not can_postbacks:
            _disable(postback_form)
            for form in mapping_formset.forms:
                _disable(form)
        partner_events = list(integration.partner.events.all())
        last_test = last_test_event(integration)
        return {
            "settings_form": settings_form,
            "postback_form": postback_form,
            "mapping_formset": mapping_formset,
            "mapping_warnings": mapping_formset.warnings(),
            "can_edit_settings": can_settings,
            "can_edit_postbacks": can_postbacks,
            "current_events": [e for e in partner_events if not e.is_legacy],
            "legacy_events": [e for e in partner_events if e.is_legacy],
            "seen_event_names": list(
                integration.app.seen_event_names.values_list("name", flat=True)
            ),
            # For mapping.js, through json_script: names come from the admin, and JSON pasted as is
            # would let one end the <script> block.
            "mapping_meta": {
                "operators": OPERATORS,
                "standard": [e.name for e in partner_events if not e.is_legacy],
                "legacy": {e.name: e.replacement for e in partner_events if e.is_legacy},
            },
            "test_event_form": TestEventForm(
                initial={
                    "event_name": _default_test_event(integration),
                    "test_event_code": (last_test or {}).get("sent", {}).get("test_event_code"),
                }
            ),
            "test_event_choices": test_event_choices(partner_events),
            "last_test_event": last_test,
            "coverage": _match_key_coverage(integration),
            "token_hint": settings_form.token_hint,
            "unsaved_notice": unsaved_notice,
        }

    def save(
        self, request: HttpRequest, access: AppAccess, integration: Integration, context: Context
    ) -> str | None:
        if context["unsaved_notice"]:
            return None  # "Load default mapping" fills the table in; the user reviews and saves
        settings_form = context["settings_form"]
        postback_form = context["postback_form"]
        formset = context["mapping_formset"]
        forms_to_check = []
        if context["can_edit_settings"]:
            forms_to_check.append(settings_form.is_valid())
        if context["can_edit_postbacks"]:
            forms_to_check += [postback_form.is_valid(), formset.is_valid()]
        if not all(forms_to_check):
            return None
        postback_arguments = None
        if context["can_edit_postbacks"]:
            postback_arguments = {
                "settings": postback_form.cleaned_data,
                "rows": formset.rows(),
            }
        try:
            setup.save_integration_tab(
                integration,
                acting_user=request.user,
                settings_arguments=(
                    settings_form.service_arguments() if context["can_edit_settings"] else None
                ),
                postback_arguments=postback_arguments,
            )
        except mapping.MappingRowsInvalid as error:
            kept = formset.kept_forms()
            for index, row_errors in error.row_errors.items():
                for field_name, message in row_errors.items():
                    kept[index].add_error(field_name, message)
            return None
        except ValidationError as error:
            apply_validation_error(error, {"settings": settings_form, "postbacks": postback_form})
            return None
        return "Integration saved."

    def after_failed_save(self, context: Context) -> Context:
        return {"token_dropped": True} if self.token_was_dropped(context) else {}

    @staticmethod
    def token_was_dropped(context: Context) -> bool:
        """A failed save never echoes a typed token back into the page; say so next to it."""
        form = context["settings_form"]
        return form.is_bound and bool(form.data.get(form.add_prefix("access_token"), "").strip())


LOAD_DEFAULTS = "load_default_mapping"


def with_default_rows(data: QueryDict, integration: Integration) -> tuple[QueryDict, int]:
    """The posted form with the catalog's default rows added to the mapping table where the
    table lacks them, so everything else the user typed stays as typed."""
    total_text = data.get("mapping-TOTAL_FORMS", "").strip() or "0"
    total = parse_whole_number(total_text, maximum=MappingFormSet.absolute_max)
    if total is None:
        # Not a count our page sends (or more rows than the formset takes): leave the data as
        # posted, for the formset to refuse, rather than loop over millions of rows first.
        return data, 0
    data = data.copy()
    present = {
        (
            data.get(f"mapping-{index}-app_event_name", "").strip(),
            data.get(f"mapping-{index}-partner_event_name", "").strip(),
        )
        for index in range(total)
        if not data.get(f"mapping-{index}-DELETE")
    }
    added = 0
    for row, _is_primary in mapping.default_mapping_rows(integration):
        if (row.app_event_name, row.partner_event_name) in present:
            continue
        prefix = f"mapping-{total + added}-"
        data[prefix + "app_event_name"] = row.app_event_name
        data[prefix + "partner_event_name"] = row.partner_event_name
        data[prefix + "users_from"] = row.users_from
        data[prefix + "including"] = row.including
        data[prefix + "conditions"] = json.dumps(row.conditions)
        if row.is_enabled:
            data[prefix + "is_enabled"] = "on"
        added += 1
    data["mapping-TOTAL_FORMS"] = str(total + added)
    data.setdefault("mapping-INITIAL_FORMS", "0")
    return data, added


def _match_key_coverage(integration: Integration) -> match_quality.Coverage | None:
    if not integration.partner.supports_events_api:
        return None
    pair = (integration.pk, integration.partner.event_source)
    return match_quality.coverage_for(integration.app, [pair])[integration.pk]


def _default_test_event(integration: Integration) -> str:
    """TikTok's name, as the picker shows it (the app catalog's `View_content` is sent as
    `ViewContent`)."""
    names = set(integration.partner.events.values_list("api_name", flat=True))
    if "ViewContent" in names:
        return "ViewContent"
    return next(iter(sorted(names)), "ViewContent")


def _disable(form: Any) -> None:
    for field in form.fields.values():
        field.disabled = True


class AttributionLinkTab(SetupTab):
    key = "attribution-link"
    label = "Attribution link"
    template = "integrations/setup/attribution_link.html"

    def is_complete(self, integration: Integration) -> bool:
        return bool(integration.link_parameters)

    def can_view(self, access: AppAccess, integration: Integration) -> bool:
        return access.can(Action.CONFIGURE_INTEGRATION, integration)

    def bind(self, request: HttpRequest, access: AppAccess, integration: Integration) -> Context:
        data = request.POST if request.method == "POST" else None
        return {
            "link_form": AttributionLinkForm(
                data,
                integration=integration,
                initial={
                    "link_base_url": integration.link_base_url or integration.app.website_url,
                    "click_lookback_days": integration.click_lookback_days,
                    "view_lookback_hours": integration.view_lookback_hours,
                },
            ),
            "parameter_formset": LinkParameterFormSet(
                data,
                prefix="param",
                initial=None
                if data
                else [
                    {"key": key, "value": value} for key, value in links.parameters_of(integration)
                ],
            ),
            "is_app": integration.partner.is_app,
            "landing_url": links.web_landing_url(integration),
            "click_link": links.click_link(integration),
            "impression_link": links.impression_link(integration),
            "is_saved": bool(integration.link_parameters),
        }

    def save(
        self, request: HttpRequest, access: AppAccess, integration: Integration, context: Context
    ) -> str | None:
        form, formset = context["link_form"], context["parameter_formset"]
        if not (form.is_valid() and formset.is_valid()):
            return None
        data = form.cleaned_data
        links.update_attribution_link(
            integration,
            acting_user=request.user,
            link_base_url=data.get("link_base_url", integration.link_base_url),
            link_parameters=formset.pairs(),
            click_lookback_days=data["click_lookback_days"],
            view_lookback_hours=data.get("view_lookback_hours", integration.view_lookback_hours),
        )
        return "Attribution link saved."


class PermissionsTab(SetupTab):
    key = "permissions"
    label = "Permissions"
    template = "integrations/setup/permissions.html"

    def is_applicable(self, integration: Integration) -> bool:
        return integration.partner.supports_permissions

    def is_complete(self, integration: Integration) -> bool:
        return PartnerPermission.objects.filter(
            app=integration.app, partner=integration.partner
        ).exists()

    def can_view(self, access: AppAccess, integration: Integration) -> bool:
        return access.can(Action.MANAGE_PERMISSIONS, integration)

    def bind(self, request: HttpRequest, access: AppAccess, integration: Integration) -> Context:
        members = list(
            PartnerUser.objects.filter(partner=integration.partner)
            .select_related("user")
            .order_by("user__username")
        )
        data = request.POST if request.method == "POST" else None
        form = PermissionsForm(
            data,
            members=members,
            initial=PermissionsForm.initial_for(
                integration.app_id, integration.partner_id, members
            ),
        )
        return {"permissions_form": form, "grant_labels": _grant_labels()}

    def save(
        self, request: HttpRequest, access: AppAccess, integration: Integration, context: Context
    ) -> str | None:
        form = context["permissions_form"]
        if not form.is_valid():
            return None
        grants.update_partner_permissions(
            integration.app,
            integration.partner,
            acting_user=request.user,
            integration=integration,
            **form.service_arguments(),
        )
        return "Permissions saved."


def _grant_labels() -> list[str]:
    return [
        str(PartnerPermission._meta.get_field(grant).verbose_name)
        for grant in PartnerPermission.GRANTS
    ]


class CostTab(SetupTab):
    """Connect TikTok for Business accounts, pick advertisers, see the pulls."""

    key = "cost"
    label = "Cost"
    template = "integrations/setup/cost.html"

    def is_applicable(self, integration: Integration) -> bool:
        return integration.partner.supports_cost

    def is_complete(self, integration: Integration) -> bool:
        return (
            integration.cost_enabled
            and integration.cost_connections.filter(
                status=CostConnection.Status.CONNECTED, advertisers__is_selected=True
            ).exists()
        )

    def can_view(self, access: AppAccess, integration: Integration) -> bool:
        return access.can(Action.MANAGE_COST, integration)

    def bind(self, request: HttpRequest, access: AppAccess, integration: Integration) -> Context:
        overview = cost_connections.cost_overview(integration)
        live = [c for c in overview.connections if c.is_connected]
        choices = [a.pk for c in live for a in c.advertisers.all()]
        data = request.POST if request.method == "POST" else None
        form = CostSettingsForm(
            data,
            advertiser_ids=choices,
            initial={
                "is_enabled": integration.cost_enabled,
                "advertisers": [a.pk for c in live for a in c.advertisers.all() if a.is_selected],
            },
        )
        chosen = form.data.getlist("advertisers") if form.is_bound else form.initial["advertisers"]
        return {
            "cost_form": form,
            "cost_overview": overview,
            "chosen_advertisers": set(parse_ids(chosen, limit=len(choices))),
        }

    def save(
        self, request: HttpRequest, access: AppAccess, integration: Integration, context: Context
    ) -> str | None:
        form = context["cost_form"]
        if not form.is_valid():
            return None
        try:
            pulls = cost_connections.save_cost_settings(
                integration,
                acting_user=request.user,
                is_enabled=form.cleaned_data["is_enabled"],
                selected_advertiser_ids=set(form.cleaned_data["advertisers"]),
            )
        except ValidationError as error:
            form.add_error(None, error)
            return None
        if pulls:
            return "Cost saved. Pulling the last 7 days now."
        return "Cost saved."


class AdRevenueTab(SetupTab):
    key = "ad-revenue"
    label = "Ad revenue"
    template = "integrations/setup/ad_revenue.html"

    def is_applicable(self, integration: Integration) -> bool:
        return integration.partner.supports_ad_revenue

    def is_complete(self, integration: Integration) -> bool:
        return ad_revenue.settings_for(integration).is_enabled

    def can_view(self, access: AppAccess, integration: Integration) -> bool:
        return access.can(Action.MANAGE_COST, integration)

    def bind(self, request: HttpRequest, access: AppAccess, integration: Integration) -> Context:
        stored = ad_revenue.settings_for(integration)
        data = request.POST if request.method == "POST" else None
        form = AdRevenueForm(
            data,
            has_stored_key=bool(stored.secure_key),
            initial={
                "is_enabled": stored.is_enabled,
                "tiktok_app_id": stored.tiktok_app_id or integration.tiktok_app_id,
                "account_id": stored.account_id,
                "event_source": stored.event_source or "af_ad_revenue",
            },
        )
        arrivals = hooks.ad_revenue_arrivals(integration.app, stored.event_source)
        return {
            "ad_revenue_form": form,
            "secure_key_hint": stored.secure_key.hint,
            "ad_revenue_arrivals": arrivals,
        }

    def save(
        self, request: HttpRequest, access: AppAccess, integration: Integration, context: Context
    ) -> str | None:
        form = context["ad_revenue_form"]
        if not form.is_valid():
            return None
        ad_revenue.save_ad_revenue_settings(
            integration, acting_user=request.user, **form.cleaned_data
        )
        return "Ad revenue settings saved."


TABS: list[SetupTab] = [
    IntegrationTab(),
    AttributionLinkTab(),
    CostTab(),
    AdRevenueTab(),
    PermissionsTab(),
]


def tabs_for(integration: Integration) -> list[SetupTab]:
    return [tab for tab in TABS if tab.is_applicable(integration)]


def get_tab(key: str, integration: Integration) -> SetupTab:
    for tab in tabs_for(integration):
        if tab.key == key:
            return tab
    raise Http404("No such tab for this partner")


def progress(integration: Integration, access: AppAccess, current: SetupTab) -> Context:
    """Which tabs this user sees, which are complete, and the next one to do."""
    visible = [tab for tab in tabs_for(integration) if tab.can_view(access, integration)]
    done = {tab.key for tab in visible if tab.is_complete(integration)}
    after = visible[visible.index(current) + 1 :] if current in visible else []
    next_tab = next((tab for tab in after if tab.key not in done), None)
    return {
        "tabs": [{"tab": tab, "is_complete": tab.key in done} for tab in visible],
        "done_count": len(done),
        "tab_count": len(visible),
        "next_tab": next_tab,
    }
