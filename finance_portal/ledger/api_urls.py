"""REST API routes of the ledger, mounted under /api/v1/ (DESIGN §10 "Money")."""

from django.urls import path

from finance_portal.ledger import api

urlpatterns = [
    path("accounts/", api.AccountListView.as_view(), name="api-accounts"),
    path("accounts/<int:pk>/statement/", api.AccountStatementView.as_view(), name="api-account-statement"),
    path("admin/deposits/", api.DepositView.as_view(), name="api-admin-deposits"),
    path("admin/withdrawals/", api.WithdrawalView.as_view(), name="api-admin-withdrawals"),
]
