"""Page routes of this app (server-rendered, under the site root)."""

from django.urls import path

from invoices import import_views, views

app_name = "invoices"
urlpatterns = [
    path("invoices/", views.invoice_list, name="list"),
    path("invoices/upload/", views.invoice_upload, name="upload"),
    path("invoices/import/", import_views.import_upload, name="import"),
    path("invoices/import/template.csv", import_views.import_template_csv, name="import_template"),
    path("invoices/import/<str:job_id>/", import_views.import_job, name="import_job"),
    path("invoices/import/<str:job_id>/progress/", import_views.import_job_progress, name="import_progress"),
    path("invoices/import/<str:job_id>/errors.csv", import_views.import_job_errors_csv, name="import_errors"),
    path("invoices/<str:invoice_id>/", views.invoice_detail, name="detail"),
    path("invoices/<str:invoice_id>/file/", views.invoice_file, name="file"),
    path("invoices/<str:invoice_id>/verify/", views.invoice_verify_view, name="verify"),
]
