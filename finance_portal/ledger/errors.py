"""Errors of the ledger. Every one is a ``finance_portal.errors`` domain error, so the API maps it to 4xx."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.translation import gettext

from finance_portal.errors import Conflict, DomainError, InvalidInput, NotFound, NotPermitted

if TYPE_CHECKING:
    from finance_portal.ledger.models import Account


class LedgerError(DomainError):
    """Base of every ledger error."""


class LedgerInvalid(InvalidInput, LedgerError):
    """400: an input is malformed (amount, currency, reference, organization); the field is named."""


class EntryInvalid(LedgerError):
    """400: lines given to ``entry_post`` do not make a valid entry (a caller's bug more than a user's)."""

    code = "entry_invalid"


class InsufficientFunds(Conflict, LedgerError):
    """409: a cash account would go below zero. Names the account, its balance and the amount asked."""

    code = "insufficient_funds"

    def __init__(self, *, account: Account, balance: Decimal, amount: Decimal) -> None:
        super().__init__(  # in the request's language, the account named as the pages name it
            gettext("Insufficient funds: %(account)s holds %(balance)s, %(amount)s cannot be taken from it.") % {
                "account": account.display_name, "balance": f"{balance} {account.currency}",
                "amount": f"{amount} {account.currency}"}
        )
        self.account = account
        self.balance = balance
        self.amount = amount


class DuplicateReference(Conflict, LedgerError):
    """409: this bank reference was already used for this organization (the movement is not repeated)."""

    code = "duplicate_reference"


class EntryNotReversible(Conflict, LedgerError):
    """409: the entry was already reversed, or is itself a reversal."""

    code = "entry_not_reversible"


class NotPlatformStaff(NotPermitted, LedgerError):
    """403: only staff of the platform operator move money in and out of the platform."""

    code = "not_platform_staff"


class AccountNotFound(NotFound, LedgerError):
    """404: no such account, or not one of the caller's organization (the two are not told apart)."""

    code = "account_not_found"


class EntryNotFound(NotFound, LedgerError):
    code = "entry_not_found"
