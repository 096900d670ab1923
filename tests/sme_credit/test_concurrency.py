"""Limits under concurrency, on separate connections: two purchases that each fit a credit limit but together
exceed it, and two bills issued that each fit an issuing limit but together exceed it: one is refused.

The contenders lock different bills, then meet on the limit row, which a third connection holds while both
start; when it is released they are decided one after the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

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


def race_on_a_held_row(lock_row: Callable[[], object], calls: list[Callable[[], object]]) -> list[object]:
    """Run ``calls`` on separate connections while a third holds a row lock (``lock_row``) until every call
    waits on it; then release it. Each call's result, or the exception it raised, in order."""
    results: list[object] = [None] * len(calls)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                lock_row()
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except Exception as err:  # noqa: BLE001 (asserted on by the tests)
            results[i] = err
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    wait_for(lambda: backends_waiting_on_locks() >= len(calls), what="every contender to wait on the held row")
    release.set()
    holder.join(10)
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    return results


def test_two_purchases_that_together_exceed_the_limit_one_is_refused(transactional_db):
    world = build_world()
    limit = credit_limit_grant(actor=world.user("financier"), debtor=world.org("buyer").credit_code,
                               amount="15000.00")
    bills = [listed(world, "10000.00"), listed(world, "10000.00")]
    results = race_on_a_held_row(
        lambda: CreditLimit.objects.select_for_update().get(pk=limit.pk),
        [lambda b=b: services.bill_buy(bill_id=b.pk, actor=world.user("financier")) for b in bills])
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
    results = race_on_a_held_row(
        lambda: IssuingLimit.objects.select_for_update().get(pk=limit.pk),
        [lambda to=to: services.bill_issue(actor=world.user("buyer"), to=world.org(to).credit_code, face="10000.00",
                                           maturity_date=in_days(90).isoformat())
         for to in ("supplier", "supplier2")])
    assert sorted(type(r).__name__ for r in results) == ["Bill", "IssuingLimitExceeded"], results
    assert isinstance(next(r for r in results if not isinstance(r, Bill)), IssuingLimitExceeded)
    assert Bill.objects.filter(debtor=world.org("buyer")).count() == 1
