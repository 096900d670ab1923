"""Page routes of this app (server-rendered, under the site root)."""

from django.urls import path

from bills import market_views, views

app_name = "bills"
urlpatterns = [
    path("bills/", views.bill_list, name="list"),
    path("bills/new/", views.bill_create, name="create"),
    path("bills/issue/", views.bill_issue, name="issue"),
    path("bills/<uuid:pk>/", views.bill_detail, name="detail"),
    path("bills/<uuid:pk>/price-preview/", market_views.price_preview, name="price-preview"),
    path("bills/<uuid:pk>/history/", views.bill_history, name="history"),
    path("bills/<uuid:pk>/<slug:action>/", views.bill_action, name="action"),
    path("marketplace/", views.marketplace, name="marketplace"),
    path("marketplace/<uuid:pk>/", market_views.listing, name="listing"),
    path("marketplace/<uuid:pk>/buy/", market_views.buy_confirm, name="buy-confirm"),
    path("marketplace/<uuid:pk>/invoices/<uuid:invoice_id>/file/", market_views.listing_invoice_file,
         name="listing-invoice-file"),
    path("marketplace/<uuid:pk>/offers/", market_views.offer_make, name="offer-make"),
    path("marketplace/offers/<int:offer_id>/withdraw/", market_views.offer_withdraw, name="offer-withdraw"),
    path("bills/offers/<int:offer_id>/accept/", market_views.offer_accept, name="offer-accept"),
]
