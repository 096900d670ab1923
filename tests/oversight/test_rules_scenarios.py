"""The rules of issue 10 on scenarios built through the real bill services: the amount outlier by robust z on
log amounts, large bills issued without invoices, circular transfers within a window; clean data stays clean."""

from __future__ import annotations

import pytest
from django.test import override_settings

from bills import services
from finance_portal.oversight.models import OversightFlag, Rule
from finance_portal.oversight.services import oversight_sweep
from tests.bills.factories import accepted, draft, in_days, make_invoice, past

pytestmark = pytest.mark.django_db


def flags(rule: str) -> list[OversightFlag]:
    return list(OversightFlag.objects.filter(rule=rule).order_by("id"))


def history(world, *faces: str) -> None:  # type: ignore[no-untyped-def]
    for face in faces:
        draft(world, face)


USUAL = ("10000.00", "12000.00", "9000.00", "11000.00", "10000.00")


# amount outlier: robust z on log amounts -------------------------------------------------------------------


@override_settings(OVERSIGHT_OUTLIER_Z="3.5", OVERSIGHT_OUTLIER_MIN_HISTORY=5)
def test_a_face_far_outside_a_varied_history_is_flagged_with_its_z(world):
    history(world, *USUAL)
    big = draft(world, "200000.00")
    after = draft(world, "13000.00")  # ordinary, though the history now holds the outlier
    oversight_sweep()
    [flag] = flags(Rule.AMOUNT_OUTLIER)
    assert flag.bill_id == big.pk and flag.evidence["method"] == "robust_z_log"
    assert float(flag.evidence["z"]) > 3.5 and flag.evidence["median"] == "10000.00"
    assert flag.evidence["history"] == ["10000.00", "12000.00", "9000.00", "11000.00", "10000.00"]
    assert flag.organization_id == world.org("supplier").pk
    assert not OversightFlag.objects.filter(bill=after).exists()


@override_settings(OVERSIGHT_OUTLIER_Z="3.5", OVERSIGHT_OUTLIER_MIN_HISTORY=5)
def test_a_face_far_below_the_history_is_flagged_too(world):
    history(world, *USUAL)
    small = draft(world, "300.00")
    oversight_sweep()
    [flag] = flags(Rule.AMOUNT_OUTLIER)
    assert flag.bill_id == small.pk and flag.evidence["z"].startswith("-")


@override_settings(OVERSIGHT_OUTLIER_Z="3.5", OVERSIGHT_OUTLIER_MIN_HISTORY=5)
def test_a_history_growing_by_ordinary_steps_is_clean(world):
    history(world, *USUAL, "14000.00", "8000.00", "15000.00")
    oversight_sweep()
    assert flags(Rule.AMOUNT_OUTLIER) == []


@override_settings(OVERSIGHT_OUTLIER_Z="12", OVERSIGHT_OUTLIER_MIN_HISTORY=5)
def test_the_z_threshold_is_a_setting(world):
    history(world, *USUAL)
    draft(world, "50000.00")  # z = 0.6745 · ln 5 / ln 1.1 ≈ 11.4: under a threshold of 12
    oversight_sweep()
    assert flags(Rule.AMOUNT_OUTLIER) == []


# issued without invoices -------------------------------------------------------------------------------------


def issue(world, face: str, **kw):  # type: ignore[no-untyped-def]
    return services.bill_issue(actor=world.user("buyer"), to=world.org("supplier").credit_code, face=face,
                               maturity_date=in_days(90).isoformat(), **kw)


@override_settings(OVERSIGHT_NO_INVOICE_THRESHOLD="1000000.00")
def test_a_large_bill_issued_without_invoices_is_flagged_against_its_issuer(world):
    bill = issue(world, "1500000.00")
    services.bill_receive(bill_id=bill.pk, actor=world.user("supplier"))
    oversight_sweep()
    [flag] = flags(Rule.ISSUED_WITHOUT_INVOICES)
    assert flag.bill_id == bill.pk and flag.organization_id == world.org("buyer").pk
    assert flag.evidence["face"] == "1500000.00" and flag.evidence["threshold"] == "1000000.00"
    assert flags(Rule.FACE_ABOVE_INVOICES) == []  # no invoices is this rule's concern, not "face above invoices"


@override_settings(OVERSIGHT_NO_INVOICE_THRESHOLD="1000000.00")
def test_small_bills_without_invoices_and_large_ones_with_invoices_are_clean(world):
    issue(world, "900000.00")
    inv = make_invoice(world.org("supplier"), world.org("buyer"), total="1500000.00")
    issue(world, "1500000.00", invoice_allocations=[{"invoice": str(inv.pk), "amount": "1500000.00"}])
    oversight_sweep()
    assert flags(Rule.ISSUED_WITHOUT_INVOICES) == [] and flags(Rule.FACE_ABOVE_INVOICES) == []


@override_settings(OVERSIGHT_NO_INVOICE_THRESHOLD="1000000.00")
def test_split_parts_of_a_bill_without_invoices_are_not_flagged_again(world):
    bill = issue(world, "1500000.00")
    services.bill_receive(bill_id=bill.pk, actor=world.user("supplier"))
    services.bill_split(bill_id=bill.pk, actor=world.user("supplier"),
                        parts=[{"face": "1200000.00"}, {"face": "300000.00"}])
    oversight_sweep()
    assert [f.bill_id for f in flags(Rule.ISSUED_WITHOUT_INVOICES)] == [bill.pk]


# circular transfers within a window --------------------------------------------------------------------------


def hand_over(world, bill, giver: str, taker: str) -> None:  # type: ignore[no-untyped-def]
    services.bill_transfer(bill_id=bill.pk, actor=world.user(giver), to=world.org(taker).credit_code)
    services.bill_receive(bill_id=bill.pk, actor=world.user(taker))


@override_settings(OVERSIGHT_CIRCULAR_WINDOW_DAYS=30)
def test_a_bill_back_to_its_holder_within_the_window_is_flagged(world):
    bill = accepted(world)
    hand_over(world, bill, "supplier", "supplier2")
    with past(20):
        hand_over(world, bill, "supplier2", "supplier")
    oversight_sweep()
    [flag] = flags(Rule.CIRCULAR_TRANSFER)
    assert flag.evidence["window_days"] == 30 and 19 * 86400 < flag.evidence["span_seconds"] <= 21 * 86400
    assert [s["credit_code"] for s in flag.evidence["cycle"]] == [
        world.org(k).credit_code for k in ("supplier", "supplier2", "supplier")]


@override_settings(OVERSIGHT_CIRCULAR_WINDOW_DAYS=30)
def test_a_bill_back_to_its_holder_after_the_window_is_clean(world):
    bill = accepted(world)
    hand_over(world, bill, "supplier", "supplier2")
    with past(45):
        hand_over(world, bill, "supplier2", "supplier")
    oversight_sweep()
    assert flags(Rule.CIRCULAR_TRANSFER) == []


@override_settings(OVERSIGHT_CIRCULAR_WINDOW_DAYS=60)
def test_the_window_is_a_setting(world):
    bill = accepted(world)
    hand_over(world, bill, "supplier", "supplier2")
    with past(45):
        hand_over(world, bill, "supplier2", "supplier")
    oversight_sweep()
    assert len(flags(Rule.CIRCULAR_TRANSFER)) == 1


def test_clean_business_raises_none_of_these_flags(world):
    history(world, *USUAL)
    bill = accepted(world)
    hand_over(world, bill, "supplier", "supplier2")
    issue(world, "11500.00")
    oversight_sweep()
    assert not OversightFlag.objects.filter(rule__in=[Rule.AMOUNT_OUTLIER, Rule.ISSUED_WITHOUT_INVOICES,
                                                      Rule.CIRCULAR_TRANSFER]).exists()
    assert OversightFlag.objects.count() == 0
