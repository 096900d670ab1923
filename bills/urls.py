"""Page routes of this app (server-rendered, under the site root)."""

from django.urls import path

from bills import views

app_name = "bills"
urlpatterns = [
    path("bills/", views.bill_list, name="list"),
    path("bills/new/", views.bill_create, name="create"),
    path("bills/issue/", views.bill_issue, name="issue"),
    path("bills/<uuid:pk>/", views.bill_detail, name="detail"),
    path("bills/<uuid:pk>/<slug:action>/", views.bill_action, name="action"),
    path("marketplace/", views.marketplace, name="marketplace"),
]
