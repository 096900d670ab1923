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


def step(org: int, seq: int, day: float = 0) -> rules.HolderStep:
    return rules.HolderStep(org, f"C{org}", seq, T0 + dt.timedelta(days=day))


def test_a_cycle_of_holders_is_found():
    cycle = rules.find_cycle([step(1, 0), step(2, 4), step(3, 6), step(1, 8)])
    assert cycle is not None and [s.organization_id for s in cycle] == [1, 2, 3, 1]
    f = rules.circular_transfer(bill_id="b", bill_number="B", steps=[step(1, 0), step(2, 4), step(1, 6)])
    assert f is not None and "C1 → C2 → C1" in f.explanation


def test_holders_that_never_return_are_clean_and_repeats_in_a_row_count_once():
    assert rules.find_cycle([step(1, 0), step(1, 3), step(2, 4), step(3, 6)]) is None


def test_a_cycle_closed_within_the_window_is_flagged_with_its_span():
    steps = [step(1, 1, 0), step(2, 4, 10), step(3, 6, 20), step(1, 8, 29.5)]
    f = rules.circular_transfer(bill_id="b", bill_number="B", steps=steps, window_days=30)
    assert f is not None and f.evidence["window_days"] == 30 and f.evidence["span_seconds"] == int(29.5 * 86400)
    assert [s["at"] for s in f.evidence["cycle"]][0] == T0.isoformat() and "within 29 day(s)" in f.explanation


def test_a_cycle_spread_over_more_than_the_window_is_clean():
    steps = [step(1, 1, 0), step(2, 4, 10), step(3, 6, 20), step(1, 8, 31)]
    assert rules.circular_transfer(bill_id="b", bill_number="B", steps=steps, window_days=30) is None
    assert rules.find_cycle(steps) is not None  # without a window it is a cycle


def test_the_tightest_cycle_is_checked_against_the_window():
    # 1 holds it, 2, back to 1 after 40 days (too slow), on to 3 and back to 1 within 5 days: flagged
    steps = [step(1, 1, 0), step(2, 2, 20), step(1, 3, 40), step(3, 4, 42), step(1, 5, 45)]
    cycle = rules.find_cycle(steps, window=dt.timedelta(days=30))
    assert cycle is not None and [s.event_seq for s in cycle] == [3, 4, 5]


def fin(n: int, minutes: float, debtor: int = 5, day: int = 0) -> rules.FinancingFacts:
    accepted = T0 + dt.timedelta(days=day, hours=n)
    return rules.FinancingFacts(f"b{n}", f"B{n}", debtor, D("1000.00"), "CNY", accepted,
                                accepted + dt.timedelta(minutes=minutes))


def test_quick_financing_at_volume_flags_the_debtor_that_day():
    found = rules.quick_financing([fin(1, 5), fin(2, 10), fin(3, 29)], window_minutes=30, threshold=3)
    assert len(found) == 1 and found[0].subject == "org:5:2026-03-02" and found[0].organization_id == 5
    assert [b["number"] for b in found[0].evidence["bills"]] == ["B1", "B2", "B3"]
    assert [b["minutes"] for b in found[0].evidence["bills"]] == ["5.0", "10.0", "29.0"]  # text, never floats


def test_slow_financing_or_low_volume_or_other_days_are_clean():
    assert rules.quick_financing([fin(1, 5), fin(2, 10), fin(3, 45)], window_minutes=30, threshold=3) == []
    assert rules.quick_financing([fin(1, 5), fin(2, 10, day=1), fin(3, 5, debtor=6)], window_minutes=30,
                                 threshold=2) == []


OUTLIER = {"bill_id": "b", "bill_number": "B", "organization_id": 1, "currency": "CNY", "z_threshold": D("3.5"),
           "factor": D("10"), "min_history": 5}
HISTORY = [D("1000"), D("1200"), D("900"), D("1100"), D("1000")]


def test_robust_z_on_log_amounts_flags_far_above_and_far_below():
    # logs around ln 1000 with MAD ≈ 0.0953 (ln 1.1): 2000 is z ≈ 4.9, 1500 is z ≈ 2.9
    up = rules.amount_outlier(face=D("2000.00"), history=HISTORY, **OUTLIER)
    assert up is not None and up.rule == Rule.AMOUNT_OUTLIER and up.evidence["method"] == "robust_z_log"
    assert up.evidence["z"] == "4.91" and up.evidence["median"] == "1000.00" and "above" in up.explanation
    assert up.evidence["mad_log"] == "0.095310" and up.evidence["ratio_to_median"] == "2.00"
    down = rules.amount_outlier(face=D("400.00"), history=HISTORY, **OUTLIER)
    assert down is not None and down.evidence["z"].startswith("-") and "below" in down.explanation
    assert rules.amount_outlier(face=D("1500.00"), history=HISTORY, **OUTLIER) is None


def test_evidence_is_text_never_floats():
    f = rules.amount_outlier(face=D("20000.00"), history=HISTORY, **OUTLIER)
    assert f is not None
    for key in ("z", "median", "median_log", "mad_log", "face", "ratio_to_median", "z_threshold"):
        assert isinstance(f.evidence[key], str), key
    assert all(isinstance(h, str) for h in f.evidence["history"])


def test_a_past_outlier_does_not_hide_the_next_one():
    history = [*HISTORY, D("900000.00")]  # the mean would be swamped; the median and MAD are not
    assert rules.amount_outlier(face=D("20000.00"), history=history, **OUTLIER) is not None


def test_too_little_history_is_clean():
    assert rules.amount_outlier(face=D("90000.00"), history=HISTORY[:4], **OUTLIER) is None


def test_when_the_history_has_one_face_the_factor_decides():
    same = [D("1000.00")] * 6
    assert rules.amount_outlier(face=D("9000.00"), history=same, **OUTLIER) is None
    assert rules.amount_outlier(face=D("1000.01"), history=same, **OUTLIER) is None
    big = rules.amount_outlier(face=D("10500.00"), history=same, **OUTLIER)
    assert big is not None and big.evidence["method"] == "mad_zero_ratio" and big.evidence["z"] is None
    small = rules.amount_outlier(face=D("99.00"), history=same, **OUTLIER)
    assert small is not None and small.evidence["factor"] == "10"
    # more than half share one face: the MAD is 0 too
    mostly = [D("1000.00")] * 4 + [D("3000.00"), D("5000.00")]
    assert rules.amount_outlier(face=D("5000.00"), history=mostly, **OUTLIER) is None


NO_INVOICE = {"bill_id": "b", "bill_number": "B", "debtor_id": 4, "creditor_id": 2, "currency": "CNY",
              "threshold": D("1000000.00"), "threshold_currency": "CNY"}


def test_a_large_bill_without_invoices_is_flagged_against_its_debtor():
    f = rules.issued_without_invoices(face=D("1000000.01"), allocations=0, **NO_INVOICE)
    assert f is not None and f.rule == Rule.ISSUED_WITHOUT_INVOICES and f.subject == "bill:b"
    assert f.organization_id == 4 and f.evidence["threshold"] == "1000000.00" and f.evidence["face"] == "1000000.01"


def test_bills_with_invoices_at_or_under_the_threshold_or_in_another_currency_are_clean():
    assert rules.issued_without_invoices(face=D("1000000.00"), allocations=0, **NO_INVOICE) is None
    assert rules.issued_without_invoices(face=D("5000000.00"), allocations=1, **NO_INVOICE) is None
    usd = {**NO_INVOICE, "currency": "USD"}
    assert rules.issued_without_invoices(face=D("5000000.00"), allocations=0, **usd) is None


def test_tenor_beyond_the_limit():
    kw = {"bill_id": "b", "bill_number": "B", "organization_id": 1, "issue_date": dt.date(2026, 1, 1)}
    f = rules.tenor_beyond_limit(maturity_date=dt.date(2027, 1, 5), limit_days=365, **kw)
    assert f is not None and f.evidence["tenor_days"] == 369
    assert rules.tenor_beyond_limit(maturity_date=dt.date(2027, 1, 1), limit_days=365, **kw) is None


def test_chain_mismatch():
    assert rules.chain_mismatch(bill_id="b", bill_number="B", problems=[]) is None
    f = rules.chain_mismatch(bill_id="b", bill_number="B", problems=["event #2: differs"])
    assert f is not None and f.severity == Severity.HIGH and f.evidence["problems"] == ["event #2: differs"]
    run = rules.chain_mismatch(bill_id="b", bill_number="B", problems=["head differs"], run_id=7)
    assert run is not None and run.evidence["reconciliation_run"] == 7 and "the chain" in run.explanation
