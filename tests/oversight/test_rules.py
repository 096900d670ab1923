"""The oversight rules as pure functions: each flags its case and not a clean one (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from finance_portal.oversight import rules
from finance_portal.oversight.models import Rule, Severity

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def alloc(n: int, amount: str, *, live: bool = True, financed: bool = False) -> rules.AllocationFacts:
    return rules.AllocationFacts(bill_id=f"b{n}", bill_number=f"B{n}", amount=D(amount), live=live, financed=financed)


def invoice(*allocations: rules.AllocationFacts, total: str = "10000.00") -> rules.InvoiceFacts:
    return rules.InvoiceFacts("i1", "INV1", 7, D(total), "CNY", allocations)


def test_an_invoice_behind_one_live_bill_is_clean():
    assert rules.invoice_reused(invoice(alloc(1, "10000.00"), alloc(2, "10000.00", live=False))) is None


def test_an_invoice_behind_two_live_bills_is_flagged_medium_within_its_total():
    f = rules.invoice_reused(invoice(alloc(1, "4000.00"), alloc(2, "6000.00")))
    assert f is not None and f.rule == Rule.INVOICE_REUSED and f.severity == Severity.MEDIUM
    assert f.subject == "invoice:i1" and f.evidence["allocated_live"] == "10000.00"
    assert [b["number"] for b in f.evidence["bills"]] == ["B1", "B2"] and "B1, B2" in f.explanation


def test_an_invoice_financed_twice_or_over_allocated_is_high():
    twice = rules.invoice_reused(invoice(alloc(1, "5000.00", live=False, financed=True),
                                         alloc(2, "5000.00", live=False, financed=True)))
    assert twice is not None and twice.severity == Severity.HIGH and "financed 2 times" in twice.explanation
    over = rules.invoice_reused(invoice(alloc(1, "10000.00"), alloc(2, "10000.00")))
    assert over is not None and over.severity == Severity.HIGH and "exceed" in over.explanation


def test_face_above_invoices():
    facts = rules.BackingFacts("b1", "B1", 3, D("10000.00"), "CNY", D("9000.00"), ["INV1"])
    f = rules.face_above_invoices(facts)
    assert f is not None and f.evidence["unbacked"] == "1000.00" and f.bill_id == "b1"
    clean = rules.BackingFacts("b1", "B1", 3, D("10000.00"), "CNY", D("10000.00"), ["INV1"])
    assert rules.face_above_invoices(clean) is None


def step(org: int, seq: int) -> rules.HolderStep:
    return rules.HolderStep(org, f"C{org}", seq)


def test_a_cycle_of_holders_is_found():
    cycle = rules.find_cycle([step(1, 0), step(2, 4), step(3, 6), step(1, 8)])
    assert cycle is not None and [s.organization_id for s in cycle] == [1, 2, 3, 1]
    f = rules.circular_transfer(bill_id="b", bill_number="B", steps=[step(1, 0), step(2, 4), step(1, 6)])
    assert f is not None and "C1 → C2 → C1" in f.explanation


def test_holders_that_never_return_are_clean_and_repeats_in_a_row_count_once():
    assert rules.find_cycle([step(1, 0), step(1, 3), step(2, 4), step(3, 6)]) is None


def fin(n: int, minutes: float, debtor: int = 5, day: int = 0) -> rules.FinancingFacts:
    accepted = T0 + dt.timedelta(days=day, hours=n)
    return rules.FinancingFacts(f"b{n}", f"B{n}", debtor, D("1000.00"), "CNY", accepted,
                                accepted + dt.timedelta(minutes=minutes))


def test_quick_financing_at_volume_flags_the_debtor_that_day():
    found = rules.quick_financing([fin(1, 5), fin(2, 10), fin(3, 29)], window_minutes=30, threshold=3)
    assert len(found) == 1 and found[0].subject == "org:5:2026-03-02" and found[0].organization_id == 5
    assert [b["number"] for b in found[0].evidence["bills"]] == ["B1", "B2", "B3"]


def test_slow_financing_or_low_volume_or_other_days_are_clean():
    assert rules.quick_financing([fin(1, 5), fin(2, 10), fin(3, 45)], window_minutes=30, threshold=3) == []
    assert rules.quick_financing([fin(1, 5), fin(2, 10, day=1), fin(3, 5, debtor=6)], window_minutes=30,
                                 threshold=2) == []


def test_an_amount_far_above_the_median_is_flagged_with_enough_history():
    kw = {"bill_id": "b", "bill_number": "B", "organization_id": 1, "currency": "CNY", "factor": D("10"),
          "min_history": 5}
    history = [D("1000"), D("1200"), D("900"), D("1100"), D("1000")]
    f = rules.amount_outlier(face=D("20000.00"), history=history, **kw)
    assert f is not None and f.evidence["median"] == "1000.00"
    assert rules.amount_outlier(face=D("9000.00"), history=history, **kw) is None
    assert rules.amount_outlier(face=D("90000.00"), history=history[:4], **kw) is None


def test_tenor_beyond_the_limit():
    kw = {"bill_id": "b", "bill_number": "B", "organization_id": 1, "issue_date": dt.date(2026, 1, 1)}
    f = rules.tenor_beyond_limit(maturity_date=dt.date(2027, 1, 5), limit_days=365, **kw)
    assert f is not None and f.evidence["tenor_days"] == 369
    assert rules.tenor_beyond_limit(maturity_date=dt.date(2027, 1, 1), limit_days=365, **kw) is None


def test_chain_mismatch():
    assert rules.chain_mismatch(bill_id="b", bill_number="B", problems=[]) is None
    f = rules.chain_mismatch(bill_id="b", bill_number="B", problems=["event #2: differs"])
    assert f is not None and f.severity == Severity.HIGH and f.evidence["problems"] == ["event #2: differs"]
