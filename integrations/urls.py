from django.urls import path

from integrations import landing_views, team_views, views

app_name = "integrations"

urlpatterns = [
    path("apps/", views.app_list, name="app-list"),
    path("apps/new/", team_views.app_new, name="app-new"),
    path("welcome/", team_views.first_run, name="first-run"),
    path("invitations/<str:token>/", team_views.invitation, name="invitation"),
    path("apps/<str:app_id>/", views.app_detail, name="app-detail"),
    path("apps/<str:app_id>/landing-pages/", landing_views.builder, name="landing-pages"),
    path(
        "apps/<str:app_id>/landing-pages/<int:page_id>/",
        landing_views.builder,
        name="landing-page",
    ),
    path("p/<slug:slug>/", landing_views.public_page, name="public-landing-page"),
    path("p/<slug:slug>/image", landing_views.page_image, name="landing-page-image"),
    path("apps/<str:app_id>/settings/", team_views.app_settings, name="app-settings"),
    path("apps/<str:app_id>/team/", team_views.team_page, name="team"),
    path("apps/<str:app_id>/team/invite/", team_views.team_invite, name="team-invite"),
    path(
        "apps/<str:app_id>/team/<int:membership_id>/role/",
        team_views.member_role,
        name="member-role",
    ),
    path(
        "apps/<str:app_id>/team/<int:membership_id>/remove/",
        team_views.member_remove,
        name="member-remove",
    ),
    path("apps/<str:app_id>/api-key/rotate/", views.app_rotate_key, name="app-rotate-key"),
    path("apps/<str:app_id>/marketplace/", views.marketplace, name="marketplace"),
    path(
        "apps/<str:app_id>/marketplace/<str:media_source>/",
        views.partner_detail,
        name="partner",
    ),
    path(
        "apps/<str:app_id>/marketplace/<str:media_source>/set-up/",
        views.set_up_integration,
        name="set-up",
    ),
    path("apps/<str:app_id>/integrations/", views.active_integrations, name="active"),
    path(
        "apps/<str:app_id>/integrations/<int:integration_id>/",
        views.setup_start,
        name="setup-start",
    ),
    path(
        "apps/<str:app_id>/integrations/<int:integration_id>/test-event/",
        views.send_test_event,
        name="test-event",
    ),
    path(
        "apps/<str:app_id>/integrations/<int:integration_id>/sandbox-credentials/",
        views.sandbox_credentials,
        name="sandbox-credentials",
    ),
    path(
        "apps/<str:app_id>/integrations/<int:integration_id>/partner-invite/",
        team_views.partner_invite,
        name="partner-invite",
    ),
    path(
        "apps/<str:app_id>/integrations/<int:integration_id>/resume/",
        views.resume_deliveries,
        name="resume",
    ),
    path(
        "apps/<str:app_id>/integrations/<int:integration_id>/cost/<int:connection_id>/pull/",
        views.cost_pull_now,
        name="cost-pull",
    ),
    path(
        "apps/<str:app_id>/integrations/<int:integration_id>/cost/<int:connection_id>/delete/",
        views.cost_delete_connection,
        name="cost-delete",
    ),
    path(
        "apps/<str:app_id>/integrations/<int:integration_id>/<slug:tab>/",
        views.setup_tab,
        name="setup",
    ),
]
