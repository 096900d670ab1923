"""Pages of the credit app: a credit report's verification page, ``/verify/credit/<id>/``.

Seen by the issuing organization, the recipient, regulators and platform staff; anyone else gets the same
404 as for a report that does not exist. The chain is read through a cache (``sme_credit.reports``).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sme_credit import reports, selectors
from sme_credit.errors import CreditNotFound


@require_GET
@login_required
def verify_credit_report(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        report = selectors.credit_report_get(user=request.user, report_id=pk)
    except CreditNotFound:
        return render(request, "bills/verify_not_found.html", {"title": "Not found"}, status=404)
    verdict = reports.report_verdict(report)
    return render(request, "sme_credit/verify_report.html", {
        "title": f"Verify credit report {report.pk}",
        "report": report,
        "content": json.loads(report.canonical),
        "verdict": verdict,
        "chain_id": settings.CHAIN_ID,
        "bundle_url": f"/api/v1/credit-reports/{report.pk}/bundle/",
    })
