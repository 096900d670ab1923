from django.urls import path

from finance_portal.audit import views

app_name = "audit"

urlpatterns = [path("oversight/audit/", views.audit_list, name="list")]
