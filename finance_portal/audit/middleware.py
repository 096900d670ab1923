"""Audits the requests of platform staff and regulators (after the view has answered).

Recorded: every write (POST, PUT, PATCH, DELETE, Django admin changes and actions included) and every export
or download (an attachment, CSV) by platform staff or a regulator, and every request at all by a regulator:
an examiner's access is itself audited. Static files are never recorded. The decision is made after the view,
so DRF's token authentication (which sets ``request.user`` inside the view) is seen too.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from finance_portal.audit.models import AuditRole
from finance_portal.audit.services import audit_record, auditee_for_request

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXPORT_TYPES = ("text/csv", "application/zip", "application/octet-stream", "application/pdf")


EXPORT_SUFFIXES = (".csv", ".json", ".zip", ".pdf")
EXPORT_PATH_PARTS = ("/bundle", "/download", "/export")


def is_export(request: HttpRequest, response: HttpResponseBase) -> bool:
    """A download: an attachment, a file type, a ``?format=csv``, or a bundle/download/export path."""
    disposition = response.get("Content-Disposition", "") or ""
    content_type = (response.get("Content-Type", "") or "").split(";")[0].strip().lower()
    path = request.path.lower()
    return ("attachment" in disposition.lower() or content_type in EXPORT_TYPES
            or request.GET.get("format", "").lower() == "csv"
            or path.endswith(EXPORT_SUFFIXES) or any(part in path for part in EXPORT_PATH_PARTS))


def _object_ref(request: HttpRequest, view_name: str) -> str:
    match = request.resolver_match
    parts = [f"{k}={v}" for k, v in sorted((match.kwargs if match else {}).items())]
    if view_name.startswith("admin:") and request.method == "POST":
        try:
            action = request.POST.get("action", "")
            if action:
                parts.append(f"action={action}")
                parts.append("selected=" + ",".join(request.POST.getlist("_selected_action")))
        except Exception:  # noqa: BLE001 - an unreadable body must not break the answer
            pass
    return "; ".join(parts)


class AuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.skip_prefixes = tuple(p for p in (settings.STATIC_URL, "/favicon.ico") if p)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.path.startswith(self.skip_prefixes) or getattr(request, "_audit_recorded", False):
            return response
        if request.method in ("OPTIONS",):
            return response
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return response
        export = is_export(request, response)
        write = request.method in WRITE_METHODS
        who = auditee_for_request(request)
        if who is None or not (write or export or who.role == AuditRole.REGULATOR):
            return response
        match = request.resolver_match
        view_name = (match.view_name or "") if match else ""
        audit_record(request=request, user=user, who=who, view_name=view_name,
                     object_ref=_object_ref(request, view_name), status_code=response.status_code,
                     is_export=export)
        return response
