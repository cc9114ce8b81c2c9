from django.urls import path

from reporting import agg_api, api, views

app_name = "reporting"

urlpatterns = [
    path("apps/<str:app_id>/reports/cost/", views.cost, name="cost"),
    path("apps/<str:app_id>/reports/cost/export.csv", views.cost_export, name="cost-export"),
    path("apps/<str:app_id>/reports/overview/", views.overview, name="overview"),
    path("apps/<str:app_id>/reports/protect360/", views.protect360, name="protect360"),
    path("apps/<str:app_id>/alerts/", views.alert_settings, name="alerts"),
    path("apps/<str:app_id>/reports/retention/", views.retention, name="retention"),
    path("apps/<str:app_id>/reports/loyal-users/", views.loyal_users, name="loyal-users"),
    path("apps/<str:app_id>/reports/raw-data/", views.raw_data_report, name="raw-data"),
    path(
        "apps/<str:app_id>/reports/raw-data/export.csv",
        views.raw_data_export,
        name="raw-data-export",
    ),
    path(
        "apps/<str:app_id>/reports/raw-data/jobs/", views.export_job_start, name="export-job-start"
    ),
    path(
        "apps/<str:app_id>/reports/raw-data/jobs/<int:job_id>/",
        views.export_job_status,
        name="export-job-status",
    ),
    path(
        "apps/<str:app_id>/reports/raw-data/jobs/<int:job_id>/download",
        views.export_job_download,
        name="export-job-download",
    ),
    path("account/api-tokens/", views.api_tokens, name="api-tokens"),
    # AppsFlyer's Pull API shape, so existing clients only change the host.
    path(
        "api/raw-data/export/app/<str:app_id>/<str:report>/v5",
        api.raw_data_export,
        name="pull-api",
    ),
    path(
        "api/agg-data/export/app/<str:app_id>/<str:report>/v5",
        agg_api.agg_data_export,
        name="pull-api-aggregate",
    ),
]
