"""Conflicting transitions on one bill from separate database connections (threads, committed transactions):
exactly one is applied, the other is refused cleanly, and the chain stays sound.

To make the race real, a third connection holds the bill's row lock while the contenders start; both block
on it, and when it is released they compete for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from bills import services
from bills.errors import BillTransitionRefused, InvoiceOverAllocated
from bills.events import bill_chain_verify
from bills.models import RELEASED_STATES, Bill, BillAllocation, BillEvent, BillPurchase, BillState
from finance_portal.errors import DomainError
from tests.bills.factories import accepted, build_world, in_days, listed, make_invoice, refresh, submitted
from tests.waiting import backends_waiting_on_locks, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(transactional_db):  # type: ignore[no-untyped-def]
    return build_world()


def race(calls: list[Callable[[], object]], lock_bill: Bill | None = None) -> list[tuple[str, object]]:
    """Run ``calls`` at once, each in its own thread and database connection; return ("ok"|"err", value)."""
    results: list[tuple[str, object]] = [("none", None)] * len(calls)
    release = threading.Event()
    locked = threading.Event()
    start = threading.Barrier(len(calls))

    def hold() -> None:
        try:
            with transaction.atomic():
                Bill.objects.select_for_update().get(pk=lock_bill.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    def run(i: int, fn: Callable[[], object]) -> None:
        try:
            start.wait(10)
            results[i] = ("ok", fn())
        except Exception as err:  # noqa: BLE001 (collected and asserted on by the test)
            results[i] = ("err", err)
        finally:
            connection.close()

    holder = None
    if lock_bill is not None:
        holder = threading.Thread(target=hold)
        holder.start()
        assert locked.wait(10)
    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    if holder is not None:
        wait_for(lambda: backends_waiting_on_locks() >= len(calls), what="every contender to wait on the row lock")
        release.set()
        holder.join(10)
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    return results


def one_winner(results: list[tuple[str, object]], refused: type[Exception] = BillTransitionRefused) -> None:
    oks = [r for r in results if r[0] == "ok"]
    errs = [r for r in results if r[0] == "err"]
    assert len(oks) == 1, results
    assert all(isinstance(e, refused) for _, e in errs), results


def test_accept_and_reject_at_once_apply_exactly_one(world):
    bill = submitted(world)
    debtor = world.user("buyer")
    results = race(
        [lambda: services.bill_accept(bill_id=bill.pk, actor=debtor),
         lambda: services.bill_reject(bill_id=bill.pk, actor=debtor, reason="changed our mind")],
        lock_bill=bill,
    )
    one_winner(results)
    bill = refresh(bill)
    assert bill.state in (BillState.ACCEPTED, BillState.REJECTED)
    assert BillEvent.objects.filter(bill=bill).count() == 3
    assert bill_chain_verify(bill) == []


def test_transfer_and_split_at_once_apply_exactly_one(world):
    bill = accepted(world, "10000.00")
    holder = world.user("supplier")
    results = race(
        [lambda: services.bill_transfer(bill_id=bill.pk, actor=holder, to=world.org("supplier2").credit_code),
         lambda: services.bill_split(bill_id=bill.pk, actor=holder, parts=[{"face": "100.00"}, {"face": "9900.00"}])],
        lock_bill=bill,
    )
    one_winner(results)
    bill = refresh(bill)
    assert bill.state in (BillState.PENDING_RECEIPT, BillState.SPLIT)
    assert bill.children.count() == (2 if bill.state == BillState.SPLIT else 0)
    assert bill_chain_verify(bill) == []


def test_two_financiers_race_to_buy_one_winner(world):
    bill = listed(world, "10000.00")
    buyers = [world.user("financier"), world.user("financier2")]
    results = race([lambda u=u: services.bill_buy(bill_id=bill.pk, actor=u) for u in buyers], lock_bill=bill)
    one_winner(results)
    winner = next(value for kind, value in results if kind == "ok")
    loser = next(value for kind, value in results if kind == "err")
    assert loser.code == "already_bought"
    bill = refresh(bill)
    assert bill.state == BillState.FINANCED and bill.holder == winner.buyer
    assert BillPurchase.objects.filter(bill=bill).count() == 1
    assert BillEvent.objects.filter(bill=bill, type="buy").count() == 1
    assert bill_chain_verify(bill) == []


def test_a_retried_purchase_with_one_key_has_one_effect_under_concurrency(world):
    bill = listed(world)
    buyer = world.user("financier")
    results = race(
        [lambda: services.bill_buy(bill_id=bill.pk, actor=buyer, idempotency_key="same-key")] * 3, lock_bill=bill
    )
    assert all(kind == "ok" for kind, _ in results), results
    assert len({purchase.pk for _, purchase in results}) == 1
    assert BillPurchase.objects.filter(bill=bill).count() == 1


def test_two_bills_on_the_last_of_an_invoice_one_wins(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="1000.00")

    def create() -> Bill:
        return services.bill_create(
            actor=world.user("supplier"),
            invoice_allocations=[{"invoice": str(invoice.pk), "amount": "600.00"}],
            maturity_date=in_days(60).isoformat(),
        )

    results = race([create, create])
    one_winner(results, refused=InvoiceOverAllocated)
    assert Bill.objects.filter(allocations__invoice=invoice).count() == 1


def test_concurrent_creations_get_distinct_numbers(world):
    invoices = [make_invoice(world.org("supplier"), world.org("buyer"), total="100.00") for _ in range(4)]

    def create(inv) -> Bill:  # type: ignore[no-untyped-def]
        return services.bill_create(
            actor=world.user("supplier"),
            invoice_allocations=[{"invoice": str(inv.pk), "amount": "100.00"}],
            maturity_date=in_days(60).isoformat(),
        )

    results = race([lambda inv=inv: create(inv) for inv in invoices])
    assert all(kind == "ok" for kind, _ in results), results
    numbers = sorted(b.number for _, b in results)
    seqs = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert len(set(numbers)) == 4 and seqs == list(range(seqs[0], seqs[0] + 4))


def test_refused_contenders_leave_no_trace(world):
    bill = accepted(world)
    holder = world.user("supplier")
    results = race(
        [lambda: services.bill_list(bill_id=bill.pk, actor=holder, rate="0.03"),
         lambda: services.bill_list(bill_id=bill.pk, actor=holder, rate="0.05")],
        lock_bill=bill,
    )
    one_winner(results, refused=DomainError)
    assert BillEvent.objects.filter(bill=bill, type="list").count() == 1
    assert bill_chain_verify(refresh(bill)) == []


def test_two_concurrent_raw_allocations_that_together_over_allocate_one_is_refused_at_commit(world):
    """The database's own guard, without the services: each insert fits alone, both commit at once; the
    deferred trigger locks the invoice at commit, so the second sees the first's row and fails."""
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="1000.00")
    bills = [draft_on_other_invoice(world) for _ in range(2)]
    both_inserted = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def insert(i: int) -> None:
        try:
            with transaction.atomic():
                BillAllocation.objects.create(bill=bills[i], invoice=invoice, amount=Decimal("600.00"))
                both_inserted.wait(10)  # neither is checked yet: the trigger is deferred to the commit
            outcomes[i] = "committed"
        except Exception as err:  # noqa: BLE001 (asserted on below)
            outcomes[i] = err
        finally:
            connection.close()

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(map(type, outcomes), key=str) == sorted([str, IntegrityError], key=str), outcomes
    assert "would be allocated 1200.00" in str(next(o for o in outcomes if isinstance(o, IntegrityError)))
    assert BillAllocation.objects.filter(invoice=invoice).count() == 1


def test_the_released_states_of_the_trigger_are_the_models(world):
    with connection.cursor() as cursor:
        cursor.execute("SELECT bills_released_states()")
        (states,) = cursor.fetchone()
    assert set(states) == {str(s) for s in RELEASED_STATES}


def draft_on_other_invoice(world) -> Bill:  # type: ignore[no-untyped-def]
    other = make_invoice(world.org("supplier"), world.org("buyer"), total="100.00")
    return services.bill_create(actor=world.user("supplier"), maturity_date=in_days(30).isoformat(),
                                invoice_allocations=[{"invoice": str(other.pk), "amount": "100.00"}])
