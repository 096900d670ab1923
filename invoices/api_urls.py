"""REST API routes of this app, mounted under /api/v1/."""

from django.urls import path

from invoices import api

urlpatterns = [
    path("invoices/", api.InvoiceListCreateView.as_view(), name="api-invoice-list"),
    path("invoices/<str:pk>/", api.InvoiceDetailView.as_view(), name="api-invoice-detail"),
    path("invoices/<str:pk>/file/", api.InvoiceFileView.as_view(), name="api-invoice-file"),
    path("invoices/<str:pk>/verify/", api.InvoiceVerifyView.as_view(), name="api-invoice-verify"),
]
