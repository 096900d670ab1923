"""Ledger services: opening accounts. Money movements arrive with the purchase and settlement work."""

from __future__ import annotations

from finance_portal.ledger.models import Account, AccountKind


def account_open_cash(*, organization, currency: str) -> Account:  # type: ignore[no-untyped-def]
    """The organization's cash account in ``currency``, created if it does not exist yet."""
    account, _ = Account.objects.get_or_create(
        organization=organization,
        kind=AccountKind.CASH,
        currency=currency,
        defaults={"name": f"{organization.legal_name} cash ({currency})"},
    )
    return account
