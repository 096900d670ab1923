"""URL map: pages, the admin, the REST API under /api/v1/ and its offline OpenAPI docs."""

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from bills import verify_views
from bills.verify_api import BillBundleView
from finance_portal.oversight import charts_data as oversight_charts
from finance_portal.portal import api as portal_api
from finance_portal.portal import charts_data, status_views
from sme_credit import views as credit_views

if settings.ADMIN_REQUIRE_2FA:
    admin.site.__class__ = OTPAdminSite
admin.site.site_header = _("Supply-chain finance portal: administration")
admin.site.site_title = _("Finance portal admin")

CHART_SOURCES = (charts_data, oversight_charts)  # imported for their @chart_source registrations

handler403 = "finance_portal.portal.errors_views.permission_denied"
handler404 = "finance_portal.portal.errors_views.page_not_found"
handler500 = "finance_portal.portal.errors_views.server_error"

api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", portal_api.ObtainTokenView.as_view(), name="api-token"),
    path("me/", portal_api.MeView.as_view(), name="api-me"),
    path("bills/<uuid:bill_id>/bundle/", BillBundleView.as_view(), name="api-bill-bundle"),
    path("", include("invoices.api_urls")),
    path("", include("finance_portal.oversight.api_urls")),  # before bills': bills/{id}/freeze-request/
    path("", include("bills.api_urls")),
    path("", include("finance_portal.ledger.api_urls")),
    path("", include("sme_credit.api_urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language switcher's form
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Verification (bills.verify_views): public pages only through a holder's token; by id for members.
    path("verify/code/", verify_views.verify_code_lookup, name="verify-code"),
    path("verify/t/<str:token>/", verify_views.verify_token_page, name="verify-token"),
    path("verify/t/<str:token>/certificate/", verify_views.verify_token_certificate, name="verify-certificate"),
    path("verify/t/<str:token>/bundle.json", verify_views.verify_token_bundle, name="verify-token-bundle"),
    path("verify/tx/<str:tx_hash>/", verify_views.verify_transaction, name="verify-tx"),
    path("verify/links/<uuid:bill_id>/", verify_views.verify_link_create, name="verify-link-create"),
    path("verify/links/<int:token_id>/revoke/", verify_views.verify_link_revoke, name="verify-link-revoke"),
    path("verify/credit/<int:pk>/", credit_views.verify_credit_report, name="verify-credit"),
    path("verify/<str:bill_id>/", verify_views.verify_page, name="verify"),
    path("verify/<str:bill_id>/bundle.json", verify_views.verify_bundle_download, name="verify-bundle"),
    path("status/anchoring/", status_views.anchoring_status, name="chain-status"),
    # Client-side charts' data (finance_portal.charts.SOURCES): the portal's sources and the regulator's.
    path("charts/data/<slug:name>/", charts_data.chart_data, name="chart-data"),
    path("", include("finance_portal.oversight.explorer_urls")),
    path("", include("finance_portal.audit.urls")),
    path("", include("finance_portal.portal.urls")),
    path("", include("invoices.urls")),
    path("", include("bills.urls")),
    path("", include("finance_portal.organizations.urls")),  # the counterparty picker's search
    path("", include("finance_portal.ledger.urls")),
    path("", include("bills.portfolio_urls")),
    path("", include("finance_portal.oversight.urls")),
    path("", include("finance_portal.notifications.urls")),
]
