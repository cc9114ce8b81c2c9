"""Attribution links (clicks and impressions), an integration's deliveries, and one event's page."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from attribution_site.client_ip import get_client_ip
from events.attribution import CLICK, IMPRESSION
from events.models import InAppEvent, Postback, Touchpoint
from events.services import deliveries as deliveries_service
from events.services.config_cache import ConfigCache
from events.services.delivery import requeue_postbacks
from events.services.forwarding import explain
from events.services.touchpoints import (
    find_app_by_public_key,
    is_link_preview,
    is_valid_media_source,
    link_destination,
    link_parameters,
    record_touchpoint,
    store_app_for,
    touchpoint_fields,
)
from integrations.models import App, Integration
from integrations.policy import Action, AppAccess, get_app_for_user, get_integration_for_user
from integrations.request_values import BoundedDateField, parse_ids
from integrations.tiktok import match_quality

# The smallest transparent GIF, for impression pixels in <img> tags.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
# A page lists 50 deliveries; a posted list longer than this is not from our form.
REQUEUE_LIMIT = 1000


def link_not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "events/link_not_found.html", status=404)


@dataclass(frozen=True)
class LinkHit:
    """What a click or impression link says before anything is recorded: the app it leads to,
    the media source, the link's parameters, and whether a person (not a HEAD request or a
    link-preview bot) is behind it."""

    app: App
    media_source: str
    params: dict[str, str]
    user_agent: str
    is_person: bool

    def record(self, request: HttpRequest, kind: str, **extra: str) -> Touchpoint:
        touchpoint, _ = record_touchpoint(
            self.app,
            kind=kind,
            media_source=self.media_source,
            params=self.params,
            ip=get_client_ip(request),
            user_agent=self.user_agent,
            referrer=request.headers.get("Referer", ""),
            **extra,
        )
        return touchpoint


INTEGRATED_SOURCES = ConfigCache[frozenset[str]]()


def integrated_sources(app: App) -> frozenset[str]:
    """Media sources the app has an integration with (links are built only for those)."""
    return INTEGRATED_SOURCES.get(
        app.pk,
        lambda: frozenset(app.integrations.values_list("partner__media_source", flat=True)),
    )


def read_link_hit(request: HttpRequest, public_key: str, media_source: str) -> LinkHit | None:
    """The hit on /l/ or /i/, or None when the key or media source leads nowhere."""
    params = link_parameters(request.GET)
    media_source = media_source or params.get("pid", "")
    if not is_valid_media_source(media_source):
        return None
    app = find_app_by_public_key(public_key)
    if app is None or media_source not in integrated_sources(app):
        return None  # a link we never built: nothing is recorded
    user_agent = request.headers.get("User-Agent", "")
    return LinkHit(
        app=app,
        media_source=media_source,
        params=params,
        user_agent=user_agent,
        is_person=request.method == "GET" and not is_link_preview(user_agent, request.headers),
    )


@never_cache
@require_http_methods(["GET", "HEAD"])
def click(
    request: HttpRequest, public_key: str, media_source: str = "", to_app: bool = False
) -> HttpResponse:
    """Record a click (not for HEAD requests, prefetches or link-preview bots) and redirect.
    `to_app`: a website's web-to-app link; a phone's click belongs to the linked app it goes
    to, so that app's install from the same device matches it."""
    hit = read_link_hit(request, public_key, media_source)
    if hit is None:
        return link_not_found(request)
    if to_app:
        store_app = store_app_for(hit.app, hit.user_agent)
        if store_app is not None:
            hit = replace(hit, app=store_app)
    if hit.is_person:
        touchpoint = hit.record(request, CLICK, url=request.build_absolute_uri())
    else:
        # Not a person clicking: answer with the same redirect, but count nothing.
        touchpoint = Touchpoint(
            app=hit.app,
            media_source=hit.media_source,
            user_agent=hit.user_agent,
            **touchpoint_fields(hit.params),
        )
    destination = link_destination(hit.app, touchpoint, hit.params)
    if not destination:
        return link_not_found(request)
    return HttpResponseRedirect(destination)


@never_cache
@require_http_methods(["GET", "HEAD"])
def impression(request: HttpRequest, public_key: str, media_source: str = "") -> HttpResponse:
    """Record an ad view for view-through attribution: 204, or a 1×1 GIF with `?format=gif`."""
    hit = read_link_hit(request, public_key, media_source)
    if hit is None:
        return link_not_found(request)
    if hit.is_person:
        hit.record(request, IMPRESSION)
    if hit.params.get("format") == "gif":
        return HttpResponse(PIXEL_GIF, content_type="image/gif")
    return HttpResponse(status=204)


# --- Deliveries (the postback log of one integration) and one event's page -----------------


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Postback.Status.choices]
    )
    event_name = forms.CharField(required=False, max_length=100, label="Event")
    since = BoundedDateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    until = BoundedDateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))

    def clean(self) -> dict:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data


def _deliveries_access(
    request: HttpRequest, app_id: str, integration_id: int
) -> tuple[AppAccess, Integration]:
    return get_integration_for_user(
        request.user, app_id, integration_id, need=Action.VIEW_DELIVERIES
    )


@login_required
def deliveries(request: HttpRequest, app_id: str, integration_id: int) -> HttpResponse:
    access, integration = _deliveries_access(request, app_id, integration_id)
    form = DeliveryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = deliveries_service.filtered_postbacks(
        integration, **{key: value for key, value in filters.items() if value}
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "events/deliveries.html",
        {
            "app": access.app,
            "integration": integration,
            "form": form,
            "page": page,
            "counts": deliveries_service.status_counts(integration),
            "can_requeue": access.can(Action.CONFIGURE_POSTBACKS, integration),
            "query": request.GET.urlencode(),
        },
    )


@login_required
def delivery_detail(
    request: HttpRequest, app_id: str, integration_id: int, postback_id: int
) -> HttpResponse:
    access, integration = _deliveries_access(request, app_id, integration_id)
    postback = get_object_or_404(deliveries_service.postbacks_of(integration), pk=postback_id)
    return render(
        request,
        "events/delivery_detail.html",
        {
            "app": access.app,
            "integration": integration,
            "postback": postback,
            # As sent: a product name in French or Japanese reads as written, not as \u escapes.
            "request_json": json.dumps(postback.request_body, indent=2, ensure_ascii=False)
            if postback.request_body
            else "",
            "can_requeue": access.can(Action.CONFIGURE_POSTBACKS, integration),
            "match_keys": None
            if postback.match_keys is None
            else match_quality.labels(postback.match_keys),
        },
    )


@login_required
@require_POST
def requeue_deliveries(request: HttpRequest, app_id: str, integration_id: int) -> HttpResponse:
    access, integration = get_integration_for_user(
        request.user, app_id, integration_id, need=Action.CONFIGURE_POSTBACKS
    )
    if request.POST.get("scope") == "dead":
        ids = Postback.objects.filter(
            integration=integration, status=Postback.Status.DEAD
        ).values_list("id", flat=True)
    else:
        ids = parse_ids(request.POST.getlist("postback"), limit=REQUEUE_LIMIT)
    count = requeue_postbacks(integration, ids, acting_user=request.user)
    if count:
        messages.success(request, f"{count} deliver{'y' if count == 1 else 'ies'} queued again.")
    else:
        messages.info(request, "Nothing to retry: choose failed, dead-lettered or waiting rows.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts=None) or not back.startswith("/"):
        back = reverse("events:deliveries", args=[app_id, integration_id])
    return redirect(back)


@login_required
def event_detail(request: HttpRequest, app_id: str, event_id: str) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.VIEW_EVENTS_REPORT)
    events = access.scope_to_media_source(InAppEvent.objects.filter(app=access.app))
    event = get_object_or_404(events.select_related("install"), event_id=event_id)
    postbacks = access.scope_to_partner(
        event.postbacks.select_related("integration__partner"), field="integration__partner"
    )
    reasons = explain(event, access.visible_integrations()) if request.GET.get("why") else None
    return render(
        request,
        "events/event_detail.html",
        {
            "app": access.app,
            "event": event,
            "value_json": json.dumps(event.value, indent=2) if event.value else "",
            "postbacks": postbacks,
            "reasons": reasons,
            "show_revenue": access.can(Action.VIEW_REVENUE),
            "is_partner_user": access.is_partner_user,
        },
    )
