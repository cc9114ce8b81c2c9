from django.urls import path

from reporting import views

app_name = "reporting"

urlpatterns = [
    path("apps/<str:app_id>/reports/cost/", views.cost, name="cost"),
    path("apps/<str:app_id>/reports/cost/export.csv", views.cost_export, name="cost-export"),
    path("apps/<str:app_id>/reports/overview/", views.overview, name="overview"),
]
