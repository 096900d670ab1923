"""Limits under concurrency, on separate connections: two purchases that each fit a credit limit but together
exceed it, and two bills issued that each fit an issuing limit but together exceed it: one is refused.

The contenders lock different bills, then meet on the limit row, which a third connection holds while both
start; when it is released they are decided one after the other.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from bills import services
from bills.models import BillPurchase
from sme_credit.errors import CreditLimitExceeded
from sme_credit.models import CreditLimit
from sme_credit.services import credit_limit_grant
from tests.bills.factories import build_world, listed
from tests.waiting import backends_waiting_on_locks, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_purchases_that_together_exceed_the_limit_one_is_refused(transactional_db):
    world = build_world()
    limit = credit_limit_grant(actor=world.user("financier"), debtor=world.org("buyer").credit_code,
                               amount="15000.00")
    bills = [listed(world, "10000.00"), listed(world, "10000.00")]
    results: list[object] = [None, None]
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                CreditLimit.objects.select_for_update().get(pk=limit.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    def buy(i: int) -> None:
        try:
            results[i] = services.bill_buy(bill_id=bills[i].pk, actor=world.user("financier"))
        except Exception as err:  # noqa: BLE001 (asserted on below)
            results[i] = err
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    threads = [threading.Thread(target=buy, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    wait_for(lambda: backends_waiting_on_locks() >= 2, what="both purchases to wait on the limit row")
    release.set()
    holder.join(10)
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    assert sorted(type(r).__name__ for r in results) == ["BillPurchase", "CreditLimitExceeded"], results
    assert isinstance(next(r for r in results if not isinstance(r, BillPurchase)), CreditLimitExceeded)
    assert BillPurchase.objects.filter(buyer=world.org("financier")).count() == 1


def test_two_bills_issued_that_together_exceed_the_issuing_limit_one_is_refused(transactional_db):
    """Two issues by the core enterprise on separate connections, each within its issuing limit, both waiting on
    the limit row that a third connection holds; released together: one bill, one 409."""
    from bills.models import Bill
    from sme_credit.errors import IssuingLimitExceeded
    from sme_credit.issuing import issuing_limit_grant
    from sme_credit.models import IssuingLimit
    from tests.bills.factories import in_days

    world = build_world()
    limit = issuing_limit_grant(actor=world.user("admin"), debtor=world.org("buyer").credit_code, amount="15000.00")
    results: list[object] = [None, None]
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                IssuingLimit.objects.select_for_update().get(pk=limit.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    def issue(i: int) -> None:
        try:
            results[i] = services.bill_issue(actor=world.user("buyer"), to=world.org(("supplier", "supplier2")[i])
                                             .credit_code, face="10000.00", maturity_date=in_days(90).isoformat())
        except Exception as err:  # noqa: BLE001 (asserted on below)
            results[i] = err
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    threads = [threading.Thread(target=issue, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    wait_for(lambda: backends_waiting_on_locks() >= 2, what="both issues to wait on the issuing limit row")
    release.set()
    holder.join(10)
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    assert sorted(type(r).__name__ for r in results) == ["Bill", "IssuingLimitExceeded"], results
    assert isinstance(next(r for r in results if not isinstance(r, Bill)), IssuingLimitExceeded)
    assert Bill.objects.filter(debtor=world.org("buyer")).count() == 1
