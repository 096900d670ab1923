from django.contrib.auth import views as auth_views
from django.urls import path

from finance_portal.portal import health, metrics, second_factor, views
from finance_portal.portal.forms import LoginForm
from sme_credit import views as credit_views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("home/<str:role>/", views.landing, name="landing"),
    path("healthz", views.health, name="health"),
    path("readyz", health.readyz, name="ready"),
    path("metrics", metrics.metrics, name="metrics"),
    path("ops/worker/", views.worker_status, name="worker-status"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/2fa/", second_factor.second_factor, name="second-factor"),
    path("organizations/<int:pk>/credit/", credit_views.organization_credit, name="organization-credit"),
]
