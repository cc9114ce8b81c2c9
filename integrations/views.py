from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from attribution_site.client_ip import get_client_ip
from integrations import setup_tabs
from integrations.forms import CAPABILITIES, MarketplaceSearchForm, TestEventForm
from integrations.models import CostConnection, Partner
from integrations.policy import (
    Action,
    get_app_for_user,
    get_integration_for_user,
    visible_apps,
    with_visible_integration_counts,
)
from integrations.services import cost_connections, setup
from integrations.services.apps import rotate_api_key
from integrations.tiktok import match_quality
from integrations.tiktok.diagnostics import send_test_event as send_test_event_service


@login_required
def app_list(request: HttpRequest) -> HttpResponse:
    apps = with_visible_integration_counts(request.user, visible_apps(request.user))
    return render(request, "integrations/app_list.html", {"apps": apps})


@login_required
def app_detail(request: HttpRequest, app_id: str) -> HttpResponse:
    access = get_app_for_user(request.user, app_id)
    integrations = access.visible_integrations().select_related("partner", "pixel")
    return render(
        request,
        "integrations/app_detail.html",
        {
            "app": access.app,
            "access": access,
            "integrations": integrations,
            "can_manage_app": access.can(Action.MANAGE_APP),
            # A freshly rotated key is shown exactly once, then dropped from the session.
            "new_api_key": request.session.pop("new_api_key", None),
        },
    )


@login_required
@require_POST
def app_rotate_key(request: HttpRequest, app_id: str) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.MANAGE_APP)
    request.session["new_api_key"] = rotate_api_key(access.app, acting_user=request.user)
    messages.success(request, "A new server API key was created; the old one no longer works.")
    return redirect("integrations:app-detail", app_id=access.app.app_id)


@login_required
def marketplace(request: HttpRequest, app_id: str) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.SET_UP_INTEGRATION)
    form = MarketplaceSearchForm(request.GET or None)
    partners = Partner.objects.filter(is_listed=True)
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        if query:
            partners = partners.filter(Q(name__icontains=query) | Q(media_source__icontains=query))
        for capability in form.cleaned_data["capability"]:
            partners = partners.filter(**{CAPABILITIES[capability][0]: True})
    set_up = dict(access.app.integrations.values_list("partner_id", "pk"))
    return render(
        request,
        "integrations/marketplace.html",
        {"app": access.app, "form": form, "partners": partners, "set_up": set_up},
    )


@login_required
def partner_detail(request: HttpRequest, app_id: str, media_source: str) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.SET_UP_INTEGRATION)
    partner = get_object_or_404(Partner, media_source=media_source, is_listed=True)
    integration = access.app.integrations.filter(partner=partner).first()
    return render(
        request,
        "integrations/partner_detail.html",
        {"app": access.app, "partner": partner, "integration": integration},
    )


@login_required
@require_POST
def set_up_integration(request: HttpRequest, app_id: str, media_source: str) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.SET_UP_INTEGRATION)
    partner = get_object_or_404(Partner, media_source=media_source, is_listed=True)
    integration = setup.set_up_integration(access.app, partner, acting_user=request.user)
    return redirect("integrations:setup-start", app_id=app_id, integration_id=integration.pk)


@login_required
def active_integrations(request: HttpRequest, app_id: str) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.VIEW_INTEGRATIONS)
    integrations = (
        access.visible_integrations()
        .select_related("partner", "pixel")
        .annotate(
            mapping_count=Count("mappings", filter=Q(mappings__is_enabled=True)),
            has_cost=Exists(
                CostConnection.objects.filter(
                    integration=OuterRef("pk"), status=CostConnection.Status.CONNECTED
                )
            ),
        )
    )
    coverage = match_quality.coverage_for(
        access.app,
        [(i.pk, i.partner.event_source) for i in integrations if i.partner.supports_events_api],
    )
    rows = [
        {
            "integration": integration,
            "setup_tab": next(
                (t for t in setup_tabs.tabs_for(integration) if t.can_view(access, integration)),
                None,
            ),
            "coverage": coverage.get(integration.pk),
        }
        for integration in integrations
    ]
    return render(
        request,
        "integrations/active.html",
        {"app": access.app, "rows": rows, "can_set_up": access.can(Action.SET_UP_INTEGRATION)},
    )


@login_required
def setup_start(request: HttpRequest, app_id: str, integration_id: int) -> HttpResponse:
    access, integration = get_integration_for_user(request.user, app_id, integration_id)
    for tab in setup_tabs.tabs_for(integration):
        if tab.can_view(access, integration):
            return redirect("integrations:setup", app_id, integration_id, tab.key)
    raise PermissionDenied("You may not configure this integration.")


@sensitive_post_parameters("settings-access_token", "secure_key")  # error reports hide them
@login_required
def setup_tab(request: HttpRequest, app_id: str, integration_id: int, tab: str) -> HttpResponse:
    access, integration = get_integration_for_user(request.user, app_id, integration_id)
    current = setup_tabs.get_tab(tab, integration)
    if not current.can_view(access, integration):
        raise PermissionDenied("Your role does not allow this tab.")
    page = current.bind(request, access, integration)
    failed = False
    if request.method == "POST":
        message = current.save(request, access, integration, page)
        if message:
            messages.success(request, message)
            return redirect("integrations:setup", app_id, integration_id, current.key)
        if page.unsaved_notice:
            messages.info(request, page.unsaved_notice)
        else:
            failed = True
            messages.error(request, "Nothing was saved. Fix the fields marked below.")
    integration.refresh_from_db()
    return render(
        request,
        "integrations/setup.html",
        {
            "app": access.app,
            "integration": integration,
            "current": current,
            "history": integration.audit_entries.select_related("actor")[:20],
            **setup_tabs.progress(integration, access, current),
            **page.template_context(posted=request.method == "POST"),
        },
        status=400 if failed else 200,
    )


@login_required
@require_POST
def send_test_event(request: HttpRequest, app_id: str, integration_id: int) -> HttpResponse:
    access, integration = get_integration_for_user(
        request.user, app_id, integration_id, need=Action.CONFIGURE_INTEGRATION
    )
    form = TestEventForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"Test event not sent: {error}")
    else:
        outcome = send_test_event_service(
            integration,
            acting_user=request.user,
            test_event_code=form.cleaned_data["test_event_code"],
            event_name=form.cleaned_data["event_name"].strip(),
            ip=get_client_ip(request) or "",
            user_agent=request.headers.get("User-Agent", ""),
        )
        level = messages.SUCCESS if outcome.ok else messages.ERROR
        messages.add_message(request, level, f"Test event: {outcome.message}")
    tab_url = reverse("integrations:setup", args=[app_id, integration_id, "integration"])
    return redirect(f"{tab_url}#test-event")


@login_required
@require_POST
def resume_deliveries(request: HttpRequest, app_id: str, integration_id: int) -> HttpResponse:
    access, integration = get_integration_for_user(
        request.user, app_id, integration_id, need=Action.CONFIGURE_INTEGRATION
    )
    if setup.resume_deliveries(integration, acting_user=request.user):
        messages.success(request, "Deliveries resumed; waiting events are sent within a minute.")
    return redirect("integrations:setup", app_id, integration_id, "integration")


def _cost_connection_for(
    request: HttpRequest, app_id: str, integration_id: int, pk: int
) -> CostConnection:
    access, integration = get_integration_for_user(
        request.user, app_id, integration_id, need=Action.MANAGE_COST
    )
    return get_object_or_404(
        CostConnection.objects.select_related("integration__app", "integration__partner"),
        pk=pk,
        integration=integration,
    )


@login_required
@require_POST
def cost_pull_now(
    request: HttpRequest, app_id: str, integration_id: int, connection_id: int
) -> HttpResponse:
    connection = _cost_connection_for(request, app_id, integration_id, connection_id)
    try:
        cost_connections.request_pull(connection, acting_user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Pulling cost for {connection.label}.")
    return redirect("integrations:setup", app_id, integration_id, "cost")


@login_required
@require_POST
def cost_delete_connection(
    request: HttpRequest, app_id: str, integration_id: int, connection_id: int
) -> HttpResponse:
    connection = _cost_connection_for(request, app_id, integration_id, connection_id)
    if connection.status != CostConnection.Status.REVOKED:
        outcome = cost_connections.delete_connection(connection, acting_user=request.user)
        if outcome.is_deleted:
            messages.success(
                request, f"{outcome.message} Cost already pulled stays in the reports."
            )
        else:
            messages.error(request, outcome.message)
    return redirect("integrations:setup", app_id, integration_id, "cost")


@login_required
@require_POST
def sandbox_credentials(request: HttpRequest, app_id: str, integration_id: int) -> HttpResponse:
    """Sandbox mode: a working pixel (or App ID) and token from the Integration tab itself."""
    access, integration = get_integration_for_user(
        request.user, app_id, integration_id, need=Action.CONFIGURE_INTEGRATION
    )
    try:
        source_id = setup.use_sandbox_credentials(integration, acting_user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        what = "TikTok App ID" if integration.partner.is_app else "pixel"
        messages.success(
            request,
            f"Created the sandbox {what} {source_id} and its access token, and saved them. "
            "Send a test event below to see it arrive.",
        )
    return redirect("integrations:setup", app_id, integration_id, "integration")
