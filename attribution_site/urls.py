from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from attribution_site import ops_views

admin.site.site_header = "Signalboard operations"
admin.site.site_title = "Signalboard admin"

urlpatterns = [
    path("", ops_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Password change and reset: Django's own views, our templates (templates/registration/).
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("healthz", ops_views.healthz, name="healthz"),
    path("metrics", ops_views.metrics, name="metrics"),
    # TikTok for Business OAuth (connect-only): /oauth/login/tiktok-business/, /oauth/complete/…
    path("oauth/", include("social_django.urls", namespace="social")),
    # events first: its deliveries pages live under an integration's URL, beside the setup tabs.
    path("", include("events.urls")),
    path("", include("integrations.urls")),
    path("", include("reporting.urls")),
    path("", include("demo.urls")),
]

if settings.TIKTOK_SANDBOX:
    # A stand-in for TikTok's Business API, served by this process (see ARCHITECTURE.md).
    # Point TIKTOK_API_BASE_URL at <PUBLIC_BASE_URL>/tiktok-sandbox to use it.
    urlpatterns.append(path("tiktok-sandbox/", include("integrations.tiktok.sandbox.urls")))
