"""Navigation shared by every page: the current app (from the URL) and the sections it has."""

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from integrations.models import App
from integrations.policy import access_for

# Per-app sections, shown once the issue that builds them has landed (their URL name resolves).
APP_SECTIONS = [
    ("Partner Marketplace", "integrations:marketplace"),
    ("Active Integrations", "integrations:active"),
    ("Reports", "reporting:raw-data"),
    ("Overview", "reporting:overview"),
    ("All Cost", "reporting:cost"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    app_id = match.kwargs.get("app_id") if match else None
    current_app = App.objects.filter(app_id=app_id).first() if app_id else None
    sections = []
    if current_app is not None and access_for(user, current_app) is not None:
        for label, url_name in APP_SECTIONS:
            try:
                url = reverse(url_name, kwargs={"app_id": current_app.app_id})
            except NoReverseMatch:
                continue
            sections.append({"label": label, "url": url, "active": request.path.startswith(url)})
    else:
        current_app = None
    return {"nav_app": current_app, "nav_sections": sections}
