"""Page routes of this app (server-rendered, under the site root)."""

from django.urls import path

from invoices import views

app_name = "invoices"
urlpatterns = [
    path("invoices/", views.invoice_list, name="list"),
    path("invoices/upload/", views.invoice_upload, name="upload"),
    path("invoices/<str:invoice_id>/", views.invoice_detail, name="detail"),
    path("invoices/<str:invoice_id>/file/", views.invoice_file, name="file"),
    path("invoices/<str:invoice_id>/verify/", views.invoice_verify_view, name="verify"),
]
