"""The oversight rules (DESIGN §9): pure functions from facts to findings, without I/O.

Each rule takes plain data (``*Facts`` dataclasses that ``finance_portal.oversight.selectors`` reads from the
database) and returns ``Finding``s: the rule, the subject (one flag per rule and subject), a severity, an
explanation a person can act on, and the evidence (ids and amounts as strings, never floats). Tests call them
with hand-made facts; the sweep (``services.oversight_sweep``) feeds them and stores what they find.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from finance_portal.oversight.models import Rule, Severity


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str
    severity: str
    explanation: str
    evidence: dict[str, Any]
    bill_id: Any = None  # a bill's UUID, when the finding is about one bill
    organization_id: int | None = None


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}"


# (a) one invoice behind two live bills, or financed twice -------------------------------------------------


@dataclass(frozen=True)
class AllocationFacts:
    bill_id: Any
    bill_number: str
    amount: Decimal
    live: bool  # the bill (or a part of it) can still be paid or financed
    financed: bool  # the bill or one of its split parts has been bought


@dataclass(frozen=True)
class InvoiceFacts:
    invoice_id: Any
    invoice_number: str
    seller_id: int
    total: Decimal
    currency: str
    allocations: Sequence[AllocationFacts] = field(default_factory=tuple)


def invoice_reused(inv: InvoiceFacts) -> Finding | None:
    """Flag an invoice that backs two or more live bills, or two or more financed ones.

    High when it was financed twice or its live allocations exceed its total; medium otherwise (a legitimate
    split of one invoice across bills is possible, but the regulator looks at it)."""
    live = [a for a in inv.allocations if a.live]
    financed = [a for a in inv.allocations if a.financed]
    if len(live) < 2 and len(financed) < 2:
        return None
    allocated = sum((a.amount for a in live), Decimal("0"))
    over = allocated > inv.total
    high = len(financed) >= 2 or over
    parts = []
    if len(live) >= 2:
        parts.append(f"backs {len(live)} live bills ({', '.join(a.bill_number for a in live)})")
    if len(financed) >= 2:
        parts.append(f"was financed {len(financed)} times ({', '.join(a.bill_number for a in financed)})")
    explanation = f"Invoice {inv.invoice_number} " + " and ".join(parts) + (
        f"; live allocations {_money(allocated, inv.currency)} exceed its total {_money(inv.total, inv.currency)}"
        if over else f"; live allocations {_money(allocated, inv.currency)} of {_money(inv.total, inv.currency)}"
    ) + "."
    return Finding(
        rule=Rule.INVOICE_REUSED, subject=f"invoice:{inv.invoice_id}",
        severity=Severity.HIGH if high else Severity.MEDIUM, explanation=explanation,
        evidence={
            "invoice": str(inv.invoice_id), "invoice_number": inv.invoice_number,
            "invoice_total": f"{inv.total:.2f}", "currency": inv.currency, "allocated_live": f"{allocated:.2f}",
            "bills": [{"bill": str(a.bill_id), "number": a.bill_number, "amount": f"{a.amount:.2f}",
                       "live": a.live, "financed": a.financed} for a in inv.allocations],
        },
        organization_id=inv.seller_id,
    )


# (b) a root bill's face above its invoices' allocations ---------------------------------------------------


@dataclass(frozen=True)
class BackingFacts:
    bill_id: Any
    bill_number: str
    creditor_id: int
    face: Decimal
    currency: str
    allocated: Decimal  # the total of the bill's invoice allocations (0 when it has none)
    invoices: Sequence[str] = ()


def face_above_invoices(b: BackingFacts) -> Finding | None:
    if b.face <= b.allocated:
        return None
    gap = b.face - b.allocated
    return Finding(
        rule=Rule.FACE_ABOVE_INVOICES, subject=f"bill:{b.bill_id}", severity=Severity.HIGH,
        explanation=(f"Bill {b.bill_number} has a face of {_money(b.face, b.currency)} but its invoices back only "
                     f"{_money(b.allocated, b.currency)} ({_money(gap, b.currency)} unbacked)."),
        evidence={"bill": str(b.bill_id), "number": b.bill_number, "face": f"{b.face:.2f}",
                  "allocated": f"{b.allocated:.2f}", "unbacked": f"{gap:.2f}", "currency": b.currency,
                  "invoices": list(b.invoices)},
        bill_id=b.bill_id, organization_id=b.creditor_id,
    )


# (c) circular transfers among one bill's holders ----------------------------------------------------------


@dataclass(frozen=True)
class HolderStep:
    organization_id: int
    credit_code: str
    event_seq: int  # the event that made it the holder (0: the creditor at creation)


def find_cycle(steps: Sequence[HolderStep]) -> list[HolderStep] | None:
    """The first cycle A → B → … → A in a sequence of holders (repeats in a row are one holder), or None."""
    holders: list[HolderStep] = []
    for step in steps:
        if not holders or holders[-1].organization_id != step.organization_id:
            holders.append(step)
    seen: dict[int, int] = {}
    for i, step in enumerate(holders):
        if step.organization_id in seen:
            return holders[seen[step.organization_id]: i + 1]
        seen[step.organization_id] = i
    return None


def circular_transfer(*, bill_id: Any, bill_number: str, steps: Sequence[HolderStep]) -> Finding | None:
    cycle = find_cycle(steps)
    if cycle is None:
        return None
    path = " → ".join(s.credit_code for s in cycle)
    return Finding(
        rule=Rule.CIRCULAR_TRANSFER, subject=f"bill:{bill_id}", severity=Severity.MEDIUM,
        explanation=f"Bill {bill_number} came back to a past holder: {path}.",
        evidence={"bill": str(bill_id), "number": bill_number,
                  "cycle": [{"organization": s.organization_id, "credit_code": s.credit_code, "event_seq": s.event_seq}
                            for s in cycle]},
        bill_id=bill_id, organization_id=cycle[0].organization_id,
    )


# (d) financing within minutes of acceptance, at volume, per debtor per day --------------------------------


@dataclass(frozen=True)
class FinancingFacts:
    bill_id: Any
    bill_number: str
    debtor_id: int
    face: Decimal
    currency: str
    accepted_at: dt.datetime
    financed_at: dt.datetime


def quick_financing(items: Iterable[FinancingFacts], *, window_minutes: int, threshold: int) -> list[Finding]:
    """Flag a debtor on a day (UTC) when at least ``threshold`` of its bills were bought within
    ``window_minutes`` of their acceptance."""
    window = dt.timedelta(minutes=window_minutes)
    groups: dict[tuple[int, dt.date], list[FinancingFacts]] = defaultdict(list)
    for f in items:
        if dt.timedelta(0) <= f.financed_at - f.accepted_at <= window:
            groups[(f.debtor_id, f.financed_at.astimezone(dt.UTC).date())].append(f)
    findings = []
    for (debtor_id, day), quick in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if len(quick) < threshold:
            continue
        quick.sort(key=lambda f: f.financed_at)
        findings.append(Finding(
            rule=Rule.QUICK_FINANCING, subject=f"org:{debtor_id}:{day.isoformat()}", severity=Severity.MEDIUM,
            explanation=(f"{len(quick)} bills owed by this debtor were financed within {window_minutes} minutes of "
                         f"their acceptance on {day.isoformat()} (threshold {threshold})."),
            evidence={"debtor": debtor_id, "day": day.isoformat(), "window_minutes": window_minutes,
                      "threshold": threshold,
                      "bills": [{"bill": str(f.bill_id), "number": f.bill_number, "face": f"{f.face:.2f}",
                                 "currency": f.currency,
                                 "minutes": round((f.financed_at - f.accepted_at).total_seconds() / 60, 1)}
                                for f in quick]},
            organization_id=debtor_id,
        ))
    return findings


# (e) an amount far outside the organization's history -----------------------------------------------------


def amount_outlier(*, bill_id: Any, bill_number: str, organization_id: int, face: Decimal, currency: str,
                   history: Sequence[Decimal], factor: Decimal, min_history: int) -> Finding | None:
    """Flag a face above ``factor`` × the median of the organization's earlier bills (``history``, most recent
    last), given at least ``min_history`` of them."""
    if len(history) < min_history:
        return None
    median = Decimal(statistics.median(history))
    if face <= factor * median:
        return None
    return Finding(
        rule=Rule.AMOUNT_OUTLIER, subject=f"bill:{bill_id}", severity=Severity.MEDIUM,
        explanation=(f"Bill {bill_number}'s face {_money(face, currency)} is {face / median:.1f} × the median "
                     f"{_money(median, currency)} of the creditor's previous {len(history)} bills (limit {factor} ×)."),
        evidence={"bill": str(bill_id), "number": bill_number, "face": f"{face:.2f}", "currency": currency,
                  "median": f"{median:.2f}", "factor": str(factor), "history": [f"{h:.2f}" for h in history]},
        bill_id=bill_id, organization_id=organization_id,
    )


# (f) tenor beyond the limit -------------------------------------------------------------------------------


def tenor_beyond_limit(*, bill_id: Any, bill_number: str, organization_id: int, issue_date: dt.date,
                       maturity_date: dt.date, limit_days: int) -> Finding | None:
    tenor = (maturity_date - issue_date).days
    if tenor <= limit_days:
        return None
    return Finding(
        rule=Rule.TENOR_BEYOND_LIMIT, subject=f"bill:{bill_id}", severity=Severity.MEDIUM,
        explanation=f"Bill {bill_number} runs {tenor} days from issue to maturity; the limit is {limit_days}.",
        evidence={"bill": str(bill_id), "number": bill_number, "issue_date": issue_date.isoformat(),
                  "maturity_date": maturity_date.isoformat(), "tenor_days": tenor, "limit_days": limit_days},
        bill_id=bill_id, organization_id=organization_id,
    )


# (g) a database history that no longer matches its chain -------------------------------------------------


def chain_mismatch(*, bill_id: Any, bill_number: str, problems: Sequence[str]) -> Finding | None:
    if not problems:
        return None
    return Finding(
        rule=Rule.CHAIN_MISMATCH, subject=f"bill:{bill_id}", severity=Severity.HIGH,
        explanation=(f"Bill {bill_number}'s history in the database no longer matches its hash chain "
                     f"({len(problems)} problem(s)): {problems[0]}"),
        evidence={"bill": str(bill_id), "number": bill_number, "problems": list(problems)},
        bill_id=bill_id,
    )
