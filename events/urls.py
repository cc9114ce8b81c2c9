from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from events import api, subscription_views, views

app_name = "events"

# API paths are accepted with or without a trailing slash: senders copy them both ways, and a
# redirect would turn their POST into a GET.
urlpatterns = [
    path("l/<str:public_key>/<str:media_source>", views.click, name="click"),
    path(
        "l/<str:public_key>/<str:media_source>/app",
        views.click,
        {"to_app": True},
        name="app-click",
    ),
    path("l/<str:public_key>", views.click, name="click-with-pid"),
    path("i/<str:public_key>/<str:media_source>", views.impression, name="impression"),
    path("i/<str:public_key>", views.impression, name="impression-with-pid"),
    path(
        "apps/<str:app_id>/integrations/<int:integration_id>/deliveries/",
        views.deliveries,
        name="deliveries",
    ),
    path(
        "apps/<str:app_id>/integrations/<int:integration_id>/deliveries/requeue/",
        views.requeue_deliveries,
        name="deliveries-requeue",
    ),
    path(
        "apps/<str:app_id>/integrations/<int:integration_id>/deliveries/<int:postback_id>/",
        views.delivery_detail,
        name="delivery",
    ),
    path("apps/<str:app_id>/events/<str:event_id>/", views.event_detail, name="event"),
    path("api/v1/apps/<str:app_id>/events", api.event_single, name="api-event"),
    path("api/v1/apps/<str:app_id>/events/batch", api.event_batch, name="api-event-batch"),
    path("api/v1/apps/<str:app_id>/installs", api.install, name="api-install"),
    path("api/v1/sdk/<str:public_key>/visit", api.sdk_visit, name="sdk-visit"),
    path("api/v1/sdk/<str:public_key>/events", api.sdk_event, name="sdk-event"),
    # The same with a trailing slash (left out of the schema by events.schema).
    path("api/v1/apps/<str:app_id>/events/", api.event_single),
    path("api/v1/apps/<str:app_id>/events/batch/", api.event_batch),
    path("api/v1/apps/<str:app_id>/installs/", api.install),
    path("api/v1/sdk/<str:public_key>/visit/", api.sdk_visit),
    path("api/v1/sdk/<str:public_key>/events/", api.sdk_event),
    path(
        "api/v1/apps/<str:app_id>/subscriptions/app-store",
        subscription_views.app_store_notification,
        name="app-store-notifications",
    ),
    path(
        "api/v1/apps/<str:app_id>/subscriptions/google-play",
        subscription_views.google_play_notification,
        name="google-play-notifications",
    ),
    path(
        "api/v1/apps/<str:app_id>/subscriptions/revenuecat",
        subscription_views.revenuecat_webhook,
        name="revenuecat-webhook",
    ),
    path(
        "apps/<str:app_id>/subscriptions/",
        subscription_views.subscriptions_page,
        name="subscriptions",
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="events:api-schema"), name="api-docs"),
]
