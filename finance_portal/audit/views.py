"""The audit log for regulators and platform staff: ``/oversight/audit/`` (filters: user, role, method, action,
date range, path contains; paginated) and its CSV export (``?format=csv``), which is itself audited."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.http import HttpRequest, HttpResponseBase

from finance_portal.audit.models import AuditAction, AuditRecord, AuditRole
from finance_portal.oversight.explorer_base import Column, Dataset, Filter, choice, col, org
from finance_portal.oversight.explorer_views import dataset_response, oversight_only

METHODS = [(m, m) for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")]


def _contains(name: str, label: str, lookup: str) -> Filter:
    return Filter(name, lambda: forms.CharField(label=label, required=False, max_length=200),
                  lambda v: Q(**{f"{lookup}__icontains": v}))


AUDIT_LOG = Dataset(
    "audit-log", "Audit log", "Every request of a regulator, and every change and export of platform staff "
    "or a regulator; sign-ins, sign-outs and failed sign-ins. Append-only.",
    lambda: AuditRecord.objects.select_related("organization").order_by("-at", "-id"),
    (col("ID", "pk"), col("At (UTC)", "at"), col("User", "username"), Column("Organization", lambda r: org(r.organization)),
     col("Role", "role"), col("Action", "action"), col("Method", "method"), col("Path", "path"),
     col("Query", "query"), col("View", "view_name", csv_only=True), col("Object", "object_ref"),
     col("Status", "status_code"), col("Export", "is_export", csv_only=True), col("Address", "remote_addr"),
     col("User agent", "user_agent", csv_only=True)),
    (_contains("user", "User", "username"), choice("role", "Role", "role", AuditRole.choices),
     choice("method", "Method", "method", METHODS), choice("action", "Action", "action", AuditAction.choices),
     _contains("path", "Path contains", "path")),
    (), "at", date_label="Date",
)


@oversight_only
def audit_list(request: HttpRequest) -> HttpResponseBase:
    return dataset_response(request, AUDIT_LOG, "oversight/audit_list.html")
