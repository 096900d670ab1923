"""Pages of the credit app: a credit report's verification page, ``/verify/credit/<id>/``, and an
organization's credit page, ``/organizations/<id>/credit/``.

A report is seen by the issuing organization, the recipient, regulators and platform staff; anyone else gets
the same 404 as for a report that does not exist. The chain is read through a cache (``sme_credit.reports``).
An organization's credit page (latest score and its reasons, profile, score history as a client-side line chart
from ``/charts/data/organization-score/``) is seen by whoever may read its credit (``selectors.credit_readable_by``:
its members, financiers, regulators, platform staff); another trading organization gets the 404 of an
organization that does not exist.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from finance_portal import charts
from sme_credit import reports, selectors
from sme_credit.errors import CreditNotFound
from sme_credit.models import CreditScore


@require_GET
@login_required
def verify_credit_report(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        report = selectors.credit_report_get(user=request.user, report_id=pk)
    except CreditNotFound:
        return render(request, "bills/verify_not_found.html", {"title": _("Not found")}, status=404)
    verdict = reports.report_verdict(report)
    return render(request, "sme_credit/verify_report.html", {
        "title": _("Verify credit report %(number)s") % {"number": report.pk},
        "report": report,
        "content": json.loads(report.canonical),
        "verdict": verdict,
        "chain_id": settings.CHAIN_ID,
        "bundle_url": f"/api/v1/credit-reports/{report.pk}/bundle/",
    })


HISTORY_POINTS = 120  # the most recent scores drawn; older ones stay in the API's history


def factor_chart(score: CreditScore | None) -> SafeString | None:
    """What each factor added to or took from the base of the latest score, as bars (the base, and the
    factors that moved nothing, left out: the list of reasons beside it names them all)."""
    if score is None:
        return None
    moved = [(str(f.get("factor", "")).replace("_", " "), int(f.get("points", 0)))
             for f in score.factors if f.get("factor") != "base" and int(f.get("points", 0))]
    return charts.bar_chart(title=f"Points each factor adds to the base of {_base(score)}",
                            bars=moved, fmt=lambda v: f"{v:+d}" if v else "0", empty="No factor moved the score.")


def _base(score: CreditScore) -> int:
    return next((int(f.get("points", 0)) for f in score.factors if f.get("factor") == "base"), 0)


def _volume(by_quarter: dict[str, Any]) -> list[dict[str, Any]]:
    """The profile's volume by quarter, oldest first, faces as grouped decimal text (``1,205,000.00``)."""
    return [{"quarter": quarter, "count": v.get("count", 0),
             "faces": [(currency, charts.fmt_number(Decimal(face))) for currency, face in sorted(v.get("face", {}).items())]}
            for quarter, v in sorted(by_quarter.items())]


@require_GET
@login_required
def organization_credit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        org = selectors.credit_organization_get(user=request.user, organization_id=pk)
    except CreditNotFound:
        raise Http404("No such organization.") from None
    history = list(selectors.credit_scores_of(org)[:HISTORY_POINTS])[::-1]
    latest = history[-1] if history else None
    profile = selectors.credit_profile_of(org)
    context: dict[str, Any] = {
        "title": _("Credit of %(name)s") % {"name": org.display_name},
        "org": org,
        "profile": profile,
        "latest": latest,
        "factors": [dict(f, up=f.get("factor") != "base" and int(f.get("points", 0)) > 0,
                         down=int(f.get("points", 0)) < 0) for f in (latest.factors if latest else [])],
        "factor_chart": factor_chart(latest),
        "history_count": len(history),
        "volume": _volume(profile.volume_by_quarter if profile else {}),
        "share_percent": None if profile is None else profile.largest_debtor_share * 100,
    }
    return render(request, "sme_credit/organization.html", context)
