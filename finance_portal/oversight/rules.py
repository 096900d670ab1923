"""The oversight rules (DESIGN §9): pure functions from facts to findings, without I/O.

Each rule takes plain data (``*Facts`` dataclasses that ``finance_portal.oversight.selectors`` reads from the
database) and returns ``Finding``s: the rule, the subject (one flag per rule and subject), a severity, an
explanation a person can act on, and the evidence (ids and amounts as strings, never floats). Tests call them
with hand-made facts; the sweep (``services.oversight_sweep``, every rule over the platform) and the evaluation
after each bill event (``services.oversight_evaluate_bill``, the rules about that bill) feed them and store
what they find.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_noop

from bills.problems import message_text, problem_message
from finance_portal.oversight.models import Rule, Severity


@dataclass(frozen=True)
class Explanation:
    """A finding's explanation as a message: ``template`` an English msgid (``gettext_noop``) with ``%(name)s``
    placeholders, ``params`` its values as texts (numbers and money already formatted), or a nested message
    ``{"template", "params"}``. Each case is a whole sentence, so a translation never follows English word order."""

    template: str
    params: dict[str, Any]

    @property
    def text(self) -> str:
        """The English sentence, as stored in ``OversightFlag.explanation``."""
        return message_text(self.template, self.params, translate=str)


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str
    severity: str
    message: Explanation
    evidence: dict[str, Any]
    bill_id: Any = None  # a bill's UUID, when the finding is about one bill
    organization_id: int | None = None

    @property
    def explanation(self) -> str:
        return self.message.text


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


# (backs two live bills, financed twice, live allocations above the total) -> the sentence
_INVOICE_REUSED = {
    (True, False, True): gettext_noop(
        "Invoice %(invoice)s backs %(live_count)s live bills (%(live_bills)s); live allocations %(allocated)s "
        "exceed its total %(total)s."),
    (True, False, False): gettext_noop(
        "Invoice %(invoice)s backs %(live_count)s live bills (%(live_bills)s); live allocations %(allocated)s "
        "of %(total)s."),
    (False, True, True): gettext_noop(
        "Invoice %(invoice)s was financed %(financed_count)s times (%(financed_bills)s); live allocations "
        "%(allocated)s exceed its total %(total)s."),
    (False, True, False): gettext_noop(
        "Invoice %(invoice)s was financed %(financed_count)s times (%(financed_bills)s); live allocations "
        "%(allocated)s of %(total)s."),
    (True, True, True): gettext_noop(
        "Invoice %(invoice)s backs %(live_count)s live bills (%(live_bills)s) and was financed %(financed_count)s "
        "times (%(financed_bills)s); live allocations %(allocated)s exceed its total %(total)s."),
    (True, True, False): gettext_noop(
        "Invoice %(invoice)s backs %(live_count)s live bills (%(live_bills)s) and was financed %(financed_count)s "
        "times (%(financed_bills)s); live allocations %(allocated)s of %(total)s."),
}


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
    params = {"invoice": inv.invoice_number, "live_count": str(len(live)),
              "live_bills": ", ".join(a.bill_number for a in live), "financed_count": str(len(financed)),
              "financed_bills": ", ".join(a.bill_number for a in financed),
              "allocated": _money(allocated, inv.currency), "total": _money(inv.total, inv.currency)}
    return Finding(
        rule=Rule.INVOICE_REUSED, subject=f"invoice:{inv.invoice_id}",
        severity=Severity.HIGH if high else Severity.MEDIUM,
        message=Explanation(_INVOICE_REUSED[(len(live) >= 2, len(financed) >= 2, over)], params),
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
        message=Explanation(
            gettext_noop("Bill %(number)s has a face of %(face)s but its invoices back only %(allocated)s "
                         "(%(gap)s unbacked)."),
            {"number": b.bill_number, "face": _money(b.face, b.currency),
             "allocated": _money(b.allocated, b.currency), "gap": _money(gap, b.currency)}),
        evidence={"bill": str(b.bill_id), "number": b.bill_number, "face": f"{b.face:.2f}",
                  "allocated": f"{b.allocated:.2f}", "unbacked": f"{gap:.2f}", "currency": b.currency,
                  "invoices": list(b.invoices)},
        bill_id=b.bill_id, organization_id=b.creditor_id,
    )


# (c) circular transfers among one bill's holders, within a window ----------------------------------------


@dataclass(frozen=True)
class HolderStep:
    organization_id: int
    credit_code: str
    event_seq: int  # the event that made it the holder (the bill's first event for the creditor at creation)
    at: dt.datetime  # when that event happened


def find_cycle(steps: Sequence[HolderStep], *, window: dt.timedelta | None = None) -> list[HolderStep] | None:
    """The first cycle A → B → … → A in a sequence of holders (in event order; repeats in a row are one
    holder) whose steps all happen within ``window`` of each other, or None. ``window`` None: any span.

    Of the cycles that close at one step, the one from the holder's latest earlier appearance is the
    shortest in time, so it alone is checked against the window."""
    holders: list[HolderStep] = []
    for step in steps:
        if not holders or holders[-1].organization_id != step.organization_id:
            holders.append(step)
    last_seen: dict[int, int] = {}
    for i, step in enumerate(holders):
        start = last_seen.get(step.organization_id)
        if start is not None and (window is None or step.at - holders[start].at <= window):
            return holders[start: i + 1]
        last_seen[step.organization_id] = i
    return None


def circular_transfer(*, bill_id: Any, bill_number: str, steps: Sequence[HolderStep],
                      window_days: int | None = None) -> Finding | None:
    window = dt.timedelta(days=window_days) if window_days is not None else None
    cycle = find_cycle(steps, window=window)
    if cycle is None:
        return None
    path = " → ".join(s.credit_code for s in cycle)
    span = cycle[-1].at - cycle[0].at
    unit, count = _span_unit(span)
    params = {"number": bill_number, "count": str(count), "path": path}
    if window_days is not None:
        params["window"] = str(window_days)
    return Finding(
        rule=Rule.CIRCULAR_TRANSFER, subject=f"bill:{bill_id}", severity=Severity.MEDIUM,
        message=Explanation(_CIRCULAR[(unit, window_days is not None)], params),
        evidence={"bill": str(bill_id), "number": bill_number,
                  "window_days": window_days, "span_seconds": int(span.total_seconds()),
                  "cycle": [{"organization": s.organization_id, "credit_code": s.credit_code, "event_seq": s.event_seq,
                             "at": s.at.astimezone(dt.UTC).isoformat()}
                            for s in cycle]},
        bill_id=bill_id, organization_id=cycle[0].organization_id,
    )


def _span_unit(span: dt.timedelta) -> tuple[str, int]:
    """The span in whole days, hours or minutes: the largest unit it reaches."""
    if span >= dt.timedelta(days=1):
        return "days", span.days
    if span >= dt.timedelta(hours=1):
        return "hours", int(span.total_seconds() // 3600)
    return "minutes", int(span.total_seconds() // 60)


# (unit of the span, a window given) -> the sentence
_CIRCULAR = {
    ("days", True): gettext_noop(
        "Bill %(number)s came back to a past holder within %(count)s day(s) (window %(window)s days): %(path)s."),
    ("hours", True): gettext_noop(
        "Bill %(number)s came back to a past holder within %(count)s hour(s) (window %(window)s days): %(path)s."),
    ("minutes", True): gettext_noop(
        "Bill %(number)s came back to a past holder within %(count)s minute(s) (window %(window)s days): "
        "%(path)s."),
    ("days", False): gettext_noop("Bill %(number)s came back to a past holder within %(count)s day(s): %(path)s."),
    ("hours", False): gettext_noop("Bill %(number)s came back to a past holder within %(count)s hour(s): %(path)s."),
    ("minutes", False): gettext_noop(
        "Bill %(number)s came back to a past holder within %(count)s minute(s): %(path)s."),
}


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
    """Flag a debtor on a day (the platform's calendar) when at least ``threshold`` of its bills were bought within
    ``window_minutes`` of their acceptance."""
    window = dt.timedelta(minutes=window_minutes)
    groups: dict[tuple[int, dt.date], list[FinancingFacts]] = defaultdict(list)
    for f in items:
        if dt.timedelta(0) <= f.financed_at - f.accepted_at <= window:
            groups[(f.debtor_id, timezone.localdate(f.financed_at))].append(f)
    findings = []
    for (debtor_id, day), quick in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if len(quick) < threshold:
            continue
        quick.sort(key=lambda f: f.financed_at)
        findings.append(Finding(
            rule=Rule.QUICK_FINANCING, subject=f"org:{debtor_id}:{day.isoformat()}", severity=Severity.MEDIUM,
            message=Explanation(
                gettext_noop("%(count)s bills owed by this debtor were financed within %(minutes)s minutes of their "
                             "acceptance on %(day)s (threshold %(threshold)s)."),
                {"count": str(len(quick)), "minutes": str(window_minutes), "day": day.isoformat(),
                 "threshold": str(threshold)}),
            evidence={"debtor": debtor_id, "day": day.isoformat(), "window_minutes": window_minutes,
                      "threshold": threshold,
                      "bills": [{"bill": str(f.bill_id), "number": f.bill_number, "face": f"{f.face:.2f}",
                                 "currency": f.currency,
                                 "minutes": f"{Decimal((f.financed_at - f.accepted_at).total_seconds()) / 60:.1f}"}
                                for f in quick]},
            organization_id=debtor_id,
        ))
    return findings


# (e) an amount far outside the organization's history -----------------------------------------------------


MAD_SCALE = Decimal("0.6745")  # the normal distribution's MAD is 0.6745 σ: z reads like a standard score
LOG_PLACES = Decimal("1e-12")  # logs rounded here, so equal faces have equal logs and a MAD of exactly 0
MAD_ZERO = Decimal("1e-9")


def _log(amount: Decimal) -> Decimal:
    return amount.ln().quantize(LOG_PLACES)


def amount_outlier(*, bill_id: Any, bill_number: str, organization_id: int, face: Decimal, currency: str,
                   history: Sequence[Decimal], z_threshold: Decimal, factor: Decimal,
                   min_history: int) -> Finding | None:
    """Flag a face far outside the organization's earlier bills (``history``, most recent last), given at
    least ``min_history`` of them, by a robust z-score on log amounts (Iglewicz and Hoaglin's modified z):

        z = 0.6745 · (ln face − median(ln h)) / MAD,   MAD = median(|ln h − median(ln h)|)

    flagged when |z| > ``z_threshold`` (far above or far below). Logs, because amounts spread by ratios: a
    bill ten times the usual is as odd for a small supplier as for a large one. Median and MAD, because a
    past outlier must not hide the next one. When MAD is 0 (at least half the history has one face), z is
    undefined (below ``MAD_ZERO``): the face is flagged when it differs from the median by more than ``factor`` times either way
    (|ln face − median(ln h)| > ln ``factor``). Computed in ``Decimal`` (``ln`` to 28 digits); no floats."""
    if len(history) < min_history or face <= 0 or any(h <= 0 for h in history):
        return None
    logs = [_log(h) for h in history]
    centre = Decimal(statistics.median(logs))
    mad = Decimal(statistics.median([abs(x - centre) for x in logs]))
    distance = _log(face) - centre
    median_face = Decimal(statistics.median(history))
    ratio = face / median_face
    evidence: dict[str, Any] = {
        "bill": str(bill_id), "number": bill_number, "face": f"{face:.2f}", "currency": currency,
        "median": f"{median_face:.2f}", "median_log": f"{centre:.6f}", "mad_log": f"{mad:.6f}",
        "ratio_to_median": f"{ratio:.2f}", "z_threshold": str(z_threshold), "history": [f"{h:.2f}" for h in history],
    }
    params = {"number": bill_number, "face": _money(face, currency), "count": str(len(history)),
              "median": _money(median_face, currency)}
    if mad <= MAD_ZERO:
        if abs(distance) <= _log(factor):
            return None
        evidence.update(z=None, method="mad_zero_ratio", factor=str(factor))
        message = Explanation(
            gettext_noop("Bill %(number)s's face %(face)s is %(ratio)s × the face its previous %(count)s bills "
                         "mostly share (%(median)s): beyond %(factor)s × either way, the limit when they have one "
                         "face."),
            {**params, "ratio": f"{ratio:.1f}", "factor": str(factor)})
    else:
        z = MAD_SCALE * distance / mad
        if abs(z) <= z_threshold:
            return None
        evidence.update(z=f"{z:.2f}", method="robust_z_log")
        above = gettext_noop(
            "Bill %(number)s's face %(face)s lies %(z)s robust standard deviations above its creditor's previous "
            "%(count)s bills (median %(median)s, %(ratio)s × it; limit |z| %(limit)s).")
        below = gettext_noop(
            "Bill %(number)s's face %(face)s lies %(z)s robust standard deviations below its creditor's previous "
            "%(count)s bills (median %(median)s, %(ratio)s × it; limit |z| %(limit)s).")
        message = Explanation(above if distance > 0 else below,
                              {**params, "z": f"{abs(z):.1f}", "ratio": f"{ratio:.2f}", "limit": str(z_threshold)})
    return Finding(
        rule=Rule.AMOUNT_OUTLIER, subject=f"bill:{bill_id}", severity=Severity.MEDIUM, message=message,
        evidence=evidence, bill_id=bill_id, organization_id=organization_id,
    )


# (f) tenor beyond the limit -------------------------------------------------------------------------------


def tenor_beyond_limit(*, bill_id: Any, bill_number: str, organization_id: int, issue_date: dt.date,
                       maturity_date: dt.date, limit_days: int) -> Finding | None:
    tenor = (maturity_date - issue_date).days
    if tenor <= limit_days:
        return None
    return Finding(
        rule=Rule.TENOR_BEYOND_LIMIT, subject=f"bill:{bill_id}", severity=Severity.MEDIUM,
        message=Explanation(
            gettext_noop("Bill %(number)s runs %(tenor)s days from issue to maturity; the limit is %(limit)s."),
            {"number": bill_number, "tenor": str(tenor), "limit": str(limit_days)}),
        evidence={"bill": str(bill_id), "number": bill_number, "issue_date": issue_date.isoformat(),
                  "maturity_date": maturity_date.isoformat(), "tenor_days": tenor, "limit_days": limit_days},
        bill_id=bill_id, organization_id=organization_id,
    )


# (g) a database history that no longer matches its chain -------------------------------------------------


def chain_mismatch(*, bill_id: Any, bill_number: str, problems: Sequence[str],
                   run_id: int | None = None) -> Finding | None:
    """``problems``: from the database alone (the sweep), or against the chain too (a reconciliation run,
    ``run_id``)."""
    if not problems:
        return None
    evidence: dict[str, Any] = {"bill": str(bill_id), "number": bill_number, "problems": list(problems)}
    if run_id is not None:
        evidence["reconciliation_run"] = run_id
    template = (
        gettext_noop("Bill %(number)s's history in the database no longer matches the chain (%(count)s problem(s)): "
                     "%(problem)s") if run_id is not None else
        gettext_noop("Bill %(number)s's history in the database no longer matches its hash chain (%(count)s "
                     "problem(s)): %(problem)s"))
    return Finding(
        rule=Rule.CHAIN_MISMATCH, subject=f"bill:{bill_id}", severity=Severity.HIGH,
        message=Explanation(template, {"number": bill_number, "count": str(len(problems)),
                                       "problem": problem_message(problems[0])}),
        evidence=evidence, bill_id=bill_id,
    )


# (h) a large root bill issued without invoices ------------------------------------------------------------


def issued_without_invoices(*, bill_id: Any, bill_number: str, debtor_id: int, creditor_id: int, face: Decimal,
                            currency: str, allocations: int, threshold: Decimal,
                            threshold_currency: str) -> Finding | None:
    """Flag a root bill with no invoice allocation whose face is above ``threshold``. A core enterprise may
    issue a bill without invoices (``bill_issue``); a large one deserves a look. Bills in a currency other
    than the threshold's are not compared (the platform keeps no exchange rates)."""
    if allocations > 0 or currency != threshold_currency or face <= threshold:
        return None
    return Finding(
        rule=Rule.ISSUED_WITHOUT_INVOICES, subject=f"bill:{bill_id}", severity=Severity.MEDIUM,
        message=Explanation(
            gettext_noop("Bill %(number)s has a face of %(face)s and no invoice behind it (the threshold for bills "
                         "without invoices is %(threshold)s)."),
            {"number": bill_number, "face": _money(face, currency),
             "threshold": _money(threshold, threshold_currency)}),
        evidence={"bill": str(bill_id), "number": bill_number, "face": f"{face:.2f}", "currency": currency,
                  "threshold": f"{threshold:.2f}", "invoices": [], "debtor": debtor_id, "creditor": creditor_id},
        bill_id=bill_id, organization_id=debtor_id,
    )
