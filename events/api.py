"""The events API: server-to-server events, batches and installs, and the web SDK's endpoints.

Each view reads the JSON body itself (we want our own 400 and 413 answers, and speed), lets the
access classes and throttles run, calls one service and answers 202 with a result per item.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import IO, Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.exceptions import APIException, NotFound, ParseError, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from attribution_site.client_ip import get_client_ip
from events import serializers
from events.api_access import AppApiKeyAuthentication, KeyBelongsToApp, is_allowed_origin
from events.services.ingest import MAX_BATCH, REJECTED, BrowserContext, record_events
from events.services.installs import read_install, read_visit, record_install, record_visit
from events.services.touchpoints import find_app_by_public_key
from events.throttles import ApiKeyRateThrottle, PublicKeyRateThrottle
from integrations.models import App

ERRORS = {
    400: OpenApiResponse(serializers.ErrorSerializer, description="Malformed JSON or bad item"),
    401: OpenApiResponse(serializers.ErrorSerializer, description="Missing or unknown API key"),
    403: OpenApiResponse(serializers.ErrorSerializer, description="Key of another app"),
    404: OpenApiResponse(serializers.ErrorSerializer, description="Unknown app or public key"),
    413: OpenApiResponse(serializers.ErrorSerializer, description="Body too large"),
    429: OpenApiResponse(serializers.ErrorSerializer, description="Throttled; see Retry-After"),
}
# A single item's endpoints also answer 400 with the item's own errors.
SINGLE_ITEM_ERRORS = {
    **ERRORS,
    400: OpenApiResponse(
        PolymorphicProxySerializer(
            component_name="BadRequest",
            serializers=[serializers.ErrorSerializer, serializers.RejectedSerializer],
            resource_type_field_name=None,
        ),
        description="Malformed JSON (detail), or the item refused (errors by field)",
    ),
}
# A batch whose every item is refused answers 400 with the same per-item results as a 202.
BATCH_ERRORS = {
    **ERRORS,
    400: OpenApiResponse(
        PolymorphicProxySerializer(
            component_name="BadBatch",
            serializers=[serializers.ErrorSerializer, serializers.BatchResultSerializer],
            resource_type_field_name=None,
        ),
        description="Malformed JSON or batch (detail), or every item refused (results)",
    ),
}


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The body is too large."
    default_code = "payload_too_large"


class LengthRequired(APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = "Send the body with a Content-Length."
    default_code = "length_required"


def read_json_body(request: Request) -> Any:
    """The parsed body, or a 400/411/413 that says what is wrong with it."""
    limit = settings.EVENTS_MAX_BODY_BYTES
    content_length = request.META.get("CONTENT_LENGTH") or "0"
    if not (content_length.isascii() and content_length.isdigit()):
        raise ParseError("Content-Length is not a number.")
    declared = int(content_length)
    if declared > limit:
        raise PayloadTooLarge(f"The body has {declared} bytes; the limit is {limit}.")
    stream = body_stream(request)
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise PayloadTooLarge(f"The body is over the limit of {limit} bytes.")
    if not raw.strip():
        raise ParseError("The body is empty; send JSON.")
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise ParseError("Malformed JSON: nested too deeply.") from None
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ParseError(f"Malformed JSON: {error}") from None


def body_stream(request: Request) -> IO[bytes] | HttpRequest | None:
    """Where the body is read from. A chunked body has no Content-Length, so DRF sees none;
    the server must have decoded the chunks and marked the end of the input (gunicorn does,
    with `wsgi.input_terminated`), or reading would wait for more forever. ASGI servers spool
    the whole body before the view runs."""
    if "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return request.stream
    django_request = request._request
    if not isinstance(django_request, WSGIRequest):
        return django_request
    if not django_request.environ.get("wsgi.input_terminated"):
        raise LengthRequired("This server cannot read a chunked body; send a Content-Length.")
    return django_request.environ["wsgi.input"]


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def server_key_endpoint(view: Callable[..., Response]) -> Callable[..., Response]:
    """A POST endpoint for servers: the app's server key, rate-limited per key."""
    view = throttle_classes([ApiKeyRateThrottle])(view)
    view = permission_classes([KeyBelongsToApp])(view)
    view = authentication_classes([AppApiKeyAuthentication])(view)
    return api_view(["POST"])(view)


def web_sdk_endpoint(view: Callable[[Request, App], Response]) -> Callable[..., Response]:
    """A POST endpoint for the web SDK in a browser: found by the app's public key, only from
    the app's own domains, answered with CORS headers (an OPTIONS preflight gets just those),
    rate-limited per public key. The view is called with the app instead of the key."""

    @functools.wraps(view)
    def endpoint(request: Request, public_key: str) -> Response:
        app, origin = sdk_app(request, public_key)
        if request.method == "OPTIONS":
            return with_cors(Response(status=204), origin)
        return with_cors(view(request, app), origin)

    endpoint = throttle_classes([PublicKeyRateThrottle])(endpoint)
    endpoint = permission_classes([AllowAny])(endpoint)
    endpoint = authentication_classes([])(endpoint)
    return api_view(["POST", "OPTIONS"])(endpoint)


@extend_schema(
    summary="Send one event",
    request=serializers.EventSerializer,
    responses={202: serializers.SingleResultSerializer, **SINGLE_ITEM_ERRORS},
    tags=["events"],
)
@server_key_endpoint
def event_single(request: Request, app_id: str) -> Response:
    body = read_json_body(request)
    [result] = record_events(request.auth, [body])
    answer = result.as_dict()
    answer.pop("index")
    return Response(answer, status=400 if result.status == REJECTED else 202)


@extend_schema(
    summary="Send up to 1,000 events",
    request=serializers.EventBatchSerializer,
    responses={202: serializers.BatchResultSerializer, **BATCH_ERRORS},
    tags=["events"],
)
@server_key_endpoint
def event_batch(request: Request, app_id: str) -> Response:
    body = read_json_body(request)
    items = body.get("events") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise ParseError('Send {"events": [...]} or a JSON array of events.')
    if not 1 <= len(items) <= MAX_BATCH:
        raise ParseError(f"events: send 1 to {MAX_BATCH:,} events per batch, not {len(items):,}.")
    results = record_events(request.auth, items)
    counts = {name: sum(r.status == name for r in results) for name in ("accepted", "duplicate")}
    rejected = len(results) - counts["accepted"] - counts["duplicate"]
    answer = {
        "accepted": counts["accepted"],
        "duplicates": counts["duplicate"],
        "rejected": rejected,
        "results": [result.as_dict() for result in results],
    }
    # Nothing stored and nothing acknowledged: the whole batch was bad input.
    return Response(answer, status=400 if rejected == len(results) else 202)


@extend_schema(
    summary="Report an app's first open (or a website's first visit)",
    request=serializers.InstallSerializer,
    responses={202: serializers.InstallResultSerializer, **SINGLE_ITEM_ERRORS},
    tags=["installs"],
)
@server_key_endpoint
def install(request: Request, app_id: str) -> Response:
    draft = read_install(read_json_body(request), received_at=timezone.now())
    if isinstance(draft, dict):
        return Response({"status": REJECTED, "errors": draft}, status=400)
    return Response(record_install(request.auth, draft).as_dict(), status=202)


def sdk_app(request: Request, public_key: str) -> tuple[App, str]:
    """The app of a public key, if the browser's origin is one of the app's domains."""
    app = find_app_by_public_key(public_key)
    if app is None:
        raise NotFound("Unknown public key.")
    origin = request.headers.get("Origin", "")
    own = request.build_absolute_uri("/")
    if not is_allowed_origin(app, origin, own):
        raise PermissionDenied(
            f"Origin {origin or '(none)'} is not one of this app's domains; add it on the app."
        )
    return app, origin


def browser_context(request: Request) -> BrowserContext:
    return BrowserContext(
        ip=get_client_ip(request), user_agent=request.headers.get("User-Agent", "")[:2048]
    )


def with_cors(response: Response, origin: str) -> Response:
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "86400"
    response["Vary"] = "Origin"
    return response


@extend_schema(
    summary="Web SDK: report a landing-page visit",
    request=serializers.VisitSerializer,
    responses={202: serializers.VisitResultSerializer, **SINGLE_ITEM_ERRORS},
    tags=["web SDK"],
    auth=[],
)
@web_sdk_endpoint
def sdk_visit(request: Request, app: App) -> Response:
    visit = read_visit(read_json_body(request))
    if isinstance(visit, dict):
        return Response({"status": REJECTED, "errors": visit}, status=400)
    context = browser_context(request)
    result = record_visit(app, visit, ip=context.ip, user_agent=context.user_agent)
    return Response(result.as_dict(), status=202)


@extend_schema(
    summary="Web SDK: send one event",
    request=serializers.EventSerializer,
    responses={202: serializers.SingleResultSerializer, **SINGLE_ITEM_ERRORS},
    tags=["web SDK"],
    auth=[],
)
@web_sdk_endpoint
def sdk_event(request: Request, app: App) -> Response:
    body = read_json_body(request)
    [result] = record_events(app, [body], browser=browser_context(request))
    answer = result.as_dict()
    answer.pop("index")
    return Response(answer, status=400 if result.status == REJECTED else 202)
