"""Reads on bills for the apps above bills (``sme_credit``, the dashboards; DESIGN §2): bill history and
exposure, read-only. ``bills.selectors`` re-exports them under their old names."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Q, Sum

from bills.models import Bill, BillEvent, BillState
from finance_portal.organizations.models import Organization

# The states in which the holder still carries the debtor's risk (not settled, split, cancelled or rejected,
# and past the debtor's acceptance).
EXPOSURE_STATES = frozenset({BillState.ACCEPTED, BillState.PENDING_RECEIPT, BillState.LISTED, BillState.FINANCED,
                             BillState.OVERDUE, BillState.DEFAULTED, BillState.FROZEN})
# States in which a bill never became anyone's obligation: it counts in nobody's history.
_NEVER_OWED_STATES = frozenset({BillState.DRAFT, BillState.SUBMITTED, BillState.REJECTED, BillState.CANCELLED})


def held_face_owed_by(*, holder: Organization, debtor: Organization, currency: str,
                      creditor: Organization | None = None) -> Decimal:
    """The face of the live bills ``holder`` holds that ``debtor`` owes in ``currency`` (only those drawn by
    ``creditor`` when given): a financier's exposure to a debtor."""
    qs = Bill.objects.filter(holder=holder, debtor=debtor, currency=currency, state__in=EXPOSURE_STATES)
    if creditor is not None:
        qs = qs.filter(creditor=creditor)
    return qs.aggregate(total=Sum("face"))["total"] or Decimal("0")


def face_owed_by(*, debtor: Organization, currency: str) -> Decimal:
    """The face of the live bills ``debtor`` owes in ``currency``, whoever holds them: issued and waiting for
    the receiver's signature, accepted, and every state after until settled (split parts count, their root
    not). What a core enterprise's issuing limit caps."""
    qs = Bill.objects.filter(debtor=debtor, currency=currency, state__in=EXPOSURE_STATES)
    return qs.aggregate(total=Sum("face"))["total"] or Decimal("0")


@dataclass(frozen=True)
class BillHistoryRow:
    """One bill in an organization's record, as its creditor or its debtor."""

    bill_id: uuid.UUID
    creditor_id: int
    debtor_id: int
    face: Decimal
    currency: str
    issue_date: dt.date
    maturity_date: dt.date
    state: str
    is_part: bool  # a split part: in the payment record; its root carries the volume
    settlement_kind: str  # "" while unsettled
    days_late: int
    settled_at: dt.datetime | None


def bill_history_of(org: Organization) -> list[BillHistoryRow]:
    """The bills ``org`` drew or owes that count in its record. Drafts, submitted, rejected and cancelled bills
    count for nobody, and so does an issued bill that lapsed unsigned (cancelled) or still waits for its
    supplier's first signature (the debtor holds it)."""
    rows = (
        Bill.objects.filter(Q(creditor=org) | Q(debtor=org))
        .exclude(state__in=_NEVER_OWED_STATES)
        .exclude(state__in=[BillState.PENDING_RECEIPT, BillState.FROZEN], holder_id=F("debtor_id"))
        .order_by("issue_date", "id")
        .values_list("id", "creditor_id", "debtor_id", "face", "currency", "issue_date", "maturity_date", "state",
                     "parent_id", "settlement__kind", "settlement__days_late", "settlement__settled_at")
    )
    return [
        BillHistoryRow(bill_id=r[0], creditor_id=r[1], debtor_id=r[2], face=r[3], currency=r[4], issue_date=r[5],
                       maturity_date=r[6], state=r[7], is_part=r[8] is not None, settlement_kind=r[9] or "",
                       days_late=r[10] or 0, settled_at=r[11])
        for r in rows
    ]


def organizations_in_events_after(event_id: int, *, limit: int = 5000) -> tuple[set[int], int]:
    """The creditors and debtors of the bills whose events have an id above ``event_id`` (at most ``limit``
    events, oldest first), and the last event id read (``event_id`` itself when there is none)."""
    rows = list(
        BillEvent.objects.filter(id__gt=event_id).order_by("id")
        .values_list("id", "bill__creditor_id", "bill__debtor_id")[:limit]
    )
    orgs = {org_id for row in rows for org_id in row[1:]}
    return orgs, (rows[-1][0] if rows else event_id)
