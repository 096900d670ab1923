"""Policies that ``bills`` runs by name (settings ``BILL_PURCHASE_POLICIES`` and ``BILL_OBLIGATION_POLICIES``,
DESIGN §2).

``bills`` never imports this module: a purchase imports each dotted path in the setting and calls it with
``bill``, ``buyer`` and ``price`` while it holds the bill's row lock; a policy refuses by raising a domain error.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q

from bills.events import amount_text
from bills.models import Bill
from bills.selectors import face_owed_by, held_face_owed_by
from finance_portal.compiled import CompiledRead
from finance_portal.organizations.models import Organization
from sme_credit.errors import CreditLimitExceeded, IssuingLimitExceeded
from sme_credit.models import CreditLimit, IssuingLimit


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount_text(amount, currency)} {currency}"


_BUYERS_LIMITS = CompiledRead(
    lambda *, buyer, debtor, currency, creditor: CreditLimit.objects.select_for_update(of=("self",))
    .filter(financier_id=buyer, debtor_id=debtor, currency=currency, revoked_at__isnull=True)
    .filter(Q(supplier__isnull=True) | Q(supplier_id=creditor))
    .select_related("debtor", "supplier")
    .order_by("id"))


def exposure_within_limit(*, bill: Bill, buyer: Organization, price: Decimal) -> None:
    """Refuse (409 ``credit_limit_exceeded``) a purchase that would take ``buyer``'s exposure to the bill's
    debtor over a live limit of ``buyer``: its debtor-wide limit, and its limit for (debtor, the bill's
    creditor) where one exists. Exposure is the face of the live bills the buyer holds that the debtor owes
    (in the limit's currency; for a supplier's limit, only those that supplier drew) plus this bill's face.
    Settled, split, cancelled and rejected bills are not exposure, so exposure falls as bills settle.

    No live limit, or a limit in another currency: no refusal (a financier without limits buys freely).
    Precondition: the caller holds the bill's row lock. The limit rows are locked here too, so two purchases
    against one limit are decided one after the other and cannot both slip under it.
    """
    limits = _BUYERS_LIMITS.rows(buyer=buyer.pk, debtor=bill.debtor_id, currency=bill.currency,
                                 creditor=bill.creditor_id)
    for limit in limits:
        current = held_face_owed_by(holder=buyer, debtor=limit.debtor, currency=limit.currency,
                                    creditor=limit.supplier)
        after = current + bill.face
        if after > limit.amount:
            scope = f"{limit.debtor.legal_name}" + (
                f" on bills drawn by {limit.supplier.legal_name}" if limit.supplier else "")
            raise CreditLimitExceeded(
                f"Buying bill {bill.number} (face {_money(bill.face, bill.currency)}) would take your exposure "
                f"to {scope} to {_money(after, bill.currency)}, over your credit limit of "
                f"{_money(limit.amount, limit.currency)} (limit {limit.pk}); current exposure "
                f"{_money(current, bill.currency)}."
            )


def issuing_within_limit(*, debtor: Organization, face: Decimal, currency: str, number: str) -> None:
    """Refuse (409 ``issuing_limit_exceeded``) a bill that would take what ``debtor`` owes in ``currency`` over
    any live issuing limit on it (the platform's or a financier's): owed is the face of its live bills, issued
    or accepted and not yet settled (``bills.selectors.face_owed_by``), plus this bill's face.

    No live limit in that currency: no refusal. The limit rows are locked (in id order) before the total is
    read, so two bills issued or accepted at once against one limit are decided one after the other: under
    READ COMMITTED the second reads the total after the first committed.
    """
    limits = list(
        IssuingLimit.objects.select_for_update(of=("self",))
        .filter(debtor=debtor, currency=currency, revoked_at__isnull=True)
        .select_related("grantor")
        .order_by("id")
    )
    if not limits:
        return
    owed = face_owed_by(debtor=debtor, currency=currency)
    after = owed + face
    for limit in limits:
        if after > limit.amount:
            raise IssuingLimitExceeded(
                f"Bill {number} (face {_money(face, currency)}) would take what {debtor.legal_name} owes to "
                f"{_money(after, currency)}, over its issuing limit of {_money(limit.amount, limit.currency)} "
                f"granted by {limit.grantor.legal_name} (limit {limit.pk}); it owes {_money(owed, currency)} now."
            )
