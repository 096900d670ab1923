"""The audit log for regulators and platform staff: ``/oversight/audit/`` (filters: user, role, method, action,
date range, path contains; paginated) and its CSV export (``?format=csv``), which is itself audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.db.models import Q
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext_lazy as _

from finance_portal.audit.models import AuditAction, AuditRecord, AuditRole
from finance_portal.oversight.explorer_base import Column, Dataset, Filter, choice, coded, col, org
from finance_portal.oversight.explorer_views import dataset_response, oversight_only

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

METHODS = [(m, m) for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")]


def _contains(name: str, label: StrOrPromise, lookup: str) -> Filter:
    return Filter(name, lambda: forms.CharField(label=label, required=False, max_length=200),
                  lambda v: Q(**{f"{lookup}__icontains": v}))


AUDIT_LOG = Dataset(
    "audit-log", _("Audit log"), _("Every request of a regulator, and every change and export of platform staff "
                                   "or a regulator; sign-ins, sign-outs and failed sign-ins. Append-only."),
    lambda: AuditRecord.objects.select_related("organization").order_by("-at", "-id"),
    (col(_("ID"), "pk"), col(_("At (UTC)"), "at"), col(_("User"), "username"), Column(_("Organization"), lambda r: org(r.organization)),
     coded(_("Role"), "role", AuditRole.choices), coded(_("Action"), "action", AuditAction.choices), col(_("Method"), "method"), col(_("Path"), "path"),
     col(_("Query"), "query"), col(_("View"), "view_name", csv_only=True), col(_("Object"), "object_ref"),
     col(_("Status"), "status_code"), col(_("Export"), "is_export", csv_only=True), col(_("Address"), "remote_addr"),
     col(_("User agent"), "user_agent", csv_only=True)),
    (_contains("user", _("User"), "username"), choice("role", _("Role"), "role", AuditRole.choices),
     choice("method", _("Method"), "method", METHODS), choice("action", _("Action"), "action", AuditAction.choices),
     _contains("path", _("Path contains"), "path")),
    (), "at", date_label=_("Date"),
)


@oversight_only
def audit_list(request: HttpRequest) -> HttpResponseBase:
    return dataset_response(request, AUDIT_LOG, "oversight/audit_list.html")
