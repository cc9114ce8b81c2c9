"""Navigation shared by every page: the current app (from the URL) and the sections it has."""

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from integrations.models import App
from integrations.policy import Action, access_for

# Per-app sections: label, URL name, and the action the page needs, so nobody is shown a link
# that answers 403. A section whose URL name does not resolve is left out.
APP_SECTIONS = [
    ("Partner Marketplace", "integrations:marketplace", Action.SET_UP_INTEGRATION),
    ("Active Integrations", "integrations:active", Action.VIEW_INTEGRATIONS),
    ("Landing pages", "integrations:landing-pages", Action.CONFIGURE_INTEGRATION),
    ("Subscriptions", "events:subscriptions", Action.CONFIGURE_INTEGRATION),
    ("Reports", "reporting:raw-data", Action.VIEW_REPORTS),
    ("Overview", "reporting:overview", Action.VIEW_REPORTS),
    ("All Cost", "reporting:cost", Action.VIEW_COST),
    ("Retention", "reporting:retention", Action.VIEW_RETENTION),
    ("Loyal users", "reporting:loyal-users", Action.VIEW_LOYAL_USERS),
    ("Protect360", "reporting:protect360", Action.VIEW_PROTECT360),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    app_id = match.kwargs.get("app_id") if match else None
    current_app = App.objects.filter(app_id=app_id).first() if app_id else None
    sections = []
    access = access_for(user, current_app) if current_app is not None else None
    if access is not None:
        for label, url_name, action in APP_SECTIONS:
            if not access.can(action):
                continue
            try:
                url = reverse(url_name, kwargs={"app_id": current_app.app_id})
            except NoReverseMatch:
                continue
            sections.append({"label": label, "url": url, "active": request.path.startswith(url)})
    else:
        current_app = None
    return {"nav_app": current_app, "nav_sections": sections}
