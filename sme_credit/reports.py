"""Credit reports: their canonical form, their bundle and the verification page's verdict.

The one thing to know: a report is one anchored record in its own key space, ``report_key =
keccak256("report:" + id)``, with prev = zero hash; its canonical text (RFC 8785, format in
``sme_credit/README.md``) is hashed once, at issue, and never rebuilt: a verifier needs only the text, the key
and the contract's ``head(report_key)``. ``chain_adapter.verify_report`` is the standalone checker.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext

from bills.events import canonical_text, format_at
from chain_adapter.hashing import record_key
from chain_adapter.models import AnchorStatus
from chain_adapter.selectors import deployment_current
from chain_adapter.verify import ChainView, VerifierError, fetch_chain_view
from chain_adapter.verify_report import ReportVerification, verify_report_bundle
from finance_portal.organizations.models import Organization
from sme_credit.models import REPORT_FORMAT, CreditProfile, CreditReport, CreditScore

BUNDLE_KIND = "credit_report"
BUNDLE_VERSION = 1


def report_key_of(report_id: int) -> str:
    return record_key(f"report:{report_id}")


def _org(org: Organization) -> dict[str, str]:
    return {"credit_code": org.credit_code, "legal_name": org.legal_name}


def report_object(*, report_id: int, organization: Organization, recipient: Organization, issued_at: dt.datetime,
                  profile: CreditProfile, score: CreditScore | None) -> dict[str, Any]:
    """The report's members (format 1). No floats: shares are decimal strings, times UTC ISO-8601 with a Z."""
    return {
        "v": REPORT_FORMAT,
        "kind": BUNDLE_KIND,
        "report": report_id,
        "organization": _org(organization),
        "recipient": _org(recipient),
        "issued_at": format_at(issued_at),
        "profile": {
            "settled_on_time": profile.settled_on_time,
            "settled_late": profile.settled_late,
            "days_late_total": profile.days_late_total,
            "days_late_max": profile.days_late_max,
            "overdue": profile.overdue,
            "defaulted": profile.defaulted,
            "bills_count": profile.bills_count,
            "bills_drawn": profile.bills_drawn,
            "volume_by_quarter": profile.volume_by_quarter,
            "largest_debtor": profile.largest_debtor.credit_code if profile.largest_debtor else None,
            "largest_debtor_share": format(profile.largest_debtor_share, "f"),
            "age_days": profile.age_days,
            "computed_at": format_at(profile.computed_at),
        },
        "score": None if score is None else {
            "score": score.score,
            "formula": score.formula,
            "computed_at": format_at(score.computed_at),
            "factors": score.factors,
        },
    }


def report_canonical(obj: dict[str, Any]) -> str:
    return canonical_text(obj)


def report_bundle(report: CreditReport) -> dict[str, Any]:
    """The report bundle (kind ``credit_report``, version 1): the canonical text and its hash, where it was
    anchored, and ``report``, the same members parsed, for reading (the verifier checks they agree)."""
    deployment = deployment_current(chain_id=settings.CHAIN_ID)
    anchored = report.anchor.status == AnchorStatus.CONFIRMED
    return {
        "kind": BUNDLE_KIND,
        "version": BUNDLE_VERSION,
        "report_id": report.pk,
        "report_key": report.report_key,
        "chain_id": settings.CHAIN_ID,
        "contract": deployment.address if deployment else None,
        "canonical": report.canonical,
        "hash": report.hash,
        "tx_hash": report.anchor.tx_hash if anchored else None,
        "block": report.anchor.block_number if anchored else None,
        "report": json.loads(report.canonical),
    }


@dataclass
class ReportVerdict:
    report: CreditReport
    result: ReportVerification | None
    chain_error: str | None = None

    @property
    def status(self) -> str:
        """``verified``, ``pending`` (sound, not anchored yet), ``mismatch`` or ``unknown``."""
        if self.result is None:
            return "unknown"
        if self.result.ok:
            return "verified"
        if self.result.pending:
            return "pending"
        return "mismatch"


def _chain_view(report: CreditReport, contract: str, from_block: int) -> ChainView:
    """The node's view of the report's key, cached once the report is anchored (it has one record: it never
    changes afterwards); before that, cached for a few seconds."""
    anchored = report.anchor.status == AnchorStatus.CONFIRMED
    key = f"sme_credit:report-view:{settings.CHAIN_ID}:{contract.lower()}:{report.report_key}:{anchored}"
    cached = cache.get(key)
    if isinstance(cached, dict) and "error" in cached:
        raise VerifierError(str(cached["error"]))
    if isinstance(cached, dict):
        return ChainView.from_dict(cached)
    block = report.anchor.block_number if anchored else None
    try:
        view = fetch_chain_view(settings.ETH_RPC_URL, contract=contract, bill_key=report.report_key,
                                from_block=block if block is not None else from_block, to_block=block, timeout=10)
    except VerifierError as err:
        cache.set(key, {"error": str(err)}, int(getattr(settings, "VERIFY_CHAIN_ERROR_CACHE_SECONDS", 10)))
        raise
    ttl = int(getattr(settings, "VERIFY_CHAIN_CACHE_SECONDS", 24 * 3600)) if anchored else 5
    cache.set(key, view.as_dict(), ttl)
    return view


def report_verdict(report: CreditReport) -> ReportVerdict:
    """The stored text rehashed, the bundle checked offline, and the head of its key on chain (cached)."""
    deployment = deployment_current(chain_id=settings.CHAIN_ID)
    if deployment is None:
        return ReportVerdict(report, None, gettext("no anchoring contract is deployed on this chain yet"))
    bundle = report_bundle(report)
    try:
        view = _chain_view(report, deployment.address, deployment.block_number or 0)
        result = verify_report_bundle(bundle, view=view)
    except VerifierError as err:
        return ReportVerdict(report, None, gettext("the chain could not be reached (%(error)s)") % {"error": err})
    return ReportVerdict(report, result)
