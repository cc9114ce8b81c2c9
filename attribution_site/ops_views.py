"""Operations endpoints for load balancers and monitoring: `/healthz` and `/metrics`."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from attribution_site.health import DatabaseCollector, check_health


def home(request: HttpRequest) -> HttpResponse:
    """A new installation (no account yet) opens on its first-run page; otherwise the apps."""
    from django.contrib.auth import get_user_model

    if not get_user_model().objects.exists():
        return redirect("integrations:first-run")
    return redirect("integrations:app-list")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and the task cluster work and deliveries flow; 503
    with the reasons otherwise. No secrets and no per-app data: safe for a load balancer."""
    health = check_health()
    return JsonResponse(health.as_dict(), status=200 if health.is_ok else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format. Off (404) unless METRICS_TOKEN is set; then the scraper sends
    `Authorization: Bearer <METRICS_TOKEN>` (401 without it)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    expected = settings.METRICS_TOKEN
    if not expected:
        raise Http404("Metrics are off: set METRICS_TOKEN to turn them on.")
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        response = HttpResponse("Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry()
    registry.register(DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
