"""Page routes of organizations: the counterparty picker's search."""

from django.urls import path

from finance_portal.organizations import views

app_name = "organizations"
urlpatterns = [
    path("organizations/search/", views.organization_search, name="search"),
]
