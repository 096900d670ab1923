"""Error handlers (``handler403/404/500`` in ``finance_portal.urls``, ``CSRF_FAILURE_VIEW``): JSON under ``/api/``, styled pages elsewhere.

API clients get the project's error shape (``{"detail", "code"}``, as ``api_errors`` answers inside DRF views)
also for what never reaches a DRF view: an unknown ``/api/...`` URL, a Django ``PermissionDenied``, a crash.
Everyone else gets ``templates/403.html``, ``404.html``, ``500.html`` through Django's default views. The 500
page is rendered without a request (no context processors, no database); if even that fails, a fixed page.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.views import defaults

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

_FALLBACK_500 = (
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Server error</title></head>"
    "<body><h1>Something went wrong on our side</h1><p>Please try again in a few minutes.</p></body></html>"
)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            {"detail": "You do not have permission to perform this action.", "code": "permission_denied"},
            status=403,
        )
    return defaults.permission_denied(request, exception)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a form sent without its session's token (an expired session, a page kept open
    across a sign-out, a cross-site post). The reason stays in the log, never on the page."""
    logger.warning("CSRF check failed on %s: %s", request.path, reason)
    if _is_api(request):
        return JsonResponse({"detail": "The CSRF check failed: reload the page or send the X-CSRFToken header "
                             "with the token of your session.", "code": "csrf_failed"}, status=403)
    return render(request, "403_csrf.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "A server error occurred.", "code": "server_error"}, status=500)
    try:
        return defaults.server_error(request)
    except Exception:  # the error page itself failed (a template or static-files problem): never a traceback
        logger.exception("rendering 500.html failed")
        return HttpResponseServerError(_FALLBACK_500)
