"""Requests refused before any view (and so any query) runs."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from integrations.request_values import first_control_character


class RefuseControlCharactersInPathMiddleware:
    """No URL of ours has a control character in its path, but `/l/%00/…` or `/apps/%00/` would
    reach a view whose lookup PostgreSQL refuses with a DataError (a 500). Answer 400 for every
    route at once instead of guarding each string path parameter: JSON on the API, plain text
    elsewhere."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        char = first_control_character(request.path_info)
        if char is None:
            return self.get_response(request)
        message = f"The URL path contains a control character (U+{ord(char):04X}); no page has one."
        if request.path_info.startswith("/api/v1/"):
            return JsonResponse({"detail": message}, status=400)
        return HttpResponse(message + "\n", status=400, content_type="text/plain; charset=utf-8")
