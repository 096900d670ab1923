"""Each rule, fed by its selector, flags its scenario built through the real bill services (or an edit behind the
application's back) and leaves clean data alone; the sweep is idempotent; flags and their audit are kept."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import override_settings

from bills import services
from finance_portal.oversight.models import OversightFlag, Rule
from finance_portal.oversight.services import flag_acknowledge, oversight_sweep
from tests.bills.factories import accepted, draft, financed, listed, make_invoice, past
from tests.oversight.conftest import sql

pytestmark = pytest.mark.django_db


def flags(rule: str) -> list[OversightFlag]:
    return list(OversightFlag.objects.filter(rule=rule).order_by("id"))


def test_clean_business_raises_no_flag(world):
    financed(world)
    accepted(world, debtor="buyer2")
    b = accepted(world, "20000.00")
    services.bill_transfer(bill_id=b.pk, actor=world.user("supplier"), to=world.org("supplier2").credit_code)
    services.bill_receive(bill_id=b.pk, actor=world.user("supplier2"))
    result = oversight_sweep()
    assert result.created == 0 and OversightFlag.objects.count() == 0


# (a) -------------------------------------------------------------------------------------------------------


def test_an_invoice_split_over_two_live_bills_is_flagged(world):
    inv = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    a = draft(world, "4000.00", invoice=inv)
    b = draft(world, "6000.00", invoice=inv)
    oversight_sweep()
    [flag] = flags(Rule.INVOICE_REUSED)
    assert flag.subject == f"invoice:{inv.pk}" and flag.severity == "medium"
    assert {x["bill"] for x in flag.evidence["bills"]} == {str(a.pk), str(b.pk)}


def test_an_invoice_financed_twice_is_flagged_high(world):
    inv = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    financed(world, "5000.00", invoice=inv)
    financed(world, "5000.00", invoice=inv, buyer="financier2")
    oversight_sweep()
    [flag] = flags(Rule.INVOICE_REUSED)
    assert flag.severity == "high" and "financed 2 times" in flag.explanation
    assert all(x["financed"] for x in flag.evidence["bills"])


def test_an_invoice_of_a_cancelled_bill_reused_is_clean(world):
    inv = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    first = draft(world, "10000.00", invoice=inv)
    services.bill_cancel(bill_id=first.pk, actor=world.user("supplier"), reason="wrong terms")
    draft(world, "10000.00", invoice=inv)
    oversight_sweep()
    assert flags(Rule.INVOICE_REUSED) == []


# (b) -------------------------------------------------------------------------------------------------------


def test_a_face_above_its_allocations_is_flagged(world):
    bill = financed(world, "10000.00")
    sql("UPDATE bills_billallocation SET amount = amount - 2500 WHERE bill_id = %s", [bill.pk])
    oversight_sweep()
    [flag] = flags(Rule.FACE_ABOVE_INVOICES)
    assert flag.bill_id == bill.pk and flag.evidence["unbacked"] == "2500.00"
    assert flag.evidence["allocated"] == "7500.00" and flag.organization_id == world.org("supplier").pk


def test_split_parts_are_not_held_to_the_root_allocations(world):
    bill = accepted(world, "10000.00")
    services.bill_split(bill_id=bill.pk, actor=world.user("supplier"), parts=[{"face": "4000.00"},
                                                                                {"face": "6000.00"}])
    oversight_sweep()
    assert flags(Rule.FACE_ABOVE_INVOICES) == []


# (c) -------------------------------------------------------------------------------------------------------


def test_a_bill_that_comes_back_to_its_first_holder_is_flagged(world):
    bill = accepted(world)
    for giver, taker in (("supplier", "supplier2"), ("supplier2", "supplier")):
        services.bill_transfer(bill_id=bill.pk, actor=world.user(giver), to=world.org(taker).credit_code)
        services.bill_receive(bill_id=bill.pk, actor=world.user(taker))
    oversight_sweep()
    [flag] = flags(Rule.CIRCULAR_TRANSFER)
    codes = [s["credit_code"] for s in flag.evidence["cycle"]]
    assert codes == [world.org(k).credit_code for k in ("supplier", "supplier2", "supplier")]


# (d) -------------------------------------------------------------------------------------------------------


@override_settings(OVERSIGHT_QUICK_FINANCING_COUNT=2, OVERSIGHT_QUICK_FINANCING_MINUTES=30)
def test_financing_right_after_acceptance_at_volume_flags_the_debtor(world):
    a, b = financed(world), financed(world)
    financed(world, debtor="buyer2")  # one bill of another debtor: under the threshold
    oversight_sweep()
    [flag] = flags(Rule.QUICK_FINANCING)
    assert flag.organization_id == world.org("buyer").pk
    assert {x["bill"] for x in flag.evidence["bills"]} == {str(a.pk), str(b.pk)}


@override_settings(OVERSIGHT_QUICK_FINANCING_COUNT=2, OVERSIGHT_QUICK_FINANCING_MINUTES=30)
def test_financing_a_day_after_acceptance_is_clean(world):
    for _ in range(2):
        bill = listed(world)
        with past(1):
            services.bill_buy(bill_id=bill.pk, actor=world.user("financier"))
    oversight_sweep()
    assert flags(Rule.QUICK_FINANCING) == []


# (e) -------------------------------------------------------------------------------------------------------


@override_settings(OVERSIGHT_OUTLIER_FACTOR="10", OVERSIGHT_OUTLIER_MIN_HISTORY=5)
def test_an_amount_far_outside_the_creditors_history_is_flagged(world):
    for _ in range(5):
        draft(world, "1000.00")
    big = draft(world, "50000.00")
    ordinary = draft(world, "5000.00")
    oversight_sweep()
    [flag] = flags(Rule.AMOUNT_OUTLIER)
    assert flag.bill_id == big.pk and flag.evidence["median"] == "1000.00"
    assert not OversightFlag.objects.filter(bill=ordinary).exists()


@override_settings(OVERSIGHT_OUTLIER_FACTOR="10", OVERSIGHT_OUTLIER_MIN_HISTORY=5)
def test_a_large_amount_without_enough_history_is_clean(world):
    for _ in range(4):
        draft(world, "1000.00")
    draft(world, "50000.00")
    oversight_sweep()
    assert flags(Rule.AMOUNT_OUTLIER) == []


# (f) -------------------------------------------------------------------------------------------------------


def test_a_tenor_beyond_the_limit_is_flagged(world):
    with override_settings(BILL_MAX_TENOR_DAYS=400):
        long = draft(world, days=380)  # allowed then; the limit is 365 now
    draft(world, days=365)
    oversight_sweep()
    [flag] = flags(Rule.TENOR_BEYOND_LIMIT)
    assert flag.bill_id == long.pk and flag.evidence["tenor_days"] == 380 and flag.evidence["limit_days"] == 365


# (g) -------------------------------------------------------------------------------------------------------


def test_a_history_edited_behind_the_applications_back_is_flagged(world):
    bill = accepted(world)
    sound = accepted(world)
    sql("UPDATE bills_billevent SET amounts = '{\"face\": \"99999.00\"}' WHERE bill_id = %s AND seq = 2", [bill.pk])
    oversight_sweep()
    [flag] = flags(Rule.CHAIN_MISMATCH)
    assert flag.bill_id == bill.pk and flag.severity == "high"
    assert any("differs from the one rebuilt" in p for p in flag.evidence["problems"])
    assert not OversightFlag.objects.filter(bill=sound).exists()


# The sweep -------------------------------------------------------------------------------------------------


def test_the_sweep_is_idempotent_and_keeps_acknowledgements(world, django_user_model):
    bill = accepted(world)
    sql("UPDATE bills_billevent SET amounts = '{\"face\": \"1.00\"}' WHERE bill_id = %s AND seq = 2", [bill.pk])
    first = oversight_sweep()
    flag = OversightFlag.objects.get()
    flag_acknowledge(flag_id=flag.pk, note="Asked the platform to investigate", actor=world.user("regulator"))
    second = oversight_sweep()
    assert (first.created, second.created, second.updated) == (1, 0, 1)
    again = OversightFlag.objects.get()
    assert again.pk == flag.pk and again.first_seen == flag.first_seen and again.last_seen > flag.last_seen
    assert again.acknowledgement_note == "Asked the platform to investigate"


def test_the_command_runs_the_sweep(world):
    bill = accepted(world)
    sql("UPDATE bills_bill SET face = 1.00 WHERE id = %s", [bill.pk])
    out = io.StringIO()
    call_command("oversight_sweep", stdout=out)
    call_command("oversight_sweep", stdout=out)
    assert "chain_mismatch: 1" in out.getvalue() and OversightFlag.objects.filter(rule=Rule.CHAIN_MISMATCH).count() == 1


def test_the_sweep_is_on_beat_every_ten_minutes():
    from django.conf import settings

    from finance_portal.oversight.tasks import sweep

    entry = settings.CELERY_BEAT_SCHEDULE["oversight-sweep"]
    assert entry == {"task": sweep.name, "schedule": 600.0}


def test_flags_are_never_deleted_and_acknowledged_once(world):
    bill = accepted(world)
    sql("UPDATE bills_bill SET face = 1.00 WHERE id = %s", [bill.pk])
    oversight_sweep()
    flag = OversightFlag.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        OversightFlag.objects.filter(pk=flag.pk).delete()
    flag_acknowledge(flag_id=flag.pk, note="seen", actor=world.user("regulator"))
    with pytest.raises(IntegrityError), transaction.atomic():
        OversightFlag.objects.filter(pk=flag.pk).update(acknowledgement_note="rewritten")
