"""Moving a claim along the supply chain: transfer (an offer the receiver signs for or refuses), and split
(parts that sum exactly to the face, each a bill of its own, optionally offered at once: a split-transfer)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext

from bills.errors import BillInvalid
from bills.events import amount_text
from bills.models import Bill, BillState, EventType, ParticipantRole
from bills.services import inputs
from bills.services.core import (
    add_participant,
    append_event,
    drop_participant,
    genesis_details,
    guard,
    move,
    new_bill,
    transition,
)
from finance_portal.money import parse_amount
from finance_portal.organizations.models import Organization
from finance_portal.users import User


def _receiver(value: object, *, field: str, bill: Bill, org: Organization) -> Organization:
    receiver = inputs.counterparty(value, field=field, acting=org)
    if receiver.pk == bill.debtor_id:
        raise BillInvalid(gettext("A bill cannot be transferred to its debtor: the debtor settles it instead."),
                          field=field)
    return receiver


def _offer(bill: Bill, *, receiver: Organization, org: Organization, user: User | None, reason: str) -> None:
    """Offer a held bill to ``receiver``. Precondition: the caller holds the lock and the guard passed."""
    add_participant(bill, receiver, ParticipantRole.PENDING_RECEIVER)
    move(bill, type=EventType.TRANSFER, to_state=BillState.PENDING_RECEIPT, org=org, user=user, reason=reason,
         details={"receiver": receiver.credit_code}, state_before_transfer=bill.state, pending_holder=receiver)


def bill_transfer(*, bill_id: object, actor: User, to: object = None, reason: object = "") -> Bill:
    """The holder offers an accepted or financed bill to an onboarded organization; it takes effect on receipt."""
    with transaction.atomic():
        g = guard("transfer", bill_id=bill_id, actor=actor)
        receiver = _receiver(to, field="to", bill=g.bill, org=g.org)
        _offer(g.bill, receiver=receiver, org=g.org, user=actor, reason=g.reason(reason))
    return g.bill


def bill_receive(*, bill_id: object, actor: User, reason: object = "") -> Bill:
    """The receiver signs for a transferred (or issued) bill: it becomes the holder and the bill is accepted.

    A bill financed before the transfer comes out accepted: its new holder may finance it again.
    """
    with transaction.atomic():
        g = guard("receive", bill_id=bill_id, actor=actor)
        bill, org = g.bill, g.org
        text = g.reason(reason)
        previous = bill.holder
        drop_participant(bill, previous.pk, ParticipantRole.HOLDER)
        if previous.pk != bill.debtor_id:
            add_participant(bill, previous, ParticipantRole.PAST_HOLDER)
        drop_participant(bill, org.pk, ParticipantRole.PENDING_RECEIVER)
        add_participant(bill, org, ParticipantRole.HOLDER)
        transition(g, reason=text, details={"holder": org.credit_code, "from_holder": previous.credit_code},
                   holder=org, pending_holder=None, holder_seq=bill.holder_seq + 1, state_before_transfer="")
    return bill


def bill_refuse(*, bill_id: object, actor: User, reason: object = "") -> Bill:
    """The receiver refuses a transfer: the bill returns to its holder in the state it had. A refused issue
    (a bill the debtor issued directly) ends rejected."""
    with transaction.atomic():
        g = guard("refuse", bill_id=bill_id, actor=actor)
        bill = g.bill
        text = g.reason(reason)
        drop_participant(bill, g.org.pk, ParticipantRole.PENDING_RECEIVER)
        transition(g, reason=text, to_state=bill.state_before_transfer or BillState.REJECTED,
                   details={"receiver": g.org.credit_code}, pending_holder=None, state_before_transfer="")
    return bill


def _parse_parts(raw: object, *, bill: Bill, org: Organization) -> list[tuple[Decimal, Organization | None]]:
    parsed: list[tuple[Decimal, Organization | None]] = []
    for i, part in enumerate(inputs.parse_parts(raw)):
        amount = inputs.check_face(parse_amount(part.get("face"), bill.currency, field=f"parts[{i}].face"),
                                   bill.currency, field=f"parts[{i}].face", part=True)
        target = part.get("transfer_to")
        receiver = None
        if target not in (None, ""):
            receiver = _receiver(target, field=f"parts[{i}].transfer_to", bill=bill, org=org)
        parsed.append((amount, receiver))
    total = sum((amount for amount, _ in parsed), Decimal("0"))
    if total != bill.face:
        raise BillInvalid(
            gettext("The parts sum to %(total)s; they must sum exactly to the face, %(face)s.")
            % {"total": amount_text(total, bill.currency), "face": amount_text(bill.face, bill.currency)},
            field="parts",
        )
    return parsed


def bill_split(*, bill_id: object, actor: User, parts: object = None, reason: object = "") -> Bill:
    """The holder splits an accepted or financed bill into parts that sum exactly to its face.

    ``parts`` is a list of ``{"face": "...", "transfer_to": "<credit code>" (optional)}``, at least two, each
    above zero. Each part becomes a new bill (own id, number and chain, first event ``split_from`` naming the
    parent and the parent's split event) in the parent's state, with its debtor, maturity, currency and
    holder; a part with ``transfer_to`` is offered to that organization at once (a split-transfer). The
    parent ends ``split``; invoice allocations stay on the root bill. Returns the parent.
    """
    with transaction.atomic():
        g = guard("split", bill_id=bill_id, actor=actor)
        bill, org = g.bill, g.org
        parsed = _parse_parts(parts, bill=bill, org=org)
        text = g.reason(reason)
        child_state = bill.state
        child_ids = [uuid.uuid4() for _ in parsed]
        split_event = transition(g, reason=text, details={
            "children": [
                {"bill": str(cid), "face": amount_text(amount, bill.currency)}
                for cid, (amount, _) in zip(child_ids, parsed, strict=True)
            ]
        })
        for child_id, (amount, receiver) in zip(child_ids, parsed, strict=True):
            child = new_bill(bill_id=child_id, creditor=bill.creditor, debtor=bill.debtor, holder=org, face=amount,
                             currency=bill.currency, issue_date=bill.issue_date, maturity=bill.maturity_date,
                             state=child_state, at=split_event.occurred_at, reference=bill.reference, parent=bill)
            append_event(child, type=EventType.SPLIT_FROM, from_state=None, org=org, user=actor,
                         at=split_event.occurred_at,
                         details=genesis_details(child, parent=str(bill.pk), parent_event=split_event.hash,
                                                 reason=text))
            if receiver is not None:
                _offer(child, receiver=receiver, org=org, user=actor, reason=text)
    return bill

