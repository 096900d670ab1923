"""REST API routes of this app, mounted under /api/v1/ (DESIGN §10)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from bills import api

router = SimpleRouter()
router.register("bills", api.BillViewSet, basename="api-bill")

urlpatterns = [
    path("marketplace/", api.MarketplaceListView.as_view(), name="api-marketplace"),
    path("marketplace/<str:pk>/", api.MarketplaceDetailView.as_view(), name="api-marketplace-detail"),
    *router.urls,
]
