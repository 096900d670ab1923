"""Freeze and unfreeze: platform staff stop a live bill (court order, dispute) and lift the stop; the bill
returns to the state it was frozen in. A reason is required both ways."""

from __future__ import annotations

from django.db import transaction

from bills.models import Bill
from bills.services.core import guard, transition
from finance_portal.users import User


def bill_freeze(*, bill_id: object, actor: User, reason: object = "") -> Bill:
    """Platform staff freeze a live bill (court order, dispute): nothing moves until it is unfrozen."""
    with transaction.atomic():
        g = guard("freeze", bill_id=bill_id, actor=actor)
        transition(g, reason=g.reason(reason), state_before_freeze=g.bill.state)
    return g.bill


def bill_unfreeze(*, bill_id: object, actor: User, reason: object = "") -> Bill:
    """Platform staff lift a freeze: the bill returns to the state it was frozen in."""
    with transaction.atomic():
        g = guard("unfreeze", bill_id=bill_id, actor=actor)
        transition(g, reason=g.reason(reason), to_state=g.bill.state_before_freeze, state_before_freeze="")
    return g.bill
