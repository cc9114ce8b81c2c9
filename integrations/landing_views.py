"""Thin views of hosted landing pages: the builder (admins and marketers) and the public page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from integrations.landing_forms import LandingPageForm
from integrations.models import App, Integration, LandingPage, Platform
from integrations.policy import Action, access_for, get_app_for_user
from integrations.services import landing_pages
from integrations.setup_tabs import apply_validation_error


def _media_sources(app: App) -> list[str]:
    return list(
        Integration.objects.filter(app=app)
        .order_by("partner__media_source")
        .values_list("partner__media_source", flat=True)
    )


@login_required
@require_http_methods(["GET", "POST"])
def builder(request: HttpRequest, app_id: str, page_id: int | None = None) -> HttpResponse:
    """The app's landing pages, and one page's form with its preview (a new one without id)."""
    access = get_app_for_user(request.user, app_id, need=Action.CONFIGURE_INTEGRATION)
    app = access.app
    page = get_object_or_404(LandingPage, pk=page_id, app=app) if page_id else None
    media_sources = _media_sources(app)
    form = LandingPageForm(
        request.POST or None,
        request.FILES or None,
        instance=page,
        media_sources=media_sources,
    )
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in landing_pages.EDITABLE_FIELDS}
        try:
            saved = landing_pages.save_landing_page(
                app,
                LandingPage.objects.get(pk=page.pk) if page else None,
                acting_user=request.user,
                fields=fields,
                image=form.image_bytes(),
                remove_image=form.cleaned_data.get("remove_image", False),
            )
        except ValidationError as error:
            apply_validation_error(error, {"page": form})
        else:
            state = "published" if saved.is_published else "saved as a draft"
            messages.success(request, f"/p/{saved.slug}/ {state}.")
            return redirect("integrations:landing-page", app_id=app.app_id, page_id=saved.pk)
    context: dict[str, Any] = {
        "app": app,
        "form": form,
        "page": page,
        "pages": app.landing_pages.all(),
        "buttons": landing_pages.store_buttons(page, {"ttclid": "E.C.P.preview"}) if page else [],
        "linked_apps": [a for a in (app.ios_app, app.android_app) if a is not None],
        "is_web": app.platform == Platform.WEB,
        "has_partners": bool(media_sources),
        "paragraphs": paragraphs_of(page.text) if page else [],
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "integrations/landing_pages.html", context, status=status)


@require_http_methods(["GET", "HEAD"])
def public_page(request: HttpRequest, slug: str) -> HttpResponse:
    """/p/<slug>/: a published page, or a draft to the app's own team (a preview)."""
    page = get_object_or_404(LandingPage.objects.select_related("app"), slug=slug)
    if not page.is_published and not _may_preview(request, page):
        raise Http404("No such page.")
    context = {
        "page": page,
        "app": page.app,
        "paragraphs": paragraphs_of(page.text),
        "buttons": landing_pages.store_buttons(page, request.GET),
        "uses_sdk": page.app.platform == Platform.WEB,
        "is_draft": not page.is_published,
    }
    return render(request, "landing/page.html", context)


@require_http_methods(["GET", "HEAD"])
def page_image(request: HttpRequest, slug: str) -> HttpResponse:
    page = get_object_or_404(LandingPage, slug=slug)
    if not page.image or (not page.is_published and not _may_preview(request, page)):
        raise Http404("No image.")
    response = HttpResponse(bytes(page.image), content_type=page.image_type)
    # A draft's image is the team's only: never kept by a shared cache.
    response["Cache-Control"] = "public, max-age=300" if page.is_published else "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def paragraphs_of(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\r\n", "\n").split("\n\n") if part.strip()]


def _may_preview(request: HttpRequest, page: LandingPage) -> bool:
    access = access_for(request.user, page.app)
    return access is not None and access.can(Action.CONFIGURE_INTEGRATION)
