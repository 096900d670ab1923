"""Pages of the portal shell: the per-role landing pages and a health check."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from finance_portal.organizations.selectors import membership_of
from finance_portal.portal import health as health_views
from finance_portal.portal.models import WorkerProbe
from finance_portal.portal.roles import role_of
from finance_portal.portal.services import worker_probe_request

ROLE_TITLES = {
    "supplier": gettext_lazy("Supplier workspace"),
    "core_enterprise": gettext_lazy("Core enterprise workspace"),
    "financier": gettext_lazy("Financier workspace"),
    "regulator": gettext_lazy("Regulator oversight"),
    "platform": gettext_lazy("Platform operations"),
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    role = role_of(request.user)
    if role is None:
        return render(request, "portal/no_membership.html", status=403)
    return redirect("portal:landing", role=role)


@login_required
def landing(request: HttpRequest, role: str) -> HttpResponse:
    """The role's dashboard: its work queues and figures, built by the function ``settings.PORTAL_DASHBOARD``
    names (``dashboard(*, user, organization, role)``; the app that provides it sits above the portal)."""
    if role not in ROLE_TITLES:
        raise Http404("No such page.")
    membership = membership_of(request.user)
    if role_of(request.user, membership) != role:
        # One role's page is never shown to another role.
        return redirect("portal:home")
    organization = membership.organization if membership else None
    board = import_string(settings.PORTAL_DASHBOARD)(user=request.user, organization=organization, role=role)
    return render(request, f"portal/landing_{role}.html",
                  {"role": role, "title": ROLE_TITLES[role], "dashboard": board})


def health(request: HttpRequest) -> JsonResponse:
    """Liveness (``/healthz``): the process answers; nothing else is touched. Readiness is ``/readyz``
    (``finance_portal.portal.health``)."""
    return health_views.healthz(request)


@login_required
def worker_status(request: HttpRequest) -> HttpResponse:
    """Platform staff: queue a probe (POST) and see whether the worker stamped the recent ones."""
    if not request.user.is_staff:
        raise Http404("No such page.")
    if request.method == "POST":
        worker_probe_request()
        return redirect("portal:worker-status")
    probes = WorkerProbe.objects.all()[:10]
    return render(request, "portal/worker_status.html", {"probes": probes, "title": _("Worker status")})
