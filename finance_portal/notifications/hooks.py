"""Bill events that need someone's action become notifications (settings ``BILL_EVENT_HOOKS``).

``bill_event_appended`` is called by ``bills.services.core.append_event`` inside the event's transaction, after
the bill's row changed: it writes the notifications in that same transaction (a rolled-back transition leaves
none) and sends their emails once it commits (``notifications.emails``). Who is told of what:

==================  ==========================================================
event               recipients
==================  ==========================================================
submit              the debtor (accept or reject)
issue               the supplier the bill was issued to (sign or refuse)
transfer            the receiver (sign or refuse)
overdue             the holder and the debtor
freeze              the holder
==================  ==========================================================

Offers and early-settlement requests are not bill events (an offer is commercially secret, and neither is
anchored): ``bills`` tells ``bill_activity`` of them through ``BILL_ACTIVITY_HOOKS``, and only the holder, who
must answer, is told (never another financier):

==========================  ======================================================
activity                    recipients
==========================  ======================================================
offer_made                  the holder (accept the offer or let it lapse)
early_settlement_requested  the holder (accept the early settlement or not)
==========================  ======================================================
"""

from __future__ import annotations

from typing import Any

from bills import clock
from bills.models import Bill, EventType
from finance_portal.notifications.emails import send_on_commit
from finance_portal.notifications.models import Notification, NotificationKind
from finance_portal.organizations.models import Organization

NOTIFYING_EVENTS = frozenset({EventType.SUBMIT, EventType.ISSUE, EventType.TRANSFER, EventType.OVERDUE,
                              EventType.FREEZE})


def recipients(bill: Bill, event_type: str) -> list[tuple[Organization, str, dict[str, str]]]:
    """Who must hear of ``event_type`` on ``bill`` (already in its new state): (organization, kind, extra params)."""
    if event_type == EventType.SUBMIT:
        return [(bill.debtor, NotificationKind.BILL_SUBMITTED, {})]
    if event_type == EventType.ISSUE and bill.pending_holder is not None:
        return [(bill.pending_holder, NotificationKind.BILL_ISSUED, {})]
    if event_type == EventType.TRANSFER and bill.pending_holder is not None:
        return [(bill.pending_holder, NotificationKind.BILL_TRANSFERRED, {"sender": bill.holder.legal_name})]
    if event_type == EventType.OVERDUE:
        told: list[tuple[Organization, str, dict[str, str]]] = [
            (bill.holder, NotificationKind.BILL_OVERDUE, {"as": "holder"})]
        if bill.debtor_id != bill.holder_id:
            told.append((bill.debtor, NotificationKind.BILL_OVERDUE, {"as": "debtor"}))
        return told
    if event_type == EventType.FREEZE:
        return [(bill.holder, NotificationKind.BILL_FROZEN, {})]
    return []


ACTIVITY_KINDS = {"offer_made": NotificationKind.OFFER_MADE,
                  "early_settlement_requested": NotificationKind.EARLY_SETTLEMENT_REQUESTED}


def _common(bill: Bill) -> dict[str, str]:
    return {
        "number": bill.number,
        "face": str(bill.face),
        "currency": bill.currency,
        "maturity": bill.maturity_date.isoformat(),
        "creditor": bill.creditor.legal_name,
        "debtor": bill.debtor.legal_name,
    }


def _write(bill: Bill, told: list[tuple[Organization, str, dict[str, str]]]) -> None:
    now = clock.now()
    common = _common(bill)
    made = Notification.objects.bulk_create([
        Notification(organization=org, kind=kind, bill=bill, params={**common, **extra}, created_at=now)
        for org, kind, extra in told
    ])
    send_on_commit([n.pk for n in made])


def bill_activity(*, bill_id: Any, activity: str, params: dict[str, str]) -> None:
    """An offer made or an early settlement asked for (``BILL_ACTIVITY_HOOKS``): the holder is told, with the
    words ``params`` give. Precondition: inside the activity's transaction."""
    kind = ACTIVITY_KINDS.get(activity)
    if kind is None:
        return
    bill = Bill.objects.select_related("creditor", "debtor", "holder").get(pk=bill_id)
    _write(bill, [(bill.holder, kind, {key: str(value) for key, value in params.items()})])


def bill_event_appended(*, bill_id: Any, event_type: str) -> None:
    """Write the notifications ``event_type`` calls for. Precondition: inside the event's transaction."""
    if event_type not in NOTIFYING_EVENTS:
        return
    bill = Bill.objects.select_related("creditor", "debtor", "holder", "pending_holder").get(pk=bill_id)
    told = recipients(bill, event_type)
    if told:
        _write(bill, told)
