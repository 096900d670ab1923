"""Maturity: the system settles from the debtor's cash (``settlement``), marks unpaid bills overdue, then defaulted after the grace period,
and lets an issued bill its supplier never signed for lapse at maturity (nobody's default).

The system's transitions act as the platform organization (``actor=None``) or as platform staff.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext

from bills import clock, rules
from bills.errors import BillTransitionRefused
from bills.models import Bill, BillState, ParticipantRole
from bills.services.core import Guarded, drop_participant, guard, platform_organization, transition
from bills.services.settlement import bill_auto_settle
from finance_portal.ledger.errors import InsufficientFunds
from finance_portal.users import User


def _issued_unsigned(bill: Bill) -> bool:
    """An issued bill still waiting for its supplier's first signature (its debtor still holds it)."""
    return bill.state == BillState.PENDING_RECEIPT and bill.holder_id == bill.debtor_id


def _clear_pending_receiver(g: Guarded) -> None:
    if g.bill.pending_holder_id is not None:
        drop_participant(g.bill, g.bill.pending_holder_id, ParticipantRole.PENDING_RECEIVER)


def bill_mark_overdue(*, bill_id: object, actor: User | None = None, reason: object = "") -> Bill:
    """Mark a bill unpaid past its maturity overdue. ``actor`` is platform staff, or None for the system.

    A transfer still waiting for its receiver lapses: the bill stays with its holder. An issued bill never
    signed for is not overdue: it lapses (``bill_lapse``).
    """
    with transaction.atomic():
        g = guard("overdue", bill_id=bill_id, actor=actor)
        bill = g.bill
        if _issued_unsigned(bill):
            raise BillTransitionRefused(
                gettext("Bill %(number)s was issued and never signed for: it lapses instead of going overdue.")
                % {"number": bill.number},
                code="lapses",
            )
        text = g.reason(reason) or f"Unpaid after maturity on {bill.maturity_date}."
        _clear_pending_receiver(g)
        transition(g, reason=text, details={"days_past_due": (clock.today() - bill.maturity_date).days},
                   pending_holder=None, state_before_transfer="", asking_rate=None)
    return bill


def bill_mark_defaulted(*, bill_id: object, actor: User | None = None, reason: object = "") -> Bill:
    """Mark an overdue bill defaulted once the grace period (``BILL_GRACE_DAYS``) after maturity has run out."""
    with transaction.atomic():
        g = guard("default", bill_id=bill_id, actor=actor)
        bill = g.bill
        grace = settings.BILL_GRACE_DAYS
        text = g.reason(reason) or f"Unpaid {grace} days after maturity on {bill.maturity_date}."
        transition(g, reason=text, details={"days_past_due": (clock.today() - bill.maturity_date).days,
                                            "grace_days": grace})
    return bill


def bill_lapse(*, bill_id: object, actor: User | None = None, reason: object = "") -> Bill:
    """An issued bill its supplier never signed for lapses at maturity: ``cancelled``, its invoice
    allocations released, and no one's default (its debtor never owed anyone who accepted the claim)."""
    with transaction.atomic():
        g = guard("lapse", bill_id=bill_id, actor=actor)
        bill = g.bill
        if not _issued_unsigned(bill):
            raise BillTransitionRefused(
                gettext("Bill %(number)s waits for a transfer's receiver, not an issue's: it goes overdue if "
                        "unpaid.") % {"number": bill.number},
                code="not_issued",
            )
        text = g.reason(reason) or f"Issued and never signed for by maturity on {bill.maturity_date}."
        receiver = bill.pending_holder.credit_code if bill.pending_holder else ""
        _clear_pending_receiver(g)
        transition(g, reason=text, details={"receiver": receiver}, pending_holder=None)
    return bill


def _sweep(ids: list[object], service: object, counts: dict[str, int], name: str) -> None:
    for bill_id in ids:
        try:
            service(bill_id=bill_id)  # type: ignore[operator]
            counts[name] += 1
        except (BillTransitionRefused, InsufficientFunds):  # changed meanwhile, or the debtor's cash falls short
            continue


def bills_mark_overdue_and_default() -> dict[str, int]:
    """The daily sweep (Celery beat ``bills.mark_overdue`` and ``manage.py bills_mark_overdue``).

    Lets unsigned issued bills lapse at maturity, settles matured bills from their debtors' cash where it
    covers the face (the others stay open), marks overdue every other bill unpaid past maturity, then
    defaulted every overdue bill past the grace period; each bill in its own transaction; a bill that changed
    meanwhile is skipped. Returns the counts.
    """
    platform_organization()  # fail loudly, not once per bill, when the system has no organization to act as
    today = clock.today()
    counts = {"lapsed": 0, "settled": 0, "overdue": 0, "defaulted": 0}
    issued = Bill.objects.filter(state=BillState.PENDING_RECEIPT, holder_id=F("debtor_id"), maturity_date__lte=today)
    _sweep(list(issued.values_list("id", flat=True)), bill_lapse, counts, "lapsed")
    matured = Bill.objects.filter(state__in=rules.RULES["auto_settle"].from_states, maturity_date__lte=today)
    _sweep(list(matured.values_list("id", flat=True)), bill_auto_settle, counts, "settled")
    due = Bill.objects.filter(state__in=rules.OVERDUE_FROM_STATES, maturity_date__lt=today)
    _sweep(list(due.values_list("id", flat=True)), bill_mark_overdue, counts, "overdue")
    cutoff = today - dt.timedelta(days=settings.BILL_GRACE_DAYS)
    late = Bill.objects.filter(state=BillState.OVERDUE, maturity_date__lt=cutoff)
    _sweep(list(late.values_list("id", flat=True)), bill_mark_defaulted, counts, "defaulted")
    return counts
