"""The integration setup page's tabs: a registry of steps, each with its form and template.

A tab declares when it applies (from the partner's capabilities), when it is complete, who may
see it, and how it binds and saves its forms. Progress and "next" come from the ordered list, so
adding a tab (Cost, Ad revenue) is one class, one template and one form.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest

from integrations import hooks
from integrations.forms import (
    AdRevenueForm,
    AttributionLinkForm,
    BaseMappingFormSet,
    CostSettingsForm,
    IntegrationSettingsForm,
    LinkParameterFormSet,
    MappingFormSet,
    PermissionsForm,
    PostbackSettingsForm,
    TestEventForm,
)
from integrations.models import (
    App,
    CostConnection,
    Integration,
    PartnerEvent,
    PartnerPermission,
    PartnerUser,
    SeenEventName,
)
from integrations.policy import Action, AppAccess
from integrations.request_values import parse_ids
from integrations.services import ad_revenue, cost_connections, grants, links, mapping, setup
from integrations.services.mapping import OPERATORS
from integrations.tiktok import match_quality
from integrations.tiktok.diagnostics import last_test_event, test_event_choices

Context = dict[str, Any]


@dataclass(kw_only=True)
class TabPage:
    """What a tab's `bind()` hands to its `save()` and, field by field, to its template."""

    # Set when the tab changed the page without saving ("Load default mapping"): the view shows
    # it as a notice instead of an error.
    unsaved_notice: str = ""

    def template_context(self, *, posted: bool) -> Context:
        """`posted`: the page shows a POST that saved nothing (a save redirects)."""
        return {each.name: getattr(self, each.name) for each in fields(self)}


PageT = TypeVar("PageT", bound=TabPage)


class SetupTab(Generic[PageT]):
    key: str = ""
    label: str = ""
    template: str = ""

    def is_applicable(self, integration: Integration) -> bool:
        return True

    def is_complete(self, integration: Integration) -> bool:
        return False

    def can_view(self, access: AppAccess, integration: Integration) -> bool:
        raise NotImplementedError

    def bind(self, request: HttpRequest, access: AppAccess, integration: Integration) -> PageT:
        """The tab's forms, bound to the POST data when there is any."""
        raise NotImplementedError

    def save(
        self, request: HttpRequest, access: AppAccess, integration: Integration, page: PageT
    ) -> str | None:
        """Validate and save; return the success message, or None to show the errors."""
        raise NotImplementedError


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


@dataclass(kw_only=True)
class IntegrationPage(TabPage):
    settings_form: IntegrationSettingsForm
    postback_form: PostbackSettingsForm
    mapping_formset: BaseMappingFormSet
    can_edit_settings: bool
    can_edit_postbacks: bool
    current_events: list[PartnerEvent]
    legacy_events: list[PartnerEvent]
    seen_event_names: list[str]
    # Web-to-app: event names the website's linked apps send → those apps' names.
    app_event_sources: dict[str, str] = field(default_factory=dict)
    # For mapping.js, through json_script: names come from the admin, and JSON pasted as is
    # would let one end the <script> block.
    mapping_meta: dict[str, Any]
    test_event_form: TestEventForm
    test_event_choices: Any
    last_test_event: dict[str, Any] | None
    coverage: match_quality.Coverage | None
    # Sandbox mode: the tab offers "Create a sandbox pixel and token".
    offers_sandbox_credentials: bool = False

    @property
    def token_was_dropped(self) -> bool:
        """A failed save never echoes a typed token back into the page; say so next to it."""
        form = self.settings_form
        return form.is_bound and bool(form.data.get(form.add_prefix("access_token"), "").strip())

    def template_context(self, *, posted: bool) -> Context:
        return {
            **super().template_context(posted=posted),
            "mapping_warnings": self.mapping_formset.warnings(),
            "token_hint": self.settings_form.token_hint,
            "token_dropped": posted and self.token_was_dropped,
        }


class IntegrationTab(SetupTab[IntegrationPage]):
    key = "integration"
    label = "Integration"
    template = "integrations/setup/integration.html"

    def is_complete(self, integration: Integration) -> bool:
        return integration.is_active

    def can_view(self, access: AppAccess, integration: Integration) -> bool:
        return access.can(Action.CONFIGURE_INTEGRATION, integration) or access.can(
            Action.CONFIGURE_POSTBACKS, integration
        )

    def bind(
        self, request: HttpRequest, access: AppAccess, integration: Integration
    ) -> IntegrationPage:
        data = request.POST if request.method == "POST" else None
        can_settings = access.can(Action.CONFIGURE_INTEGRATION, integration)
        # Cost-only partners take no events: no postback settings or mapping to bind or check.
        can_postbacks = integration.partner.supports_events_api and access.can(
            Action.CONFIGURE_POSTBACKS, integration
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
        unsaved_notice = ""
        if data is not None and can_postbacks and LOAD_DEFAULTS in data:
            defaults = [row for row, _is_primary in mapping.default_mapping_rows(integration)]
            mapping_formset, added = mapping_formset.with_rows_added(defaults)
            unsaved_notice = (
                f"Added {added} default rows to the table (the “more events” rows off). "
                "Nothing is saved until you press Save integration."
                if added
                else "Every default row is already in the table."
            )
        if not can_settings:
            _disable(settings_form)
        if not can_postbacks:
            _disable(postback_form)
            for form in mapping_formset.forms:
                _disable(form)
        partner_events = list(integration.partner.events.all())
        last_test = last_test_event(integration)
        app_event_sources = linked_app_events(integration)
        return IntegrationPage(
            settings_form=settings_form,
            postback_form=postback_form,
            mapping_formset=mapping_formset,
            can_edit_settings=can_settings,
            can_edit_postbacks=can_postbacks,
            current_events=[e for e in partner_events if not e.is_legacy],
            legacy_events=[e for e in partner_events if e.is_legacy],
            seen_event_names=sorted(
                set(integration.app.seen_event_names.values_list("name", flat=True))
                | set(app_event_sources)
            ),
            app_event_sources=app_event_sources,
            mapping_meta={
                "operators": OPERATORS,
                "standard": [e.name for e in partner_events if not e.is_legacy],
                "legacy": {e.name: e.replacement for e in partner_events if e.is_legacy},
            },
            test_event_form=TestEventForm(
                initial={
                    "event_name": _default_test_event(integration),
                    "test_event_code": (last_test or {}).get("sent", {}).get("test_event_code"),
                }
            ),
            test_event_choices=test_event_choices(partner_events),
            last_test_event=last_test,
            coverage=_match_key_coverage(integration),
            offers_sandbox_credentials=(
                can_settings
                and integration.partner.supports_events_api
                and hooks.sandbox_credentials() is not None
            ),
            unsaved_notice=unsaved_notice,
        )

    def save(
        self,
        request: HttpRequest,
        access: AppAccess,
        integration: Integration,
        page: IntegrationPage,
    ) -> str | None:
        if page.unsaved_notice:
            return None  # "Load default mapping" fills the table in; the user reviews and saves
        settings_form = page.settings_form
        postback_form = page.postback_form
        formset = page.mapping_formset
        forms_to_check = []
        if page.can_edit_settings:
            forms_to_check.append(settings_form.is_valid())
        if page.can_edit_postbacks:
            forms_to_check += [postback_form.is_valid(), formset.is_valid()]
        if not all(forms_to_check):
            return None
        postback_arguments = None
        if page.can_edit_postbacks:
            postback_arguments = {
                "settings": postback_form.cleaned_data,
                "rows": formset.rows(),
            }
        try:
            setup.save_integration_tab(
                integration,
                acting_user=_acting_user(request),
                settings_arguments=(
                    settings_form.service_arguments() if page.can_edit_settings else None
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


LOAD_DEFAULTS = "load_default_mapping"


def _acting_user(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in user the audit trail names (every setup view is behind login_required)."""
    if not isinstance(request.user, AbstractBaseUser):
        raise PermissionDenied("Sign in to change this integration.")
    return request.user


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


def linked_app_events(integration: Integration) -> dict[str, str]:
    """For a website's pixel integration: the event names its linked apps have sent, each with
    the apps' names (the mapping table marks those rows as app events)."""
    app = integration.app
    linked = [linked for linked in (app.ios_app, app.android_app) if linked is not None]
    if integration.partner.is_app or not linked:
        return {}
    names: dict[str, list[str]] = {}
    rows = SeenEventName.objects.filter(app__in=linked).select_related("app").order_by("name")
    for row in rows:
        names.setdefault(row.name, []).append(row.app.name)
    return {name: ", ".join(apps) for name, apps in names.items()}


def _disable(form: Any) -> None:
    for form_field in form.fields.values():
        form_field.disabled = True


@dataclass(kw_only=True)
class AttributionLinkPage(TabPage):
    link_form: AttributionLinkForm
    parameter_formset: Any
    is_app: bool
    landing_url: str
    click_link: str
    impression_link: str
    is_saved: bool
    web_to_app_link: str = ""
    linked_apps: list[App] = field(default_factory=list)


class AttributionLinkTab(SetupTab[AttributionLinkPage]):
    key = "attribution-link"
    label = "Attribution link"
    template = "integrations/setup/attribution_link.html"

    def is_complete(self, integration: Integration) -> bool:
        return bool(integration.link_parameters)

    def can_view(self, access: AppAccess, integration: Integration) -> bool:
        return access.can(Action.CONFIGURE_INTEGRATION, integration)

    def bind(
        self, request: HttpRequest, access: AppAccess, integration: Integration
    ) -> AttributionLinkPage:
        data = request.POST if request.method == "POST" else None
        return AttributionLinkPage(
            link_form=AttributionLinkForm(
                data,
                integration=integration,
                initial={
                    "link_base_url": integration.link_base_url or integration.app.website_url,
                    "click_lookback_days": integration.click_lookback_days,
                    "view_lookback_hours": integration.view_lookback_hours,
                },
            ),
            parameter_formset=LinkParameterFormSet(
                data,
                prefix="param",
                initial=None
                if data
                else [
                    {"key": key, "value": value} for key, value in links.parameters_of(integration)
                ],
            ),
            is_app=integration.partner.is_app,
            landing_url=links.web_landing_url(integration),
            click_link=links.click_link(integration),
            impression_link=links.impression_link(integration),
            is_saved=bool(integration.link_parameters),
            web_to_app_link=""
            if integration.partner.is_app
            else links.web_to_app_link(integration),
            linked_apps=[
                app
                for app in (integration.app.ios_app, integration.app.android_app)
                if app is not None
            ],
        )

    def save(
        self,
        request: HttpRequest,
        access: AppAccess,
        integration: Integration,
        page: AttributionLinkPage,
    ) -> str | None:
        form, formset = page.link_form, page.parameter_formset
        if not (form.is_valid() and formset.is_valid()):
            return None
        data = form.cleaned_data
        links.update_attribution_link(
            integration,
            acting_user=_acting_user(request),
            link_base_url=data.get("link_base_url", integration.link_base_url),
            link_parameters=formset.pairs(),
            click_lookback_days=data["click_lookback_days"],
            view_lookback_hours=data.get("view_lookback_hours", integration.view_lookback_hours),
        )
        return "Attribution link saved."


@dataclass(kw_only=True)
class PermissionsPage(TabPage):
    permissions_form: PermissionsForm
    grant_labels: list[str]


class PermissionsTab(SetupTab[PermissionsPage]):
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

    def bind(
        self, request: HttpRequest, access: AppAccess, integration: Integration
    ) -> PermissionsPage:
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
        return PermissionsPage(permissions_form=form, grant_labels=_grant_labels())

    def save(
        self,
        request: HttpRequest,
        access: AppAccess,
        integration: Integration,
        page: PermissionsPage,
    ) -> str | None:
        form = page.permissions_form
        if not form.is_valid():
            return None
        grants.update_partner_permissions(
            integration.app,
            integration.partner,
            acting_user=_acting_user(request),
            integration=integration,
            **form.service_arguments(),
        )
        return "Permissions saved."


def _grant_labels() -> list[str]:
    fields_by_name = {field.name: field for field in PartnerPermission._meta.fields}
    return [str(fields_by_name[grant].verbose_name) for grant in PartnerPermission.GRANTS]


@dataclass(kw_only=True)
class CostPage(TabPage):
    cost_form: CostSettingsForm
    cost_overview: cost_connections.CostOverview
    chosen_advertisers: set[int]


class CostTab(SetupTab[CostPage]):
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

    def bind(self, request: HttpRequest, access: AppAccess, integration: Integration) -> CostPage:
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
        chosen = data.getlist("advertisers") if data is not None else form.initial["advertisers"]
        return CostPage(
            cost_form=form,
            cost_overview=overview,
            chosen_advertisers=set(parse_ids(chosen, limit=len(choices))),
        )

    def save(
        self, request: HttpRequest, access: AppAccess, integration: Integration, page: CostPage
    ) -> str | None:
        form = page.cost_form
        if not form.is_valid():
            return None
        try:
            pulls = cost_connections.save_cost_settings(
                integration,
                acting_user=_acting_user(request),
                is_enabled=form.cleaned_data["is_enabled"],
                selected_advertiser_ids=set(form.cleaned_data["advertisers"]),
            )
        except ValidationError as error:
            form.add_error(None, error)
            return None
        if pulls:
            return "Cost saved. Pulling the last 7 days now."
        return "Cost saved."


@dataclass(kw_only=True)
class AdRevenuePage(TabPage):
    ad_revenue_form: AdRevenueForm
    secure_key_hint: str
    ad_revenue_arrivals: Any


class AdRevenueTab(SetupTab[AdRevenuePage]):
    key = "ad-revenue"
    label = "Ad revenue"
    template = "integrations/setup/ad_revenue.html"

    def is_applicable(self, integration: Integration) -> bool:
        return integration.partner.supports_ad_revenue

    def is_complete(self, integration: Integration) -> bool:
        return ad_revenue.settings_for(integration).is_enabled

    def can_view(self, access: AppAccess, integration: Integration) -> bool:
        return access.can(Action.MANAGE_COST, integration)

    def bind(
        self, request: HttpRequest, access: AppAccess, integration: Integration
    ) -> AdRevenuePage:
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
        return AdRevenuePage(
            ad_revenue_form=form,
            secure_key_hint=stored.secure_key.hint,
            ad_revenue_arrivals=arrivals,
        )

    def save(
        self,
        request: HttpRequest,
        access: AppAccess,
        integration: Integration,
        page: AdRevenuePage,
    ) -> str | None:
        form = page.ad_revenue_form
        if not form.is_valid():
            return None
        ad_revenue.save_ad_revenue_settings(
            integration, acting_user=_acting_user(request), **form.cleaned_data
        )
        return "Ad revenue settings saved."


TABS: list[SetupTab[Any]] = [
    IntegrationTab(),
    AttributionLinkTab(),
    CostTab(),
    AdRevenueTab(),
    PermissionsTab(),
]


def tabs_for(integration: Integration) -> list[SetupTab[Any]]:
    return [tab for tab in TABS if tab.is_applicable(integration)]


def get_tab(key: str, integration: Integration) -> SetupTab[Any]:
    for tab in tabs_for(integration):
        if tab.key == key:
            return tab
    raise Http404("No such tab for this partner")


def progress(integration: Integration, access: AppAccess, current: SetupTab[Any]) -> Context:
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
