"""The TikTok sandbox, mounted at /tiktok-sandbox/ when TIKTOK_SANDBOX is on. Paths match TikTok's
Business API under open_api/ and accept both the documented trailing slash and none (§0)."""

from django.urls import path, re_path

from integrations.tiktok.sandbox import views

app_name = "tiktok_sandbox"

urlpatterns = [
    path("", views.console, name="console"),
    path("console/sources/", views.console_create_source, name="console-create-source"),
    path("console/faults/", views.console_add_fault, name="console-add-fault"),
    re_path(r"^open_api/v1\.3/event/track/?$", views.event_track, name="event-track"),
]
