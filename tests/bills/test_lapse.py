"""An issued bill its supplier never signs for lapses at maturity: cancelled, its invoices released, and
never overdue or defaulted against its own debtor (bills/README.md, "Issued bills")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bills import services
from bills.errors import BillActionNotPermitted, BillTransitionRefused
from bills.models import BillEvent, BillState
from bills.selectors import invoice_allocated
from tests.bills.factories import drain, in_days, make_invoice, past, pending, refresh
from tests.bills.test_services import counts, sound

pytestmark = pytest.mark.django_db


def issued(world, days: int = 30, invoice=None):  # type: ignore[no-untyped-def]
    allocations = [{"invoice": str(invoice.pk), "amount": "8000.00"}] if invoice else None
    return services.bill_issue(actor=world.user("buyer"), to=world.org("supplier").credit_code, face="8000.00",
                               maturity_date=in_days(days).isoformat(), invoice_allocations=allocations)


def test_an_unsigned_issued_bill_lapses_at_maturity_and_frees_its_invoices(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="8000.00")
    bill = issued(world, invoice=invoice)
    assert invoice_allocated(invoice.pk) == Decimal("8000.00")
    with past(30):  # the maturity date itself
        assert services.bills_mark_overdue_and_default() == {"lapsed": 1, "settled": 0, "overdue": 0, "defaulted": 0}
    bill = refresh(bill)
    assert bill.state == BillState.CANCELLED and bill.pending_holder is None
    last = BillEvent.objects.filter(bill=bill).order_by("-seq").first()
    assert (last.type, last.from_state, last.to_state, last.actor.is_platform) == ("lapse", "pending_receipt",
                                                                                    "cancelled", True)
    assert invoice_allocated(invoice.pk) == 0
    sound(bill)


def test_a_lapsed_bill_is_never_marked_overdue_or_defaulted(world):
    bill = issued(world)
    with past(400):  # the sweep never ran on the maturity date: it lapses all the same
        assert services.bills_mark_overdue_and_default() == {"lapsed": 1, "settled": 0, "overdue": 0, "defaulted": 0}
        assert services.bills_mark_overdue_and_default() == {"lapsed": 0, "settled": 0, "overdue": 0, "defaulted": 0}
    assert not BillEvent.objects.filter(bill=bill, type__in=["overdue", "default"]).exists()


def test_overdue_refuses_an_unsigned_issued_bill(world):
    bill = issued(world)
    before = counts()
    with past(31), pytest.raises(BillTransitionRefused) as err:
        services.bill_mark_overdue(bill_id=bill.pk)
    assert err.value.code == "lapses" and counts() == before


def test_nothing_lapses_before_maturity(world):
    bill = issued(world)
    before = counts()
    with past(29), pytest.raises(BillTransitionRefused) as err:
        services.bill_lapse(bill_id=bill.pk)
    assert err.value.code == "not_due" and counts() == before
    assert refresh(bill).state == BillState.PENDING_RECEIPT


def test_a_pending_transfer_does_not_lapse_it_goes_overdue_with_its_holder(world):
    bill = pending(world, days=30)
    with past(30):
        with pytest.raises(BillTransitionRefused) as err:
            services.bill_lapse(bill_id=bill.pk)
        assert err.value.code == "not_issued"
        assert services.bills_mark_overdue_and_default()["lapsed"] == 0
    with past(31):
        assert services.bills_mark_overdue_and_default()["overdue"] == 1
    bill = refresh(bill)
    assert bill.state == BillState.OVERDUE and bill.holder == world.org("supplier") and bill.pending_holder is None


def test_a_signed_issued_bill_is_an_ordinary_debt(world):
    drain(world.org("buyer"))  # so it is not settled automatically at maturity
    bill = issued(world)
    services.bill_receive(bill_id=bill.pk, actor=world.user("supplier"))
    with past(31):
        assert services.bills_mark_overdue_and_default() == {"lapsed": 0, "settled": 0, "overdue": 1, "defaulted": 0}


@pytest.mark.parametrize("user", ["supplier", "buyer", "regulator", "financier"])
def test_only_the_system_or_platform_staff_let_a_bill_lapse(world, user):
    bill = issued(world)
    before = counts()
    with past(30), pytest.raises(BillActionNotPermitted):
        services.bill_lapse(bill_id=bill.pk, actor=world.user(user))
    assert counts() == before


def test_platform_staff_can_let_it_lapse_from_the_admin(world, client):
    bill = issued(world)
    client.force_login(world.user("admin"))
    with past(30):
        client.post("/admin/bills/bill/", {"action": "lapse", "_selected_action": [str(bill.pk)], "reason": ""})
    assert refresh(bill).state == BillState.CANCELLED
