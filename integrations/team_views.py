"""Apps and their team, in the product: create and edit an app, invite people, change roles,
remove members, accept an invitation, and the first-run page of a new installation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from integrations.models import App, AppMembership, Invitation, PartnerUser
from integrations.policy import Action, get_app_for_user, get_integration_for_user
from integrations.services import apps as app_service
from integrations.services import team
from integrations.setup_tabs import apply_validation_error
from integrations.team_forms import (
    AppSettingsForm,
    FirstAdminForm,
    InviteForm,
    NewAccountForm,
    PartnerInviteForm,
)


@login_required
def app_new(request: HttpRequest) -> HttpResponse:
    """Any signed-in member of the team (not a partner's user) may add an app; they become
    its admin. The server API key is shown once, on the app's page."""
    if PartnerUser.objects.filter(user=request.user).exists():
        raise PermissionDenied("Partner accounts cannot add apps.")
    form = AppSettingsForm(request.POST or None, creating=True, user=request.user)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in AppSettingsForm.Meta.fields}
        try:
            app, raw_key = app_service.create_app(acting_user=request.user, **fields)
        except ValidationError as error:
            apply_validation_error(error, {"app": form})
        else:
            request.session["new_api_key"] = raw_key
            messages.success(request, f"{app.name} was added. Copy its server API key now.")
            return redirect("integrations:app-detail", app_id=app.app_id)
    status = 400 if request.method == "POST" else 200
    return render(request, "integrations/app_form.html", {"form": form, "app": None}, status=status)


@login_required
def app_settings(request: HttpRequest, app_id: str) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.MANAGE_APP)
    app = access.app
    form = AppSettingsForm(
        request.POST or None, instance=app_copy(app), creating=False, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        # A phone app's form has no linked-app fields (websites only): those stay empty.
        fields = {name: form.cleaned_data.get(name) for name in app_service.APP_EDITABLE_FIELDS}
        try:
            changed = app_service.update_app(app, acting_user=request.user, **fields)
        except ValidationError as error:
            apply_validation_error(error, {"app": form})
        else:
            messages.success(request, "App saved." if changed else "Nothing to change.")
            return redirect("integrations:app-settings", app_id=app.app_id)
    status = 400 if request.method == "POST" else 200
    return render(request, "integrations/app_form.html", {"form": form, "app": app}, status=status)


def app_copy(app: App) -> App:
    """The form validates a copy; the service saves the real one, with its history."""
    return App.objects.get(pk=app.pk)


@login_required
def team_page(request: HttpRequest, app_id: str) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.MANAGE_APP)
    return _render_team(request, access.app, InviteForm())


def _render_team(request: HttpRequest, app, form: InviteForm, status: int = 200) -> HttpResponse:  # noqa: ANN001
    members = (
        AppMembership.objects.filter(app=app).select_related("user").order_by("user__username")
    )
    pending = Invitation.objects.filter(app=app, accepted_at__isnull=True).order_by("-created_at")
    return render(
        request,
        "integrations/team.html",
        {
            "app": app,
            "members": members,
            "pending": pending,
            "invite_form": form,
            "roles": AppMembership._meta.get_field("role").choices,
        },
        status=status,
    )


@login_required
@require_POST
def team_invite(request: HttpRequest, app_id: str) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.MANAGE_APP)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            sent = team.invite(access.app, acting_user=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(error, {"invite": form})
        else:
            messages.success(request, f"Invitation sent to {sent.invitation.email}.")
            return redirect("integrations:team", app_id=app_id)
    return _render_team(request, access.app, form, status=400)


@login_required
@require_POST
def member_role(request: HttpRequest, app_id: str, membership_id: int) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.MANAGE_APP)
    membership = get_object_or_404(AppMembership, pk=membership_id, app=access.app)
    role = request.POST.get("role", "")
    if role not in dict(AppMembership._meta.get_field("role").choices):
        messages.error(request, "Choose admin, marketer or analyst.")
    else:
        try:
            team.change_role(membership, role=role, acting_user=request.user)
            messages.success(request, f"{membership.user} is now {role}.")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    return redirect("integrations:team", app_id=app_id)


@login_required
@require_POST
def member_remove(request: HttpRequest, app_id: str, membership_id: int) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.MANAGE_APP)
    membership = get_object_or_404(AppMembership, pk=membership_id, app=access.app)
    try:
        team.remove_member(membership, acting_user=request.user)
        messages.success(request, f"{membership.user} no longer works on {access.app.name}.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("integrations:team", app_id=app_id)


@never_cache
@sensitive_post_parameters("password1", "password2")
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invite = team.open_invitation(token)
    except ValidationError as error:
        return render(
            request, "integrations/invitation.html", {"problem": error.messages[0]}, status=410
        )
    form = NewAccountForm(request.POST or None, initial={"username": invite.email.split("@")[0]})
    if request.method == "POST" and form.is_valid():
        try:
            user = team.accept_invitation(
                invite,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as error:
            apply_validation_error(error, {"account": form})
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {invite.app.name}.")
            if invite.partner_id is not None:  # sees the app once it grants the partner something
                return redirect("integrations:app-list")
            return redirect("integrations:app-detail", app_id=invite.app.app_id)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "integrations/invitation.html", {"invite": invite, "form": form}, status=status
    )


@never_cache
@sensitive_post_parameters("password1", "password2")
def first_run(request: HttpRequest) -> HttpResponse:
    """Only while the installation has no account at all."""
    if get_user_model().objects.exists():
        raise Http404("Signalboard is set up: sign in.")
    form = FirstAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = team.create_first_admin(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as error:
            apply_validation_error(error, {"account": form})
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Your account is ready. Add your first app.")
            return redirect("integrations:app-new")
    status = 400 if request.method == "POST" else 200
    return render(request, "integrations/first_run.html", {"form": form}, status=status)


@login_required
@require_POST
def partner_invite(request: HttpRequest, app_id: str, integration_id: int) -> HttpResponse:
    """From the Permissions tab: invite someone of the partner's team by email."""
    _access, integration = get_integration_for_user(
        request.user, app_id, integration_id, need=Action.MANAGE_PERMISSIONS
    )
    form = PartnerInviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Invitation not sent: " + " ".join(form.errors.get("email", [])))
    else:
        try:
            sent = team.invite_partner_user(
                integration, email=form.cleaned_data["email"], acting_user=request.user
            )
        except ValidationError as error:
            messages.error(request, "Invitation not sent: " + " ".join(error.messages))
        else:
            messages.success(
                request,
                f"Invitation sent to {sent.invitation.email}. Once they accept, they are listed "
                "below with the partner's permissions.",
            )
    tab = reverse("integrations:setup", args=[app_id, integration_id, "permissions"])
    return redirect(f"{tab}#partner-invite")
