"""Page routes of the portfolio pages (``bills.portfolio_views``), included from the site's URL map."""

from django.urls import path

from bills import portfolio_views

app_name = "portfolio"
urlpatterns = [
    path("portfolio/", portfolio_views.portfolio_page, name="portfolio"),
    path("cash/", portfolio_views.cash_page, name="cash"),
]
