"""REST API routes of the credit app, mounted under /api/v1/ (DESIGN §10)."""

from django.urls import path

from sme_credit import api, issuing_api

urlpatterns = [
    path("organizations/<str:organization_id>/credit/", api.OrganizationCreditView.as_view(),
         name="api-organization-credit"),
    path("credit-limits/", api.CreditLimitsView.as_view(), name="api-credit-limits"),
    path("credit-limits/<str:limit_id>/revoke/", api.CreditLimitRevokeView.as_view(), name="api-credit-limit-revoke"),
    path("issuing-limits/", issuing_api.IssuingLimitsView.as_view(), name="api-issuing-limits"),
    path("issuing-limits/<str:limit_id>/revoke/", issuing_api.IssuingLimitRevokeView.as_view(),
         name="api-issuing-limit-revoke"),
    path("credit-reports/", api.CreditReportsView.as_view(), name="api-credit-reports"),
    path("credit-reports/<str:report_id>/bundle/", api.CreditReportBundleView.as_view(),
         name="api-credit-report-bundle"),
]
