"""Invariants PostgreSQL keeps against raw SQL that bypasses the services (migration 0002): entries balance at
commit, one currency per entry, append-only rows, non-zero amounts, one use of a bank reference."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from finance_portal.ledger import selectors, services
from finance_portal.ledger.models import Account, AccountKind, JournalEntry, Posting
from tests.ledger.conftest import build_world, deposit

D = Decimal


def sql(statement: str, *params: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def add_posting(entry: JournalEntry, account: Account, amount: str, currency: str = "CNY") -> None:
    sql("INSERT INTO ledger_posting (entry_id, account_id, amount, currency) VALUES (%s, %s, %s, %s)",
        entry.pk, account.pk, amount, currency)


class _Undo(Exception):
    pass


@contextmanager
def undone() -> Iterator[None]:
    """A savepoint rolled back at the end, with whatever unbalanced rows the test wrote inside it."""
    try:
        with transaction.atomic():
            yield
            raise _Undo
    except _Undo:
        pass


def new_entry(kind: str = "settlement", currency: str = "CNY") -> JournalEntry:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO ledger_journalentry (kind, currency, memo, reference, created_at) "
                       "VALUES (%s, %s, 'raw', '', now()) RETURNING id", [kind, currency])
        return JournalEntry.objects.get(pk=cursor.fetchone()[0])


@pytest.mark.django_db
def test_a_raw_posting_that_unbalances_an_entry_fails_when_constraints_are_checked(world):
    entry = deposit(world, "supplier", "100.00")
    cash = services.cash_account(world.org("supplier"), "CNY")
    other = services.cash_account(world.org("supplier2"), "CNY")
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        add_posting(entry, other, "5.00")  # accepted for now: the check is deferred
        sql("SET CONSTRAINTS ALL IMMEDIATE")
    assert Posting.objects.filter(entry=entry).count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        add_posting(entry, other, "5.00")
        add_posting(entry, cash, "-4.99")
        sql("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
def test_a_raw_entry_that_balances_is_accepted(world):
    a = services.cash_account(world.org("supplier"), "CNY")
    b = services.cash_account(world.org("supplier2"), "CNY")
    entry = new_entry()
    add_posting(entry, a, "7.00")
    add_posting(entry, b, "-7.00")
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    assert selectors.account_balance(a) == D("7.00")


@pytest.mark.django_db
def test_an_entry_without_postings_fails_when_constraints_are_checked(world):
    with pytest.raises(IntegrityError, match="fewer than two postings"), transaction.atomic():
        new_entry()
        sql("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db(transaction=True)
def test_an_unbalancing_raw_insert_fails_at_commit():
    world = build_world()
    entry = deposit(world, "supplier", "100.00")
    other = services.cash_account(world.org("supplier2"), "CNY")
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic():
            add_posting(entry, other, "5.00")
    assert Posting.objects.filter(entry=entry).count() == 2
    assert selectors.account_balance(other) == D("0.00")


@pytest.mark.django_db(transaction=True)
def test_an_unbalancing_raw_update_fails_at_commit_even_without_the_append_only_trigger():
    world = build_world()
    entry = deposit(world, "supplier", "100.00")
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic():
            sql("ALTER TABLE ledger_posting DISABLE TRIGGER ledger_posting_append_only")
            sql("UPDATE ledger_posting SET amount = amount + 1 WHERE entry_id = %s AND amount > 0", entry.pk)
    # The ALTER TABLE was rolled back with the rest: the append-only trigger is back.
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        sql("UPDATE ledger_posting SET amount = amount WHERE entry_id = %s", entry.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("statement", [
    "UPDATE ledger_posting SET amount = -amount WHERE entry_id = %s",
    "DELETE FROM ledger_posting WHERE entry_id = %s",
    "UPDATE ledger_journalentry SET memo = 'edited' WHERE id = %s",
    "DELETE FROM ledger_journalentry WHERE id = %s",
])
def test_updates_and_deletes_of_ledger_rows_are_refused(world, statement):
    entry = deposit(world, "supplier", "100.00")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        sql(statement, entry.pk)
    assert JournalEntry.objects.get(pk=entry.pk).memo == "test funding"
    assert sorted(Posting.objects.filter(entry=entry).values_list("amount", flat=True)) == [D("-100.00"), D("100.00")]


@pytest.mark.django_db
def test_a_posting_in_another_currency_than_its_account_or_entry_is_refused(world):
    usd = services.cash_account(world.org("supplier"), "USD")
    cny = services.cash_account(world.org("supplier2"), "CNY")
    with undone():
        entry = new_entry(currency="CNY")
        with pytest.raises(IntegrityError, match="one currency per entry"), transaction.atomic():
            add_posting(entry, usd, "1.00", currency="USD")
        with pytest.raises(IntegrityError, match="one currency per entry"), transaction.atomic():
            add_posting(entry, cny, "1.00", currency="USD")
        with pytest.raises(IntegrityError, match="one currency per entry"), transaction.atomic():
            add_posting(entry, usd, "1.00", currency="CNY")


@pytest.mark.django_db
def test_a_zero_amount_is_refused(world):
    a = services.cash_account(world.org("supplier"), "CNY")
    with undone():
        entry = new_entry()
        with pytest.raises(IntegrityError, match="ledger_posting_amount_not_zero"), transaction.atomic():
            add_posting(entry, a, "0.00")


@pytest.mark.django_db
def test_a_bank_reference_is_unique_per_organization_in_the_database(world):
    entry = deposit(world, "supplier", "100.00", reference="DUP-1")
    with pytest.raises(IntegrityError, match="ledger_bank_reference_once_per_org"), transaction.atomic():
        sql("INSERT INTO ledger_journalentry (kind, currency, memo, reference, organization_id, created_at) "
            "VALUES ('withdrawal', 'CNY', '', 'DUP-1', %s, now())", entry.organization_id)


@pytest.mark.django_db
def test_an_entry_is_reversed_at_most_once_in_the_database(world):
    entry = deposit(world, "supplier", "100.00")
    services.entry_reverse(entry_id=entry.pk, reason="x", actor=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        sql("INSERT INTO ledger_journalentry (kind, currency, memo, reference, reverses_id, created_at) "
            "VALUES ('reversal', 'CNY', '', '', %s, now())", entry.pk)


@pytest.mark.django_db
def test_an_accounts_kind_currency_and_owner_never_change(world):
    account = services.cash_account(world.org("supplier"), "CNY")
    for change in ("currency = 'USD'", "organization_id = NULL, kind = 'bank_clearing'",
                   f"organization_id = {world.org('supplier2').pk}"):
        with pytest.raises(IntegrityError), transaction.atomic():
            sql(f"UPDATE ledger_account SET {change} WHERE id = %s", account.pk)
    sql("UPDATE ledger_account SET name = 'renamed' WHERE id = %s", account.pk)


@pytest.mark.django_db
def test_cash_has_an_owner_and_platform_accounts_have_none(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(kind=AccountKind.CASH, currency="CNY", name="orphan")
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(kind=AccountKind.BANK_CLEARING, currency="CNY", name="x",
                               organization=world.org("platform"))
    services.platform_account(AccountKind.BANK_CLEARING, "CNY")
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(kind=AccountKind.BANK_CLEARING, currency="CNY", name="second clearing")
