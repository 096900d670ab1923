"""REST API routes of oversight, mounted under /api/v1/ before the bills' router (DESIGN §10)."""

from django.urls import path

from finance_portal.oversight import api

urlpatterns = [
    path("oversight/flags/", api.FlagListView.as_view(), name="api-oversight-flags"),
    path("oversight/flags/<str:flag_id>/acknowledge/", api.FlagAcknowledgeView.as_view(),
         name="api-oversight-flag-acknowledge"),
    path("oversight/reconciliation/", api.ReconciliationView.as_view(), name="api-oversight-reconciliation"),
    path("bills/<str:bill_id>/freeze-request/", api.FreezeRequestView.as_view(), name="api-bill-freeze-request"),
]
