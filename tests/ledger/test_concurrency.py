"""Withdrawals racing on separate database connections (threads, committed transactions): each fits the
balance alone, not together; exactly one wins and the balance never goes below zero.

To make the race real, a third connection holds the account's row lock while the contenders start; both
block on it, and when it is released they compete for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection, transaction

from finance_portal.ledger import services
from finance_portal.ledger.errors import DuplicateReference, InsufficientFunds
from finance_portal.ledger.models import Account, EntryKind, JournalEntry
from finance_portal.ledger.selectors import ledger_problems
from tests.ledger.conftest import balance, build_world, deposit

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_lock_waiters(n: int, timeout: float = 10.0) -> None:
    """Return once ``n`` other connections of this database wait on a lock (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
            if cursor.fetchone()[0] >= n:
                return
        time.sleep(0.02)
    raise AssertionError(f"{n} connections never queued on the account lock")


def race(calls: list[Callable[[], object]], lock: Account | None = None) -> list[tuple[str, object]]:
    """Run ``calls`` at once, each in its own thread and connection; with ``lock``, they start while another
    connection holds that account's row lock, which is released once they all queue on it."""
    results: list[tuple[str, object]] = [("none", None)] * len(calls)
    locked, release = threading.Event(), threading.Event()
    start = threading.Barrier(len(calls) + 1)

    def hold() -> None:
        try:
            with transaction.atomic():
                Account.objects.select_for_update().get(pk=lock.pk)
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

    holder = threading.Thread(target=hold)
    if lock is not None:
        holder.start()
        assert locked.wait(10)
    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    start.wait(10)
    if lock is not None:
        wait_for_lock_waiters(len(calls))
        release.set()
        holder.join(10)
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads)
    return results


def withdraw(world, amount: str, reference: str) -> Callable[[], object]:  # type: ignore[no-untyped-def]
    org = world.org("financier")
    return lambda: services.withdrawal_record(organization=org.credit_code, amount=amount, currency="CNY",
                                              reference=reference, reason="race", actor=None)


def test_two_withdrawals_that_fit_alone_but_not_together_one_wins():
    world = build_world()
    deposit(world, "financier", "100.00")
    cash = services.cash_account(world.org("financier"), "CNY")
    results = race([withdraw(world, "70.00", "OUT-A"), withdraw(world, "60.00", "OUT-B")], lock=cash)
    outcomes = sorted(kind for kind, _ in results)
    assert outcomes == ["err", "ok"], results
    err = next(value for kind, value in results if kind == "err")
    assert isinstance(err, InsufficientFunds)
    assert JournalEntry.objects.filter(kind=EntryKind.WITHDRAWAL).count() == 1
    assert balance(world, "financier") in (Decimal("30.00"), Decimal("40.00"))
    assert ledger_problems() == []


def test_the_same_bank_reference_twice_at_once_is_recorded_once():
    world = build_world()
    deposit(world, "financier", "100.00")
    cash = services.cash_account(world.org("financier"), "CNY")
    results = race([withdraw(world, "10.00", "OUT-SAME"), withdraw(world, "10.00", "OUT-SAME")], lock=cash)
    assert sorted(kind for kind, _ in results) == ["err", "ok"], results
    assert isinstance(next(v for k, v in results if k == "err"), DuplicateReference)
    assert balance(world, "financier") == Decimal("90.00")


def test_two_deposits_with_one_bank_reference_at_once_are_recorded_once():
    world = build_world()
    org = world.org("supplier")

    def pay() -> object:
        return services.deposit_record(organization=org, amount="10.00", currency="CNY", reference="IN-SAME",
                                       reason="race", actor=None)

    results = race([pay, pay])
    assert sorted(kind for kind, _ in results) == ["err", "ok"], results
    assert isinstance(next(v for k, v in results if k == "err"), DuplicateReference)
    assert balance(world, "supplier") == Decimal("10.00")
