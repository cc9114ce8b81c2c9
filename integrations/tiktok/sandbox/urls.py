"""The TikTok sandbox, mounted at /tiktok-sandbox/ when TIKTOK_SANDBOX is on. Paths match TikTok's
Business API under open_api/ and accept both the documented trailing slash and none (§0)."""

from django.urls import path, re_path

from integrations.tiktok.sandbox import marketing_views, views

app_name = "tiktok_sandbox"

urlpatterns = [
    path("", views.console, name="console"),
    path("console/sources/", views.console_create_source, name="console-create-source"),
    path("console/faults/", views.console_add_fault, name="console-add-fault"),
    re_path(r"^open_api/v1\.3/event/track/?$", views.event_track, name="event-track"),
    # Advertiser OAuth (§4) and Reporting (§5)
    re_path(r"^portal/auth/?$", marketing_views.consent, name="consent"),
    re_path(
        r"^open_api/v1\.3/oauth2/access_token/?$",
        marketing_views.access_token,
        name="access-token",
    ),
    re_path(
        r"^open_api/v1\.3/oauth2/advertiser/get/?$",
        marketing_views.advertiser_get,
        name="advertiser-get",
    ),
    re_path(
        r"^open_api/v1\.3/oauth2/revoke_token/?$",
        marketing_views.revoke_token,
        name="revoke-token",
    ),
    re_path(
        r"^open_api/v1\.3/advertiser/info/?$",
        marketing_views.advertiser_info,
        name="advertiser-info",
    ),
    re_path(
        r"^open_api/v1\.3/(?P<entity>campaign|adgroup|ad)/get/?$",
        marketing_views.entity_get,
        name="entity-get",
    ),
    re_path(r"^open_api/v1\.3/user/info/?$", marketing_views.user_info, name="user-info"),
    re_path(r"^open_api/v1\.3/report/integrated/get/?$", marketing_views.report, name="report"),
]
