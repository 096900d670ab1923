"""The regulator's oversight pages: open flags by rule with their evidence and an acknowledge form, the
reconciliation list, and a CSV export of flags. Regulators and platform staff only (403 for others)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from finance_portal.errors import DomainError
from finance_portal.oversight import selectors, services
from finance_portal.oversight.models import Rule
from finance_portal.users import signed_in_user


def oversight_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not selectors.is_oversight_user(request.user):
            raise PermissionDenied("Oversight is for regulators and platform staff.")
        return view(request, *args, **kwargs)

    return wrapped


@oversight_only
def dashboard(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "open")
    acknowledged = None if show == "all" else (show == "acknowledged")
    counts = selectors.open_flag_counts()
    groups = []
    for rule in Rule:
        items = list(selectors.flags(rule=rule.value, acknowledged=acknowledged)[:100])
        for f in items:
            f.evidence_text = json.dumps(f.evidence, indent=1, ensure_ascii=False)  # type: ignore[attr-defined]
        groups.append({"rule": rule.value, "label": rule.label, "open": counts.get(rule.value, 0), "flags": items})
    return render(request, "oversight/dashboard.html", {
        "title": _("Oversight"), "groups": groups, "show": show, "total_open": sum(counts.values()),
        "freeze_requests": selectors.freeze_requests()[:20],
    })


@oversight_only
@require_POST
def acknowledge(request: HttpRequest, flag_id: int) -> HttpResponse:
    try:
        services.flag_acknowledge(flag_id=flag_id, note=request.POST.get("note", ""), actor=signed_in_user(request))
        messages.success(request, _("Flag %(number)s acknowledged.") % {"number": flag_id})
    except DomainError as err:
        messages.error(request, _("Flag %(number)s: %(error)s") % {"number": flag_id, "error": err.message})
    return redirect("oversight:dashboard")


@oversight_only
def flags_csv(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="oversight-flags.csv"'
    writer = csv.writer(response)
    writer.writerow(["id", "rule", "subject", "severity", "bill", "organization", "explanation", "evidence",
                     "first_seen", "last_seen", "acknowledged_by", "acknowledged_at", "acknowledgement_note"])
    for f in selectors.flags(rule=request.GET.get("rule") or None):
        writer.writerow([
            f.pk, f.rule, f.subject, f.severity, f.bill.number if f.bill else "",
            f.organization.credit_code if f.organization else "", f.explanation,
            json.dumps(f.evidence, ensure_ascii=False, sort_keys=True), f.first_seen.isoformat(),
            f.last_seen.isoformat(), f.acknowledged_by.get_username() if f.acknowledged_by else "",
            f.acknowledged_at.isoformat() if f.acknowledged_at else "", f.acknowledgement_note,
        ])
    return response


@oversight_only
def reconciliation(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.reconciliation_bills(), 50).get_page(request.GET.get("page"))
    rows = selectors.reconciliation_rows(list(page.object_list))
    return render(request, "oversight/reconciliation.html", {
        "title": _("Reconciliation"), "page": page, "rows": rows,
        "mismatches": sum(1 for r in rows if r.status != "ok"), "runs": selectors.reconciliation_runs(),
    })
