"""What every bill service shares: the guard, the event append, bill numbering and new bills, participants.

The one thing to know: ``guard`` is the only way a service gets hold of an existing bill. It runs the rule
book's order (``bills.rules``): KYC (403) → lock the row and check the organization may address the bill
(404, whatever the body says) → oversight role, party, state, maturity (403/409). Only then does the service
parse its own inputs and make its effects, and everything it writes goes through ``transition`` /
``append_event``, which append the ``BillEvent`` chained to the previous one and register it for anchoring
in the same database transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from bills import clock, rules
from bills.errors import BillNotFound, BillTransitionRefused
from bills.events import amount_text, build_event
from bills.models import (
    Bill,
    BillEvent,
    BillNumberCounter,
    BillParticipant,
    BillState,
    EventType,
    ParticipantRole,
)
from bills.models_money import BillOffer, OfferStatus
from bills.selectors import org_sees_bill, parse_bill_id
from bills.services import inputs
from chain_adapter.hashing import ZERO_HASH
from chain_adapter.outbox import anchor_enqueue
from finance_portal.compiled import CompiledRead
from finance_portal.organizations.models import Organization
from finance_portal.organizations.services import require_acting_organization
from finance_portal.users import User


@dataclass
class Guarded:
    """A bill locked for ``action`` by an organization the rule book lets act."""

    bill: Bill
    org: Organization
    user: User | None
    rule: rules.Transition

    def reason(self, value: object) -> str:
        """The reason sent with the action, required where the rule book says so (400 ``reason``)."""
        return inputs.reason_text(value, required=self.rule.reason_required)


def platform_organization() -> Organization:
    """The platform operator: the actor of the system's own transitions."""
    org = Organization.objects.filter(is_platform=True).order_by("pk").first()
    if org is None:
        raise BillTransitionRefused(gettext("No platform organization is registered: the system cannot act."), code="no_platform")
    return org


def acting_organization(
    rule: rules.Transition, actor: User | None, org: Organization | None = None
) -> tuple[Organization, bool]:
    """The organization acting, and whether it acts as platform staff. ``actor=None`` is the system itself,
    allowed only for the system's own transitions. ``org``: the actor's organization as
    ``require_acting_organization`` returned it earlier in this request (KYC already checked), not read again."""
    if actor is None:
        if rule.party is not rules.Party.SYSTEM:
            raise ValueError(f"{rule.action} needs an acting user")
        return platform_organization(), True
    if org is None:
        org = require_acting_organization(actor)
    return org, bool(actor.is_staff and org.is_platform)


_PARTIES = ("creditor", "debtor", "holder")


def lock_bill(bill_id: object) -> Bill:
    """The bill, its row locked until the transaction ends.

    Never join another table into this query: when the lock waits for a transaction that changes the bill,
    PostgreSQL re-checks the join against the bill's new row and, a joined party having changed, returns nothing.
    """
    found = _LOCK_BILL.rows(pk=parse_bill_id(bill_id))
    if not found:
        raise BillNotFound(gettext("No such bill."))
    return found[0]


_LOCK_BILL = CompiledRead(lambda *, pk: Bill.objects.select_for_update().filter(pk=pk))


def _reachable(rule: rules.Transition, bill: Bill, org: Organization) -> bool:
    if rule.reach is rules.Reach.ANY:
        return True
    if rule.reach is rules.Reach.MARKET and org.is_financier and bill.state == BillState.LISTED:
        return True
    # The bill's creditor, debtor and holder are always among its participants (``new_bill`` adds them, and a
    # new holder is added in the transaction that makes it one), so they need not be looked up.
    if org.pk in (bill.creditor_id, bill.debtor_id, bill.holder_id):
        return True
    return org_sees_bill(bill=bill, org=org)


def _not_found(rule: rules.Transition, bill: Bill, org: Organization) -> Exception:
    """404, but for the one thing a financier may learn: the listing it tried to buy was just sold."""
    if rule.reach is rules.Reach.MARKET and org.is_financier and bill.state == BillState.FINANCED:
        last = BillEvent.objects.filter(bill=bill).order_by("-seq").values_list("type", flat=True).first()
        if last == EventType.BUY:
            return BillTransitionRefused(gettext("Bill %(number)s has just been bought by another financier.") % {"number": bill.number},
                                         code="already_bought")
    return BillNotFound(gettext("No such bill."))


def guard(
    action: str,
    *,
    bill_id: object,
    actor: User | None,
    org: Organization | None = None,
    locked: Bill | None = None,
) -> Guarded:
    """Lock the bill and run the rule book's checks for ``action``, in the documented order.

    ``org``: the actor's organization, already read by ``require_acting_organization`` in this request.
    ``locked``: the bill, already locked by ``lock_bill`` in this transaction. The acting organization stands
    in for the bill's party it is (``bill.debtor`` of a debtor's action is not read again).

    Precondition: the caller is inside ``transaction.atomic()``; the row lock lasts until it commits.
    """
    rule = rules.rule(action)
    org, staff = acting_organization(rule, actor, org)
    bill = locked if locked is not None else lock_bill(bill_id)
    for party in _PARTIES:
        if getattr(bill, f"{party}_id") == org.pk:
            setattr(bill, party, org)
    if not _reachable(rule, bill, org):
        raise _not_found(rule, bill, org)
    rules.check(rule, bill=bill, org=org, staff=staff, today=clock.today(), grace_days=settings.BILL_GRACE_DAYS)
    return Guarded(bill=bill, org=org, user=actor, rule=rule)


def guard_creation(action: str, *, actor: User) -> Organization:
    """The guard of the actions that create a bill: KYC, then the organization's kind (403)."""
    org = require_acting_organization(actor)
    rules.check_creation(rules.rule(action), org=org)
    return org


def next_number(year: int) -> str:
    """``BL-<year>-<6 digits>`` from the year's counter row, locked by the upsert until the commit."""
    table = BillNumberCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (year, last) VALUES (%s, 1) "  # noqa: S608 (table name is ours)
            f"ON CONFLICT (year) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [year],
        )
        (n,) = cursor.fetchone()
    return f"BL-{year}-{n:06d}"


def add_participant(bill: Bill, org: Organization, role: str) -> None:
    add_participants(bill, [(org, role)])


def add_participants(bill: Bill, roles: Sequence[tuple[Organization, str]]) -> None:
    """Make each organization a participant of ``bill`` in its role, unless it already is: one INSERT ... ON
    CONFLICT DO NOTHING (the unique constraint ``participant_once_per_role``), no savepoint."""
    BillParticipant.objects.bulk_create(
        [BillParticipant(bill=bill, organization=org, role=role) for org, role in roles], ignore_conflicts=True
    )


def drop_participant(bill: Bill, org_id: int, role: str) -> None:
    BillParticipant.objects.filter(bill=bill, organization_id=org_id, role=role).delete()


_LAST_EVENT = CompiledRead(
    lambda *, bill: BillEvent.objects.filter(bill_id=bill).order_by("-seq").values_list("seq", "hash"), first=True)


def append_event(
    bill: Bill,
    *,
    type: str,
    from_state: str | None,
    org: Organization,
    user: User | None,
    at: dt.datetime,
    details: dict[str, Any],
    amounts: dict[str, str] | None = None,
) -> BillEvent:
    """Append the next event of ``bill`` (its state already changed), register it for anchoring, and tell the
    hooks named in ``settings.BILL_EVENT_HOOKS`` (``hook(*, bill_id, event_type)``, inside this transaction).

    Precondition: the caller holds the bill's row lock (or created the bill in this transaction), so
    sequence numbers and the chain's order are those of the appends.
    """
    last = _LAST_EVENT.first(bill=bill.pk)
    seq, prev = (last[0] + 1, last[1]) if last else (1, ZERO_HASH)
    all_amounts = {"face": amount_text(bill.face, bill.currency), **(amounts or {})}
    built = build_event(  # canonical text, hash and (format 2) the fields' secret salts: bills.events
        bill_id=str(bill.pk), bill_key=bill.bill_key, seq=seq, type=type, from_state=from_state,
        to_state=bill.state, actor_code=org.credit_code, occurred_at=at, amounts=all_amounts, details=details,
        prev=prev,
    )
    anchor = anchor_enqueue(key=bill.bill_key, prev_hash=prev, event_hash=built.hash)
    event = BillEvent.objects.create(
        bill=bill,
        seq=seq,
        type=type,
        from_state=from_state or "",
        to_state=bill.state,
        actor=org,
        actor_user=user if user is not None and user.is_authenticated else None,
        occurred_at=at,
        amounts=all_amounts,
        details=details,
        prev_hash=prev,
        hash=built.hash,
        canonical=built.canonical,
        salts=built.salts,
        anchor=anchor,
    )
    for path in getattr(settings, "BILL_EVENT_HOOKS", ()):
        import_string(path)(bill_id=bill.pk, event_type=type)
    return event


def tell_activity(bill: Bill, activity: str, **params: str) -> None:
    """Tell the hooks named in ``settings.BILL_ACTIVITY_HOOKS`` (``hook(*, bill_id, activity, params)``, inside
    this transaction) of something on ``bill`` that is not a bill event but needs someone's answer: an offer made
    (``offer_made``), an early settlement asked for (``early_settlement_requested``). ``params`` are words and
    amounts for the recipient, already visible to it."""
    for path in getattr(settings, "BILL_ACTIVITY_HOOKS", ()):
        import_string(path)(bill_id=bill.pk, activity=activity, params=params)


def transition(
    g: Guarded,
    *,
    reason: str,
    to_state: str | None = None,
    details: dict[str, Any] | None = None,
    amounts: dict[str, str] | None = None,
    **changes: Any,
) -> BillEvent:
    """Move the guarded bill to the rule's state (or ``to_state`` where the rule says PREVIOUS), save the
    row with ``changes`` and append the rule's event. Precondition: ``g`` came from ``guard`` (lock held)."""
    # Only rules that append an event come here (``event`` is None for the records of their own).
    return move(g.bill, type=cast(str, g.rule.event), to_state=to_state or g.rule.to_state, org=g.org, user=g.user,
                reason=reason, details=details, amounts=amounts, **changes)


def move(
    bill: Bill,
    *,
    type: str,
    to_state: str,
    org: Organization,
    user: User | None,
    reason: str,
    details: dict[str, Any] | None = None,
    amounts: dict[str, str] | None = None,
    **changes: Any,
) -> BillEvent:
    """The state change and its event. Precondition: the caller holds the bill's row lock."""
    if to_state == rules.PREVIOUS:
        raise ValueError("a rule that returns to the previous state names it explicitly")
    from_state = bill.state
    at = clock.now()
    if from_state == BillState.LISTED and to_state not in (BillState.LISTED, BillState.FROZEN):
        lapse_open_offers(bill, at=at)
    bill.state = to_state
    bill.updated_at = at
    for name, value in changes.items():
        setattr(bill, name, value)
    bill.save(update_fields=["state", "updated_at", *changes])  # what the transition changed, no other column
    return append_event(bill, type=type, from_state=from_state, org=org, user=user, at=at,
                        details={**(details or {}), "reason": reason}, amounts=amounts)


def lapse_open_offers(bill: Bill, *, at: dt.datetime, keep: int | None = None) -> None:
    """The bill left the market (sold, unlisted, settled, overdue): its open offers lapse, but ``keep``."""
    # pk=None excludes nothing (Django compares with IS NULL); the stubs only know int and str here.
    BillOffer.objects.filter(bill=bill, status=OfferStatus.OPEN).exclude(pk=keep).update(  # type: ignore[misc]
        status=OfferStatus.LAPSED, closed_at=at
    )


def genesis_details(bill: Bill, **extra: Any) -> dict[str, Any]:
    """What the first event of every bill says about its parties and terms (checked by the chain check)."""
    return {
        "number": bill.number,
        "creditor": bill.creditor.credit_code,
        "debtor": bill.debtor.credit_code,
        "holder": bill.holder.credit_code,
        "currency": bill.currency,
        "issue_date": bill.issue_date.isoformat(),
        "maturity": bill.maturity_date.isoformat(),
        **extra,
    }


def new_bill(
    *,
    creditor: Organization,
    debtor: Organization,
    holder: Organization,
    face: Any,
    currency: str,
    issue_date: dt.date,
    maturity: dt.date,
    state: str,
    at: dt.datetime,
    reference: str = "",
    pending_holder: Organization | None = None,
    parent: Bill | None = None,
    bill_id: uuid.UUID | None = None,
) -> Bill:
    bill = Bill.objects.create(
        id=bill_id or uuid.uuid4(),
        number=next_number(at.year),
        state=state,
        creditor=creditor,
        debtor=debtor,
        holder=holder,
        pending_holder=pending_holder,
        face=face,
        currency=currency,
        issue_date=issue_date,
        maturity_date=maturity,
        parent=parent,
        root=(parent.root or parent) if parent else None,
        reference=reference,
        created_at=at,
        updated_at=at,
    )
    roles = [(creditor, ParticipantRole.CREDITOR), (debtor, ParticipantRole.DEBTOR), (holder, ParticipantRole.HOLDER)]
    if pending_holder is not None:
        roles.append((pending_holder, ParticipantRole.PENDING_RECEIVER))
    add_participants(bill, roles)
    return bill
