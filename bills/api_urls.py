"""REST API routes of this app, mounted under /api/v1/ (DESIGN §10)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from bills import api, offers_api

router = SimpleRouter()
router.register("bills", api.BillViewSet, basename="api-bill")

urlpatterns = [
    path("marketplace/", api.MarketplaceListView.as_view(), name="api-marketplace"),
    path("marketplace/<str:pk>/", api.MarketplaceDetailView.as_view(), name="api-marketplace-detail"),
    path("bills/<str:bill_id>/offers/", offers_api.BillOffersView.as_view(), name="api-bill-offers"),
    path("offers/<str:offer_id>/accept/", offers_api.OfferAcceptView.as_view(), name="api-offer-accept"),
    path("offers/<str:offer_id>/withdraw/", offers_api.OfferWithdrawView.as_view(), name="api-offer-withdraw"),
    *router.urls,
]
