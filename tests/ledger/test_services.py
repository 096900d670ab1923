"""Ledger services: deposits, withdrawals, the core ``entry_post``, reversals, and their refusals (each
refusal writes nothing)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from finance_portal.ledger import selectors, services
from finance_portal.ledger.errors import (
    DuplicateReference,
    EntryInvalid,
    EntryNotReversible,
    InsufficientFunds,
    LedgerInvalid,
    NotPlatformStaff,
)
from finance_portal.ledger.models import (
    Account,
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerImmutable,
    Posting,
)
from tests.ledger.conftest import balance, counts, deposit

pytestmark = pytest.mark.django_db

D = Decimal


def clearing(currency: str = "CNY") -> Account:
    return services.platform_account(AccountKind.BANK_CLEARING, currency)


def test_a_deposit_moves_money_from_bank_clearing_to_the_organizations_cash(world):
    entry = services.deposit_record(organization=world.org("financier").credit_code, amount="25000.00",
                                    currency="CNY", reference="ICBC-2026-0001", reason="wire received",
                                    actor=world.user("ops"))
    assert (entry.kind, entry.currency, entry.reference, entry.memo) == ("deposit", "CNY", "ICBC-2026-0001",
                                                                         "wire received")
    assert entry.created_by == world.user("ops") and entry.organization == world.org("financier")
    assert entry.created_at.tzinfo is not None and entry.created_at.utcoffset() == dt.timedelta(0)
    assert sorted((p.account.kind, p.amount) for p in entry.postings.all()) == [
        ("bank_clearing", D("-25000.00")), ("cash", D("25000.00"))]
    assert balance(world, "financier") == D("25000.00")
    assert selectors.account_balance(clearing()) == D("-25000.00")


def test_a_withdrawal_moves_money_back_to_the_bank(world):
    deposit(world, "supplier", "1000.00")
    entry = services.withdrawal_record(organization=world.org("supplier"), amount="400.50", currency="CNY",
                                       reference="PAYOUT-7", reason="to the supplier's bank", actor=None)
    assert entry.kind == EntryKind.WITHDRAWAL
    assert balance(world, "supplier") == D("599.50")
    assert selectors.account_balance(clearing()) == D("-599.50")


def test_a_withdrawal_of_the_whole_balance_is_allowed(world):
    deposit(world, "supplier", "1000.00")
    services.withdrawal_record(organization=world.org("supplier"), amount="1000", currency="CNY",
                               reference="OUT-ALL", reason="closing", actor=None)
    assert balance(world, "supplier") == D("0.00")


def test_a_withdrawal_beyond_the_balance_is_refused_and_writes_nothing(world):
    deposit(world, "supplier", "1000.00")
    before = counts()
    with pytest.raises(InsufficientFunds) as err:
        services.withdrawal_record(organization=world.org("supplier"), amount="1000.01", currency="CNY",
                                   reference="OUT-1", reason="too much", actor=world.user("admin"))
    assert err.value.balance == D("1000.00") and err.value.amount == D("1000.01")
    assert err.value.account == services.cash_account(world.org("supplier"), "CNY")
    assert "1000.00" in err.value.message and "1000.01" in err.value.message
    assert err.value.http_status == 409
    assert counts() == before and balance(world, "supplier") == D("1000.00")


def test_a_withdrawal_from_an_empty_currency_is_refused(world):
    deposit(world, "supplier", "1000.00")
    with pytest.raises(InsufficientFunds):
        services.withdrawal_record(organization=world.org("supplier"), amount="1", currency="USD",
                                   reference="OUT-USD", reason="x", actor=None)


def test_the_same_bank_reference_is_refused_for_the_same_organization(world):
    deposit(world, "supplier", "100.00", reference="REF-1")
    before = counts()
    for record in (services.deposit_record, services.withdrawal_record):
        with pytest.raises(DuplicateReference) as err:
            record(organization=world.org("supplier"), amount="50.00", currency="CNY", reference="REF-1",
                   reason="again", actor=None)
        assert err.value.field == "reference" and err.value.http_status == 409
    assert counts() == before and balance(world, "supplier") == D("100.00")


def test_a_reference_that_slips_past_the_check_is_caught_by_the_unique_constraint(world, monkeypatch):
    """What a concurrent deposit meets when both pass the check before either commits."""
    deposit(world, "supplier", "100.00", reference="REF-1")
    monkeypatch.setattr(services, "_refuse_used_reference", lambda organization, reference: None)
    before = counts()
    with pytest.raises(DuplicateReference):
        deposit(world, "supplier", "100.00", reference="REF-1")
    assert counts() == before and balance(world, "supplier") == D("100.00")


def test_the_same_bank_reference_may_serve_another_organization(world):
    deposit(world, "supplier", "100.00", reference="REF-1")
    deposit(world, "supplier2", "100.00", reference="REF-1")
    assert balance(world, "supplier2") == D("100.00")


def test_a_deposit_in_another_currency_opens_the_account(world):
    deposit(world, "financier", "300.00", currency="USD")
    assert balance(world, "financier", "USD") == D("300.00")
    assert balance(world, "financier", "CNY") == D("0.00")
    assert selectors.account_balance(clearing("USD")) == D("-300.00")


@pytest.mark.parametrize("username", ["supplier", "financier", "regulator", "clerk"])
def test_only_platform_staff_record_bank_movements(world, username):
    before = counts()
    with pytest.raises(NotPlatformStaff):
        services.deposit_record(organization=world.org("supplier"), amount="1.00", currency="CNY",
                                reference="R", reason="x", actor=world.user(username))
    assert counts() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 1.5), ("amount", "1e999999999"), ("amount", "１２３"), ("amount", "-5"), ("amount", "0"),
        ("amount", "1.001"), ("amount", "abc"), ("amount", True), ("amount", "NaN"), ("amount", " "),
        ("amount", "1000000000000000000.00"), ("currency", "XXX"), ("currency", ""),
        ("reference", "bad\x00ref"), ("reference", ""), ("reference", "=HYPERLINK()"), ("reference", "x" * 65),
        ("reason", ""), ("reason", "nul\x00"), ("organization", "91440300MA5F0009XX"), ("organization", ""),
    ],
)
def test_bad_input_is_refused_with_the_field_named_and_nothing_written(world, field, value):
    args = {"organization": world.org("supplier").credit_code, "amount": "10.00", "currency": "CNY",
            "reference": "R-1", "reason": "x", field: value}
    before = counts()
    with pytest.raises(LedgerInvalid) as err:
        services.deposit_record(actor=None, **args)
    assert err.value.field == field
    assert counts() == before


def test_deposits_go_only_to_approved_trading_organizations(world):
    for org in ("pending", "regulator", "platform"):
        with pytest.raises(LedgerInvalid) as err:
            deposit(world, org, "10.00")
        assert err.value.field == "organization"


def test_the_core_service_posts_a_balanced_entry_and_checks_funds(world):
    deposit(world, "financier", "10000.00")
    financier = services.cash_account(world.org("financier"), "CNY")
    supplier = services.cash_account(world.org("supplier"), "CNY")
    entry = services.entry_post(kind=EntryKind.PURCHASE, lines=[(financier, D("-9910.00")), (supplier, D("9910.00"))],
                                memo="bill 1 bought", reference="bill:1")
    assert entry.postings.count() == 2
    assert balance(world, "financier") == D("90.00") and balance(world, "supplier") == D("9910.00")
    before = counts()
    with pytest.raises(InsufficientFunds) as err:
        services.entry_post(kind=EntryKind.PURCHASE, lines=[(financier, D("-90.01")), (supplier, D("90.01"))],
                            memo="too much", reference="bill:2")
    assert err.value.account == financier and err.value.balance == D("90.00")
    assert counts() == before


@pytest.mark.parametrize(
    "case",
    ["unbalanced", "one_line", "two_currencies", "zero", "float", "sub_cent", "same_account", "deposit_kind",
     "reversal_kind", "unknown_kind"],
)
def test_the_core_service_refuses_lines_that_make_no_valid_entry(world, case):
    deposit(world, "financier", "100.00")
    financier = services.cash_account(world.org("financier"), "CNY")
    supplier = services.cash_account(world.org("supplier"), "CNY")
    usd = services.cash_account(world.org("supplier"), "USD")
    kind, lines = EntryKind.SETTLEMENT, [(financier, D("-1.00")), (supplier, D("1.00"))]
    if case == "unbalanced":
        lines = [(financier, D("-1.00")), (supplier, D("0.99"))]
    elif case == "one_line":
        lines = [(financier, D("-1.00"))]
    elif case == "two_currencies":
        lines = [(financier, D("-1.00")), (usd, D("1.00"))]
    elif case == "zero":
        lines = [(financier, D("0.00")), (supplier, D("0.00"))]
    elif case == "float":
        lines = [(financier, -1.0), (supplier, 1.0)]  # type: ignore[list-item]
    elif case == "sub_cent":
        lines = [(financier, D("-1.005")), (supplier, D("1.005"))]
    elif case == "same_account":
        lines = [(financier, D("-1.00")), (financier, D("1.00"))]
    elif case == "deposit_kind":
        kind = EntryKind.DEPOSIT
    elif case == "reversal_kind":
        kind = EntryKind.REVERSAL
    elif case == "unknown_kind":
        kind = "gift"
    before = counts()
    with pytest.raises(EntryInvalid):
        services.entry_post(kind=kind, lines=lines, memo="x")
    assert counts() == before


def test_non_cash_accounts_may_go_negative_but_cash_never(world):
    fees = services.platform_account(AccountKind.FEE_INCOME, "CNY")
    supplier = services.cash_account(world.org("supplier"), "CNY")
    with pytest.raises(InsufficientFunds):
        services.entry_post(kind=EntryKind.SETTLEMENT, lines=[(supplier, D("-1.00")), (fees, D("1.00"))], memo="x")
    services.entry_post(kind=EntryKind.SETTLEMENT, lines=[(fees, D("-1.00")), (supplier, D("1.00"))], memo="x")
    assert selectors.account_balance(fees) == D("-1.00")


def test_a_reversal_posts_the_mirror_image_and_restores_balances(world):
    entry = deposit(world, "supplier", "500.00", reference="WRONG-ORG")
    reversal = services.entry_reverse(entry_id=entry.pk, reason="credited to the wrong organization",
                                      actor=world.user("ops"))
    assert (reversal.kind, reversal.reverses, reversal.reference) == ("reversal", entry, "WRONG-ORG")
    assert sorted(p.amount for p in reversal.postings.all()) == [D("-500.00"), D("500.00")]
    assert balance(world, "supplier") == D("0.00")
    assert selectors.account_balance(clearing()) == D("0.00")
    assert JournalEntry.objects.get(pk=entry.pk).reversed_by == reversal


def test_an_entry_is_reversed_once_and_a_reversal_is_not_reversed(world):
    entry = deposit(world, "supplier", "500.00")
    reversal = services.entry_reverse(entry_id=entry.pk, reason="mistake", actor=None)
    before = counts()
    with pytest.raises(EntryNotReversible):
        services.entry_reverse(entry_id=entry.pk, reason="again", actor=None)
    with pytest.raises(EntryNotReversible):
        services.entry_reverse(entry_id=reversal.pk, reason="undo the undo", actor=None)
    assert counts() == before


def test_a_reversal_that_would_overdraw_is_refused(world):
    entry = deposit(world, "supplier", "500.00")
    services.withdrawal_record(organization=world.org("supplier"), amount="300.00", currency="CNY",
                               reference="OUT-9", reason="x", actor=None)
    with pytest.raises(InsufficientFunds):
        services.entry_reverse(entry_id=entry.pk, reason="mistake", actor=None)
    assert balance(world, "supplier") == D("200.00")


def test_reversals_need_platform_staff_and_a_reason(world):
    entry = deposit(world, "supplier", "5.00")
    with pytest.raises(NotPlatformStaff):
        services.entry_reverse(entry_id=entry.pk, reason="mine", actor=world.user("supplier"))
    with pytest.raises(LedgerInvalid):
        services.entry_reverse(entry_id=entry.pk, reason="  ", actor=world.user("admin"))


def test_the_orm_refuses_to_change_or_delete_ledger_rows(world):
    entry = deposit(world, "supplier", "5.00")
    posting = entry.postings.first()
    entry.memo = "edited"
    with pytest.raises(LedgerImmutable):
        entry.save()
    with pytest.raises(LedgerImmutable):
        posting.delete()
    with pytest.raises(LedgerImmutable):
        Posting.objects.filter(entry=entry).update(amount=D("1.00"))
    with pytest.raises(LedgerImmutable):
        JournalEntry.objects.all().delete()
    assert JournalEntry.objects.get(pk=entry.pk).memo == "test funding"


def test_cash_and_platform_accounts_are_opened_once(world):
    org = world.org("supplier")
    assert services.cash_account(org, "cny") == services.cash_account(org, "CNY")
    assert services.platform_account(AccountKind.BANK_CLEARING, "CNY") == clearing()
    assert Account.objects.filter(organization=org, currency="CNY").count() == 1
    assert Account.objects.filter(organization__isnull=True).count() == 1


def test_accounts_are_locked_in_id_order(world):
    a = services.cash_account(world.org("supplier"), "CNY")
    b = services.cash_account(world.org("financier"), "CNY")
    locked = services.accounts_lock([b, a, b])
    assert [x.pk for x in locked] == sorted({a.pk, b.pk})


def test_a_statement_has_running_balances_and_an_opening_balance(world):
    deposit(world, "supplier", "100.00")
    deposit(world, "supplier", "50.00")
    services.withdrawal_record(organization=world.org("supplier"), amount="30.00", currency="CNY",
                               reference="OUT", reason="x", actor=None)
    account = services.cash_account(world.org("supplier"), "CNY")
    statement = selectors.account_statement(account=account)
    assert [(line.amount, line.balance) for line in statement.lines] == [
        (D("100.00"), D("100.00")), (D("50.00"), D("150.00")), (D("-30.00"), D("120.00"))]
    assert (statement.opening_balance, statement.closing_balance) == (D("0.00"), D("120.00"))
    today = dt.datetime.now(dt.UTC).date()
    later = selectors.account_statement(account=account, date_from=today + dt.timedelta(days=1))
    assert (later.opening_balance, later.closing_balance, later.lines.count()) == (D("120.00"), D("120.00"), 0)
    earlier = selectors.account_statement(account=account, date_to=today - dt.timedelta(days=1))
    assert (earlier.opening_balance, earlier.closing_balance, earlier.lines.count()) == (D("0.00"), D("0.00"), 0)
    same_day = selectors.account_statement(account=account, date_from=today, date_to=today)
    assert same_day.lines.count() == 3


def test_cash_accounts_reads_one_two_or_more_organizations_in_the_order_asked(world):
    cash_accounts = services.cash_accounts
    orgs = [world.org(k) for k in ("supplier", "buyer", "financier")]
    assert cash_accounts([], "CNY") == []
    for ids in ([orgs[0].pk], [orgs[1].pk, orgs[0].pk], [o.pk for o in orgs], [orgs[2].pk, orgs[2].pk]):
        accounts = cash_accounts(ids, "CNY")
        assert [a.organization_id for a in accounts] == ids
        assert all(a.kind == "cash" and a.currency == "CNY" for a in accounts)
