"""Page routes of the ledger (server-rendered): the money overview and account statements."""

from django.urls import path

from finance_portal.ledger import views

app_name = "ledger"
urlpatterns = [
    path("money/", views.money_overview, name="overview"),
    path("money/statement/<int:pk>/", views.account_statement, name="statement"),
]
