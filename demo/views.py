"""The demo landing page: a pretend shop with the web SDK, to try click → visit → purchase."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from demo.seed import DEMO_WEB_APP_ID
from integrations.models import App


def landing(request: HttpRequest) -> HttpResponse:
    """A pretend shop page with the web SDK, to try the click → visit → purchase flow."""
    app = App.objects.filter(app_id=DEMO_WEB_APP_ID).first()
    if app is None:
        return render(request, "demo/missing.html", status=404)
    return render(request, "demo/landing.html", {"app": app})
