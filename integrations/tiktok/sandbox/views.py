"""The TikTok sandbox's endpoints. They answer as shared/spec/tiktok-api.md describes TikTok:
HTTP 200 with a `{code, message, request_id, data}` envelope, errors included."""

from __future__ import annotations

import json
import time
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import AccessToken, EventSource, Fault, ReceivedRequest
from integrations.tiktok.sandbox.validation import Invalid, InvalidItems, validate_track_body

BAD_GATEWAY_HTML = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)

FAULT_ANSWERS = {
    Fault.Kind.RATE_LIMIT: (40100, "Too many requests. Please retry in some time."),
    Fault.Kind.SERVER_ERROR: (50000, "System error. Please try again later."),
    Fault.Kind.MAINTENANCE: (60001, "The system is under maintenance. Please try again later."),
    Fault.Kind.REVOKED_TOKEN: (40105, "Access token is incorrect or has been revoked."),
    Fault.Kind.NO_PERMISSION: (40001, "No permission to operate this object."),
    Fault.Kind.QUERY_TOO_LARGE: (40067, "The query is too large. Please narrow the date range."),
    Fault.Kind.ADVERTISER_QPS: (40133, "The advertiser reaches the QPS limit of this API."),
}


def envelope(code: int = 0, message: str = "OK", data: dict | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "request_id": state.new_request_id(),
        "data": data or {},
    }


def _answer(request: HttpRequest, target: str, token: str, body: Any, answer: dict) -> JsonResponse:
    state.record_request(path=request.path, target=target, token=token, body=body, answer=answer)
    return JsonResponse(answer)


UNNAMED_ITEMS_MESSAGE = "Invalid parameters in the request data."


def _apply_fault(request: HttpRequest, target: str, token: str, body: Any) -> HttpResponse | None:
    return _answer_fault(request, target, token, body, state.take_fault(target) if target else None)


def _answer_fault(
    request: HttpRequest, target: str, token: str, body: Any, fault: Fault | None
) -> HttpResponse | None:
    if fault is None or fault.kind == Fault.Kind.UNNAMED_ERRORS:
        return None
    if fault.kind == Fault.Kind.HANG:
        # Sleep past the client's timeout, then carry on: like a real timeout, the client cannot
        # know whether TikTok got the events (event_id de-duplication covers the resend).
        time.sleep(fault.hang_seconds)
        return None
    if fault.kind == Fault.Kind.BAD_GATEWAY:
        state.record_request(
            path=request.path,
            target=target,
            token=token,
            body=body,
            answer={"message": "HTML 502"},
            http_status=502,
        )
        return HttpResponse(BAD_GATEWAY_HTML, status=502, content_type="text/html")
    code, message = FAULT_ANSWERS[Fault.Kind(fault.kind)]
    return _answer(request, target, token, body, envelope(code, message))


@csrf_exempt
def event_track(request: HttpRequest) -> HttpResponse:
    """POST /open_api/v1.3/event/track/ (§1)."""
    if request.method != "POST":
        return JsonResponse(envelope(40000, "Only POST is allowed on this path."))
    token = request.headers.get("Access-Token", "")
    try:
        body = json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _answer(request, "", token, None, envelope(40002, "body: Invalid JSON."))
    target = body.get("event_source_id", "") if isinstance(body, dict) else ""
    target = target if isinstance(target, str) else ""
    fault = state.take_fault(target) if target else None
    faulted = _answer_fault(request, target, token, body, fault)
    if faulted is not None:
        return faulted
    if not token:
        message = "Access token is null, you should set it in http header with key Access-Token."
        return _answer(request, target, token, body, envelope(40104, message))
    known = state.find_token(token)
    if known is None or known.revoked_at is not None:
        message = "Access token is incorrect or has been revoked."
        return _answer(request, target, token, body, envelope(40105, message))
    try:
        validate_track_body(body)
    except InvalidItems as problems:
        is_unnamed = fault is not None and fault.kind == Fault.Kind.UNNAMED_ERRORS
        message = UNNAMED_ITEMS_MESSAGE if is_unnamed else str(problems)
        return _answer(request, target, token, body, envelope(40002, message))
    except Invalid as problem:
        return _answer(request, target, token, body, envelope(40002, str(problem)))
    if not known.sources.filter(source_id=target).exists():
        message = f"No permission to operate pixel code: {target}"
        return _answer(request, target, token, body, envelope(40001, message))
    answer = envelope()
    received = state.record_request(
        path=request.path, target=target, token=token, body=body, answer=answer
    )
    state.record_events(received, body)
    return JsonResponse(answer)


@staff_member_required
def console(request: HttpRequest) -> HttpResponse:
    """A small stand-in for TikTok Events Manager: sources, tokens, faults, what arrived.
    Staff only: it shows every app's forwarded payloads, whatever a user's app roles are."""
    return render(
        request,
        "tiktok_sandbox/console.html",
        {
            "sources": EventSource.objects.prefetch_related("tokens"),
            "tokens": AccessToken.objects.prefetch_related("sources").order_by("-created_at")[:50],
            "faults": Fault.objects.filter(remaining__gt=0).order_by("-created_at"),
            "fault_kinds": Fault.Kind.choices,
            "requests": ReceivedRequest.objects.prefetch_related("events")[:50],
            "new_token": request.session.pop("sandbox_new_token", None),
        },
    )


@staff_member_required
@require_POST
def console_create_source(request: HttpRequest) -> HttpResponse:
    source_id = request.POST.get("source_id", "").strip()
    if source_id.isalnum():
        request.session["sandbox_new_token"] = {
            "source": source_id,
            "token": state.issue_token(sources=[source_id]),
        }
    return redirect("tiktok_sandbox:console")


@staff_member_required
@require_POST
def console_add_fault(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("target", "").strip()
    kind = request.POST.get("kind", "")
    try:
        remaining = max(1, min(100, int(request.POST.get("remaining", "1"))))
    except ValueError:
        remaining = 1
    if target and kind in Fault.Kind.values:
        state.add_fault(target, kind, remaining=remaining)
    return redirect("tiktok_sandbox:console")
