from django.urls import path

from finance_portal.oversight import dashboard_views, views

app_name = "oversight"

urlpatterns = [
    path("oversight/", views.dashboard, name="dashboard"),
    path("oversight/flags.csv", views.flags_csv, name="flags-csv"),
    path("oversight/flags/<int:flag_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("oversight/reconciliation/", views.reconciliation, name="reconciliation"),
    path("oversight/charts/", dashboard_views.charts_page, name="charts"),
]
