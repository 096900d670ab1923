"""Ledger services: the only writers of journal entries and postings.

Other apps move money with ``entry_post`` inside their own transaction, after locking their own rows (a bill)
and before anything that can wait on them: the accounts are locked last, in id order, so two transactions never
wait on each other's accounts. Deposits and withdrawals (simulated bank rails, platform staff only) and
reversals are services of their own. An ``actor`` of ``None`` is the system (commands, demo data); a user must
be staff of the platform operator to record bank movements or reverse an entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import translation

from finance_portal.compiled import CompiledRead
from finance_portal.errors import InvalidInput
from finance_portal.ledger.errors import (
    DuplicateReference,
    EntryInvalid,
    EntryNotFound,
    EntryNotReversible,
    InsufficientFunds,
    LedgerInvalid,
    NotPlatformStaff,
)
from finance_portal.ledger.models import (
    BANK_KINDS,
    Account,
    AccountKind,
    EntryKind,
    JournalEntry,
    Posting,
)
from finance_portal.ledger.selectors import account_balance, is_platform_staff
from finance_portal.money import CURRENCIES, MAX_AMOUNT, parse_amount, quantize, validate_currency
from finance_portal.organizations.models import KycStatus, Organization
from finance_portal.users import Viewer

Line = tuple[Account, Decimal]
Actor = Viewer | None

# ---------------------------------------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------------------------------------


def account_open_cash(*, organization: Organization, currency: str) -> Account:
    """The organization's cash account in ``currency``, created if it does not exist yet."""
    return cash_account(organization, currency)


def account_open_default_cash(*, organization: Organization) -> Account:
    """A newly registered organization's cash account in ``DEFAULT_CURRENCY``: one of the
    ``ORGANIZATION_CREATED_HOOKS`` (the organizations app never imports the ledger)."""
    return account_open_cash(organization=organization, currency=settings.DEFAULT_CURRENCY)


def cash_account(organization: Organization, currency: str) -> Account:
    """The organization's cash account in ``currency`` (get-or-create; safe under concurrency)."""
    currency = validate_currency(currency)
    account, _ = Account.objects.get_or_create(
        organization=organization,
        kind=AccountKind.CASH,
        currency=currency,
        defaults={"name": f"{organization.legal_name} cash ({currency})"},
    )
    return account


def cash_accounts(organization_ids: Sequence[int], currency: str) -> list[Account]:
    """The cash accounts in ``currency`` of the organizations ``organization_ids``, in their order, each with
    its ``organization`` read: one query when they all exist (the others are created as by ``cash_account``)."""
    currency = validate_currency(currency)
    ids = sorted(set(organization_ids))
    shape = len(ids)
    if 1 <= shape <= len(_CASH_ACCOUNTS_OF):
        cash = _CASH_ACCOUNTS_OF[shape - 1].rows(currency=currency, **{f"org{i}": pk for i, pk in enumerate(ids)})
    else:
        cash = list(_cash_accounts_of(ids, currency))
    found = {account.organization_id: account for account in cash}
    return [found.get(pk) or cash_account(Organization.objects.get(pk=pk), currency) for pk in organization_ids]


def _cash_accounts_of(ids: Sequence[int], currency: str) -> QuerySet[Account]:
    return Account.objects.filter(organization_id__in=ids, kind=AccountKind.CASH,
                                  currency=currency).select_related("organization")


# The reads of one and of two organizations' cash accounts (a transfer's two sides), compiled once.
_CASH_ACCOUNTS_OF = (
    CompiledRead(lambda *, currency, org0: _cash_accounts_of([org0], currency)),
    CompiledRead(lambda *, currency, org0, org1: _cash_accounts_of([org0, org1], currency)),
)


def platform_account(kind: str, currency: str) -> Account:
    """The platform's own account of ``kind`` (bank clearing, fee income) in ``currency`` (get-or-create)."""
    if kind == AccountKind.CASH:
        raise ValueError("Cash accounts belong to organizations: use cash_account().")
    currency = validate_currency(currency)
    with translation.override("en"):  # the stored name is data, in English whoever's request creates it
        kind_name = str(AccountKind(kind).label).lower()
    account, _ = Account.objects.get_or_create(
        organization=None,
        kind=kind,
        currency=currency,
        defaults={"name": f"Platform {kind_name} ({currency})"},
    )
    return account


def accounts_lock(accounts: Iterable[Account]) -> list[Account]:
    """Lock the rows of ``accounts`` (``SELECT ... FOR UPDATE``) in id order and return them fresh, in id order.

    Must run inside a transaction. Lock accounts after your own rows, and only through this helper: one
    order everywhere is what keeps two transactions from deadlocking on each other's accounts.
    """
    ids = sorted({a.pk for a in accounts})
    return list(Account.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


# ---------------------------------------------------------------------------------------------------------
# The core: one balanced entry
# ---------------------------------------------------------------------------------------------------------


def entry_post(
    *,
    kind: str,
    lines: Sequence[Line],
    memo: str,
    reference: str = "",
    actor: Actor = None,
) -> JournalEntry:
    """Post one journal entry: each line moves ``amount`` into (+) or out of (−) its account.

    Runs inside the caller's transaction (opens one if there is none); locks the organization cash accounts it
    takes money from, in id order; raises ``InsufficientFunds`` (a domain error naming account, balance and
    amount) when a cash account would go negative, and writes nothing then (the caller's transaction stays
    usable: every refusal comes before the first write, so no savepoint is needed).

    Lines: at least two, Decimal amounts in the currency's minor unit, none zero, one line per account,
    every account in the same currency, summing to zero; anything else is ``EntryInvalid`` (a bug of the
    caller). ``kind`` is purchase or settlement here: deposits, withdrawals and reversals have services of
    their own (``deposit_record``, ``withdrawal_record``, ``entry_reverse``).
    """
    if kind not in EntryKind.values or kind in (*BANK_KINDS, EntryKind.REVERSAL):
        raise EntryInvalid(f"entry_post does not post {kind!r} entries.", field="kind")
    return _post(kind=kind, lines=lines, memo=memo, reference=reference, actor=actor)


def _post(
    *,
    kind: str,
    lines: Sequence[Line],
    memo: str,
    reference: str,
    actor: Actor,
    organization: Organization | None = None,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    currency = _check_lines(lines)
    if len(memo) > 500 or len(reference) > 100:
        raise EntryInvalid("The memo is limited to 500 characters and the reference to 100.")
    if not transaction.get_connection().in_atomic_block:
        with transaction.atomic():  # the locks of _require_funds last until the entry is written
            return _post(kind=kind, lines=lines, memo=memo, reference=reference, actor=actor,
                         organization=organization, reverses=reverses)
    # No savepoint of our own (a round trip each): the checks that refuse only read, before the first write.
    _require_funds(lines)
    if organization is not None and kind in BANK_KINDS:
        _refuse_used_reference(organization, reference)
    try:  # a savepoint only where a unique constraint's refusal becomes a domain error
        with transaction.atomic(savepoint=organization is not None or reverses is not None):
            entry = JournalEntry.objects.create(
                kind=kind,
                currency=currency,
                memo=memo,
                reference=reference,
                organization=organization,
                reverses=reverses,
                created_by=cast(Any, actor) if actor is not None and actor.is_authenticated else None,
            )
    except IntegrityError as err:
        if "ledger_bank_reference_once_per_org" in str(err) and organization is not None:
            raise _duplicate(organization, reference) from None
        if "reverses_id" in str(err) and reverses is not None:
            raise EntryNotReversible(f"Entry #{reverses.pk} has already been reversed.") from None
        raise
    Posting.objects.bulk_create(
        [Posting(entry=entry, account=account, amount=amount, currency=currency) for account, amount in lines]
    )
    return entry


def _check_lines(lines: Sequence[Line]) -> str:
    """The entry's currency, once every rule on lines holds."""
    if len(lines) < 2:
        raise EntryInvalid("An entry has at least two lines.")
    currencies = {account.currency for account, _ in lines}
    if len(currencies) != 1:
        raise EntryInvalid(f"Never two currencies in one entry: {', '.join(sorted(currencies))}.")
    (currency,) = currencies
    if currency not in CURRENCIES:
        raise EntryInvalid(f"The ledger does not hold {currency}.")
    if any(account.pk is None for account, _ in lines):
        raise EntryInvalid("Every line needs a saved account.")
    if len({account.pk for account, _ in lines}) != len(lines):
        raise EntryInvalid("An account appears once in an entry.")
    for account, amount in lines:
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise EntryInvalid(f"The amount for {account.name} must be a finite Decimal, not {amount!r}.")
        if amount == 0 or abs(amount) > MAX_AMOUNT or amount != quantize(amount, currency):
            raise EntryInvalid(f"The amount {amount} for {account.name} is zero, too large or below the minor unit.")
    total = sum((amount for _, amount in lines), Decimal(0))
    if total != 0:
        raise EntryInvalid(f"The lines sum to {total} {currency}, not zero.")
    return currency


def _require_funds(lines: Sequence[Line]) -> None:
    """Lock the cash accounts money leaves, in id order, and check each covers what leaves it."""
    taking = {account.pk: -amount for account, amount in lines if amount < 0 and account.kind == AccountKind.CASH}
    if not taking:
        return
    for account in accounts_lock(a for a, _ in lines if a.pk in taking):
        balance = account_balance(account)
        if balance < taking[account.pk]:
            raise InsufficientFunds(account=account, balance=balance, amount=taking[account.pk])


# ---------------------------------------------------------------------------------------------------------
# Bank rails: deposits and withdrawals by platform staff
# ---------------------------------------------------------------------------------------------------------


def deposit_record(
    *,
    organization: Organization | str,
    amount: object,
    currency: object,
    reference: object,
    reason: object,
    actor: Actor,
) -> JournalEntry:
    """Money arrived from the bank for ``organization``: bank clearing −amount, its cash +amount.

    Platform staff only (403 ``NotPlatformStaff``); the organization must be KYC approved and trade (not a
    regulator or the platform). ``organization`` is an Organization or its credit code; ``amount`` a decimal
    string (floats refused). The bank ``reference`` is used once per organization (409 ``DuplicateReference``,
    also held by a unique constraint). Inputs are checked before anything is written (400 naming the field).
    """
    return _bank_movement(EntryKind.DEPOSIT, organization, amount, currency, reference, reason, actor)


def withdrawal_record(
    *,
    organization: Organization | str,
    amount: object,
    currency: object,
    reference: object,
    reason: object,
    actor: Actor,
) -> JournalEntry:
    """Money paid out to the organization's bank account: its cash −amount, bank clearing +amount.

    As ``deposit_record``, except that any organization holding money may withdraw it, whatever its KYC
    status; refused with ``InsufficientFunds`` (409) beyond the balance, checked under the account's lock.
    """
    return _bank_movement(EntryKind.WITHDRAWAL, organization, amount, currency, reference, reason, actor)


_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#-]{0,63}", re.ASCII)
_AMOUNT = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,10})?", re.ASCII)


def _bank_movement(
    kind: str,
    organization: Organization | str,
    amount: object,
    currency: object,
    reference: object,
    reason: object,
    actor: Actor,
) -> JournalEntry:
    _require_platform_staff(actor)
    try:
        code = validate_currency(_text(currency, "currency", 8))
    except InvalidInput as err:
        raise LedgerInvalid(err.message, field="currency") from None
    value = _amount(amount, code)
    ref = _text(reference, "reference", 64)
    if not _REFERENCE.fullmatch(ref):
        raise LedgerInvalid(
            "The bank reference is 1 to 64 characters: letters, digits and . _ : / # -, starting with a letter "
            "or digit.",
            field="reference",
        )
    memo = _text(reason, "reason", 500)
    if not memo:
        raise LedgerInvalid("Say why: the reason is recorded with the entry.", field="reason")
    org = _organization(organization)
    if org.is_platform or org.is_regulator:
        raise LedgerInvalid(f"{org.legal_name} takes no part in trades and holds no cash.", field="organization")
    if kind == EntryKind.DEPOSIT and org.kyc_status != KycStatus.APPROVED:
        raise LedgerInvalid(f"{org.legal_name} is not KYC approved: no deposits until it is.", field="organization")
    with transaction.atomic():
        cash = cash_account(org, code)
        clearing = platform_account(AccountKind.BANK_CLEARING, code)
        lines = [(clearing, -value), (cash, value)] if kind == EntryKind.DEPOSIT else [(cash, -value), (clearing, value)]
        return _post(kind=kind, lines=lines, memo=memo, reference=ref, actor=actor, organization=org)


def _text(value: object, field: str, limit: int) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise LedgerInvalid("Send this as a string.", field=field)
    text = value.strip()
    if len(text) > limit:
        raise LedgerInvalid(f"At most {limit} characters.", field=field)
    if any(not c.isprintable() and c not in "\n\t" for c in text):
        raise LedgerInvalid("Control characters are not allowed.", field=field)
    return text


def _amount(value: object, currency: str) -> Decimal:
    """A strict decimal amount: ASCII digits with an optional fraction, as a string or an integer."""
    if isinstance(value, bool | float):
        raise LedgerInvalid("Send amounts as decimal strings such as \"100.00\", not floating-point numbers.",
                            field="amount")
    if isinstance(value, int | Decimal):
        value = str(value)
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value.strip()):
        raise LedgerInvalid("The amount is a decimal number written with the digits 0-9, such as \"100.00\".",
                            field="amount")
    try:
        return parse_amount(value.strip(), currency, field="amount")
    except InvalidInput as err:
        raise LedgerInvalid(err.message, field="amount") from None


def _organization(value: Organization | str) -> Organization:
    """The organization, read afresh (a KYC change takes effect at once), by object or credit code."""
    if isinstance(value, Organization):
        org = Organization.objects.filter(pk=value.pk).first()
    else:
        code = _text(value, "organization", 32).upper()
        org = Organization.objects.filter(credit_code=code).first() if code else None
    if org is None:
        raise LedgerInvalid("No organization has this unified social credit code.", field="organization")
    return org


def _refuse_used_reference(organization: Organization, reference: str) -> None:
    used = JournalEntry.objects.filter(organization=organization, kind__in=BANK_KINDS, reference=reference)
    if used.exists():
        raise _duplicate(organization, reference)


def _duplicate(organization: Organization, reference: str) -> DuplicateReference:
    return DuplicateReference(
        f"Bank reference {reference} was already recorded for {organization.legal_name}: nothing was posted again.",
        field="reference",
    )


def _require_platform_staff(actor: Actor) -> None:
    if actor is not None and not is_platform_staff(actor):
        raise NotPlatformStaff("Only staff of the platform operator may do this.")


# ---------------------------------------------------------------------------------------------------------
# Corrections
# ---------------------------------------------------------------------------------------------------------


def entry_reverse(*, entry_id: int, reason: str, actor: Actor) -> JournalEntry:
    """Post the mirror image of entry ``entry_id`` (kind reversal, every amount negated) and return it.

    Platform staff only. An entry is reversed at most once (409, also a unique constraint), a reversal is not
    itself reversed (post a new entry instead), and the reversal must not take a cash account below zero
    (``InsufficientFunds``). Runs inside the caller's transaction; the original entry is locked first.
    """
    _require_platform_staff(actor)
    memo = _text(reason, "reason", 500)
    if not memo:
        raise LedgerInvalid("Say why the entry is reversed.", field="reason")
    with transaction.atomic():
        try:
            original = JournalEntry.objects.select_for_update().get(pk=entry_id)
        except (JournalEntry.DoesNotExist, ValueError, TypeError):
            raise EntryNotFound(f"No journal entry #{entry_id}.") from None
        if original.kind == EntryKind.REVERSAL:
            raise EntryNotReversible(f"Entry #{original.pk} is a reversal: post a new entry to correct it.")
        if JournalEntry.objects.filter(reverses=original).exists():
            raise EntryNotReversible(f"Entry #{original.pk} has already been reversed.")
        lines = [(p.account, -p.amount) for p in original.postings.select_related("account").order_by("pk")]
        return _post(
            kind=EntryKind.REVERSAL,
            lines=lines,
            memo=memo,
            reference=original.reference,
            actor=actor,
            organization=original.organization,
            reverses=original,
        )

