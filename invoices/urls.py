"""Page routes of this app (server-rendered, under the site root)."""

from django.urls import path  # noqa: F401

app_name = "invoices"
urlpatterns: list = []
