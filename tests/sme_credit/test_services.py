"""Profiles and scores recomputed from real bill histories, built through the bills services."""

from __future__ import annotations

import datetime as dt

import pytest

from bills import clock, services
from bills.models import BillState
from sme_credit.models import AppendOnlyViolation, CreditProfile, CreditScore
from sme_credit.services import credit_profile_refresh, credit_refresh, credit_score_compute
from tests.bills.factories import accepted, drain, financed, fund, in_days, make_invoice, past, refresh

pytestmark = pytest.mark.django_db


def points(score: CreditScore) -> dict[str, object]:
    return {f["factor"]: f["points"] for f in score.factors}


def test_a_bill_settled_on_its_maturity_date_counts_on_time(world):
    bill = financed(world, days=30)
    with past(30):
        services.bill_settle(bill_id=bill.pk, actor=world.user("buyer"))
        score = credit_refresh(organization=world.org("buyer"))
    profile = CreditProfile.objects.get(organization=world.org("buyer"))
    assert (profile.settled_on_time, profile.settled_late, profile.overdue, profile.defaulted) == (1, 0, 0, 0)
    assert points(score)["on_time"] == 10
    assert "1 bill settled on time: +10" in [f["reason"] for f in score.factors]


def test_a_bill_settled_late_counts_its_days_late(world):
    bill = accepted(world, days=30)
    with past(37):
        services.bill_settle(bill_id=bill.pk, actor=world.user("buyer"))
        score = credit_refresh(organization=world.org("buyer"))
    profile = CreditProfile.objects.get(organization=world.org("buyer"))
    assert (profile.settled_on_time, profile.settled_late, profile.days_late_total, profile.days_late_max) == (0, 1, 7, 7)
    assert points(score)["late"] == -15 and points(score)["days_late"] == -7
    assert "1 bill settled late: \u221215" in [f["reason"] for f in score.factors]


def test_a_defaulted_bill_weighs_on_its_debtor_not_its_supplier(world):
    bill = financed(world, days=30)
    drain(world.org("buyer"))
    with past(30 + 31):
        services.bills_mark_overdue_and_default()
        assert refresh(bill).state == BillState.DEFAULTED
        debtor = credit_refresh(organization=world.org("buyer"))
        supplier = credit_refresh(organization=world.org("supplier"))
    assert points(debtor)["defaulted"] == -100
    assert CreditProfile.objects.get(organization=world.org("buyer")).defaulted == 1
    assert points(supplier)["defaulted"] == 0
    fund(world.org("buyer"))


def test_an_overdue_bill_counts_while_it_is_unpaid(world):
    financed(world, days=30)
    drain(world.org("buyer"))
    with past(32):
        services.bills_mark_overdue_and_default()
        score = credit_refresh(organization=world.org("buyer"))
    assert points(score)["overdue"] == -40


def test_an_issued_bill_that_lapsed_unsigned_counts_for_nobody(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    bill = services.bill_issue(actor=world.user("buyer"), to=world.org("supplier").credit_code, face="10000.00",
                               invoice_allocations=[{"invoice": str(invoice.pk), "amount": "10000.00"}],
                               maturity_date=in_days(30).isoformat())
    with past(31):
        services.bills_mark_overdue_and_default()
        assert refresh(bill).state == BillState.CANCELLED
        for key in ("buyer", "supplier"):
            profile = credit_profile_refresh(organization=world.org(key))
            assert (profile.bills_count, profile.overdue, profile.defaulted, profile.settled_late) == (0, 0, 0, 0)
            assert profile.volume_by_quarter == {}


def test_volume_by_quarter_and_concentration_on_the_largest_debtor(world):
    for face in ("10000.00", "20000.00", "30000.00"):
        accepted(world, face)
    accepted(world, "40000.00", debtor="buyer2")
    profile = credit_profile_refresh(organization=world.org("supplier"))
    quarter = f"{clock.today().year}-Q{(clock.today().month - 1) // 3 + 1}"
    assert profile.volume_by_quarter == {quarter: {"count": 4, "face": {"CNY": "100000.00"}}}
    assert profile.bills_count == 4 and profile.bills_drawn == 4
    assert profile.largest_debtor == world.org("buyer")
    assert str(profile.largest_debtor_share) == "0.6000"


def test_a_score_is_appended_only_when_it_changes(world):
    first = credit_score_compute(organization=world.org("supplier"))
    assert credit_score_compute(organization=world.org("supplier")).pk == first.pk
    accepted(world)
    credit_profile_refresh(organization=world.org("supplier"))
    second = credit_score_compute(organization=world.org("supplier"))
    assert second.pk != first.pk and second.score == first.score + 2
    assert CreditScore.objects.filter(organization=world.org("supplier")).count() == 2


def test_scores_are_append_only(world):
    score = credit_score_compute(organization=world.org("supplier"))
    with pytest.raises(AppendOnlyViolation):
        score.save()
    with pytest.raises(AppendOnlyViolation):
        CreditScore.objects.filter(pk=score.pk).update(score=850)
    with pytest.raises(AppendOnlyViolation):
        score.delete()


def test_age_on_the_platform_adds_points(world):
    with clock.travel_to(clock.now() + dt.timedelta(days=181)):
        score = credit_refresh(organization=world.org("supplier"))
    assert points(score)["age"] == 20


def test_invoices_disputed_by_their_buyer_weigh_on_the_seller_not_the_buyer(world):
    from invoices.services import invoice_verify

    disputed = make_invoice(world.org("supplier"), world.org("buyer"), total="5000.00", status="registered")
    make_invoice(world.org("supplier"), world.org("buyer"), total="6000.00")
    invoice_verify(invoice_id=disputed.pk, actor=world.user("buyer"), verdict="disputed", note="Goods returned")
    score = credit_refresh(organization=world.org("supplier"))
    assert CreditProfile.objects.get(organization=world.org("supplier")).invoices_disputed == 1
    factors = {f["factor"]: f for f in score.factors}
    assert factors["disputes"]["points"] == -20
    assert factors["disputes"]["reason"] == "1 invoice disputed by the buyer: \u221220"
    credit_refresh(organization=world.org("buyer"))
    assert CreditProfile.objects.get(organization=world.org("buyer")).invoices_disputed == 0
