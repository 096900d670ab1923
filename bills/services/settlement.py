"""Settlement: the debtor pays the holder the face, in one ledger entry (debtor −face, holder +face).

- On or after the maturity date the debtor settles (``settle``); after it, the settlement records its days late.
- At maturity the system settles from the debtor's cash where it covers the face (``auto_settle``); where it
  does not, the bill stays open and goes overdue the next day.
- Before maturity only with the holder's consent: the debtor asks (``request_early_settlement``, a record of
  its own for the present holder), the holder accepts (``accept_early_settlement``), priced at face.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from bills import clock
from bills.errors import BillTransitionRefused
from bills.events import amount_text
from bills.models import Bill
from bills.models_money import BillSettlement, EarlySettlementRequest, SettlementKind
from bills.services.core import Guarded, guard, tell_activity, transition
from finance_portal.ledger.services import cash_accounts, entry_post
from finance_portal.users import User


def _pay_face(g: Guarded, *, kind: str, reason: str) -> BillSettlement:
    """Move the face from the debtor's cash to the holder's and settle the guarded bill.

    Precondition: ``g`` came from the guard of a settling action (the bill's row lock is held). The debtor's
    cash account is locked by the ledger; 409 ``insufficient_funds`` when it does not cover the face.
    """
    bill = g.bill
    days_late = max(0, (clock.today() - bill.maturity_date).days)
    if days_late and kind in (SettlementKind.AT_MATURITY, SettlementKind.AUTOMATIC):
        kind = SettlementKind.LATE  # paid after the maturity date, by the debtor or by a later sweep
    paying, paid = cash_accounts([bill.debtor_id, bill.holder_id], bill.currency)
    payer, payee = paying.organization, paid.organization  # read with the accounts
    assert payer is not None and payee is not None  # a cash account belongs to an organization
    face = bill.face
    entry = entry_post(
        kind="settlement",
        lines=[(paying, -face), (paid, face)],
        memo=f"Settlement of bill {bill.number} ({SettlementKind(kind).label.lower()})",
        reference=f"bill:{bill.pk}",
        actor=g.user,
    )
    event = transition(
        g,
        reason=reason,
        amounts={"paid": amount_text(face, bill.currency)},
        details={"payer": payer.credit_code, "payee": payee.credit_code, "entry": entry.pk, "kind": str(kind),
                 "days_late": days_late},
        asking_rate=None,
    )
    return BillSettlement.objects.create(bill=bill, payer=payer, payee=payee, face=face, currency=bill.currency,
                                         kind=kind, days_late=days_late if kind == SettlementKind.LATE else 0,
                                         settled_at=event.occurred_at, entry=entry, event=event)


def bill_settle(*, bill_id: object, actor: User, reason: object = "") -> Bill:
    """The debtor pays the holder the face value, on or after maturity (late: recorded with its days late)."""
    with transaction.atomic():
        g = guard("settle", bill_id=bill_id, actor=actor)
        _pay_face(g, kind=SettlementKind.AT_MATURITY, reason=g.reason(reason))
    return g.bill


def bill_auto_settle(*, bill_id: object, actor: User | None = None, reason: object = "") -> Bill:
    """At maturity the platform settles from the debtor's cash (409 ``insufficient_funds`` when it falls short)."""
    with transaction.atomic():
        g = guard("auto_settle", bill_id=bill_id, actor=actor)
        text = g.reason(reason) or f"Paid from the debtor's cash at maturity on {g.bill.maturity_date}."
        _pay_face(g, kind=SettlementKind.AUTOMATIC, reason=text)
    return g.bill


def bill_request_early_settlement(*, bill_id: object, actor: User,
                                  reason: object = "") -> EarlySettlementRequest:
    """The debtor asks the present holder to take the face value now, before maturity."""
    with transaction.atomic():
        g = guard("request_early_settlement", bill_id=bill_id, actor=actor)
        text = g.reason(reason)
        existing = EarlySettlementRequest.objects.filter(bill=g.bill, holder_seq=g.bill.holder_seq).first()
        if existing is not None:
            raise BillTransitionRefused(
                gettext("Your request of %(day)s waits for the holder's answer.")
                % {"day": f"{existing.requested_at:%Y-%m-%d}"},
                code="already_requested",
            )
        made = EarlySettlementRequest.objects.create(bill=g.bill, holder_seq=g.bill.holder_seq, requested_by=g.org,
                                                     reason=text, requested_at=clock.now())
        tell_activity(g.bill, "early_settlement_requested", debtor=g.org.legal_name)
        return made


def bill_accept_early_settlement(*, bill_id: object, actor: User, reason: object = "") -> Bill:
    """The holder consents to the debtor's early settlement: the face is paid now and the bill is settled."""
    with transaction.atomic():
        g = guard("accept_early_settlement", bill_id=bill_id, actor=actor)
        request = (EarlySettlementRequest.objects.select_for_update()
                   .filter(bill=g.bill, holder_seq=g.bill.holder_seq, settled_at__isnull=True).first())
        if request is None:
            raise BillTransitionRefused(
                gettext("The debtor has not asked to settle bill %(number)s early: there is nothing to consent to.")
                % {"number": g.bill.number},
                code="no_request",
            )
        settlement = _pay_face(g, kind=SettlementKind.EARLY, reason=g.reason(reason))
        request.settled_at = settlement.settled_at
        request.save(update_fields=["settled_at"])
    return g.bill
