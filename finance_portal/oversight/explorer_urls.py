"""URLs of the regulator's data explorer (``explorer_views``)."""

from django.urls import path

from finance_portal.oversight import explorer_views

app_name = "explorer"

urlpatterns = [
    path("oversight/data/", explorer_views.index, name="index"),
    path("oversight/data/<slug:key>/", explorer_views.dataset_page, name="dataset"),
]
