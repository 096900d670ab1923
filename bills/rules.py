"""The bill rule book: every transition of the state machine (DESIGN §3) as one row of one table.

Read ``TRANSITIONS`` to learn the state machine: who acts, from which states, to which state, and whether
maturity, the oversight roles or a missing reason stop it. Pages, the API, the "available actions" hint and
the OpenAPI action list are all derived from it; the services keep only their own effects.

One guard, ``refusal`` (raised by ``check``), runs the documented order for an action on an existing bill::

    oversight role (403 read_only_role) → acting party (403) → state (409 wrong_state) → maturity (409)
    → the holder itself, where the holder is excluded (409 own_listing)

KYC (403), the row lock and visibility (404) come before it (``bills.services.core.guard``), and each
action's own input parsing (400) after it, so a bad body never hides a refusal and a refusal never depends on
the body. This module is pure: it takes a bill and an organization and returns a decision, without I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from django.utils.translation import gettext, gettext_noop

from bills.errors import BillActionNotPermitted, BillError, BillTransitionRefused
from bills.models import BillState, EventType

if TYPE_CHECKING:
    from bills.models import Bill
    from finance_portal.organizations.models import Organization


class Party(StrEnum):
    """Who may take an action, relative to the bill."""

    CREDITOR = "creditor"  # the supplier whose receivable the bill is (for create: any supplier)
    DEBTOR = "debtor"  # the core enterprise that owes the face (for issue: any core enterprise)
    HOLDER = "holder"  # whoever holds the claim now
    PENDING_RECEIVER = "pending_receiver"  # the organization a transfer or an issue waits for
    FINANCIER = "financier"  # any onboarded financier (the marketplace)
    STAFF = "staff"  # platform staff (a user flagged staff in the platform organization)
    SYSTEM = "system"  # the platform itself (Celery beat), or platform staff acting for it


class Maturity(StrEnum):
    """When, relative to the maturity date (a bill matures at the start of that day, UTC), an action may run."""

    ANY = "any"
    BEFORE = "before"  # barred on and after maturity: nothing moves then but settlement and the system's marks
    ON_OR_AFTER = "on_or_after"
    AFTER = "after"  # the day after maturity at the earliest
    AFTER_GRACE = "after_grace"  # more than BILL_GRACE_DAYS after maturity


class Reach(StrEnum):
    """Which bills the acting organization can address (others are 404, whatever the body says)."""

    NEW = "new"  # the action creates the bill
    PARTICIPANT = "participant"  # bills it takes part in (oversight roles: every bill)
    MARKET = "market"  # as PARTICIPANT, plus every listed bill for a financier
    ANY = "any"  # the system reaches every bill


# The state a transition returns to when it is not fixed: the state before a transfer or a freeze.
PREVIOUS = "previous"
# Facts about a bill's records that some actions need (or must not find); the selectors compute them.
EARLY_SETTLEMENT_ASKED = "early_settlement_asked"  # the debtor asked the present holder to settle early

# An action that leaves the state as it is (an offer, a request): it writes a record of its own, no event.
SAME = "same"


@dataclass(frozen=True)
class Transition:
    action: str  # the action's name in URLs, the API and forms
    event: str | None  # the BillEvent type it appends (None: a record of its own, not in the bill's history)
    from_states: frozenset[str]  # empty for the actions that create a bill
    to_state: str  # a BillState, PREVIOUS or SAME
    party: Party
    oversight_refused: bool  # regulators and the platform organization may not take it (403)
    maturity: Maturity
    reason_required: bool
    holder_excluded: bool  # the holder itself may not take it (a holder cannot buy its own listing: 409)
    inputs: tuple[str, ...]  # what a form or a request body carries besides the reason
    routed: bool  # reached as POST /api/v1/bills/{id}/<url>/ and a bill page form (else it has a route of its own)
    needs: str | None  # a fact about the bill's records the service checks after the guard (409 when absent)
    unless: str | None  # a fact that makes the service refuse (409 when present)
    moves_money: bool  # posts a ledger entry in the same transaction
    label: str  # the button (marked with gettext_noop: pages translate it when they show it)
    done: str  # what the page says once it is done (idem)
    summary: str  # the OpenAPI summary

    @property
    def creates(self) -> bool:
        return not self.from_states

    @property
    def reach(self) -> Reach:
        if self.creates:
            return Reach.NEW
        if self.party is Party.SYSTEM:
            return Reach.ANY
        if self.party is Party.FINANCIER:
            return Reach.MARKET
        return Reach.PARTICIPANT

    @property
    def url(self) -> str:
        """The action's path segment: ``request-early-settlement`` for ``request_early_settlement``."""
        return self.action.replace("_", "-")

    @property
    def user_facing(self) -> bool:
        """Taken by a user on a bill page or through ``POST /api/v1/bills/{id}/{action}/``."""
        return not self.creates and self.party is not Party.SYSTEM


S = BillState
_LIVE_HELD = frozenset({S.ACCEPTED, S.FINANCED})
_HELD_OPEN = frozenset({S.ACCEPTED, S.LISTED, S.FINANCED})  # held, not yet due, nothing pending
_FREEZABLE = frozenset({S.SUBMITTED, S.ACCEPTED, S.PENDING_RECEIPT, S.LISTED, S.FINANCED, S.OVERDUE, S.DEFAULTED})


def _t(action: str, event: str | None, from_states: set[str] | frozenset[str], to_state: str, party: Party, *,
       oversight_refused: bool = True, maturity: Maturity = Maturity.BEFORE, reason_required: bool = False,
       holder_excluded: bool = False, inputs: tuple[str, ...] = (), routed: bool = True, needs: str | None = None,
       unless: str | None = None, moves_money: bool = False, label: str, done: str, summary: str) -> Transition:
    return Transition(action, event, frozenset(from_states), to_state, party, oversight_refused, maturity,
                      reason_required, holder_excluded, inputs, routed, needs, unless, moves_money, label, done,
                      summary)


E = EventType
P = Party
M = Maturity

#: The state machine. One row per action; ``from`` empty means the action creates the bill.
TRANSITIONS: tuple[Transition, ...] = (
    _t("create", E.CREATE, set(), S.DRAFT, P.CREDITOR, maturity=M.ANY,
       inputs=("invoice_allocations", "maturity_date", "face", "currency", "reference"),
       label=gettext_noop("Draft a bill"), done=gettext_noop("Drafted."), summary="Draft a bill from your invoices (suppliers)"),
    _t("issue", E.ISSUE, set(), S.PENDING_RECEIPT, P.DEBTOR, maturity=M.ANY,
       inputs=("to", "face", "maturity_date", "currency", "invoice_allocations", "reference"),
       label=gettext_noop("Issue a bill"), done=gettext_noop("Issued: it waits for the supplier's signature."),
       summary="Issue a bill you owe directly to a supplier (core enterprises)"),
    _t("submit", E.SUBMIT, {S.DRAFT}, S.SUBMITTED, P.CREDITOR,
       label=gettext_noop("Submit"), done=gettext_noop("Submitted: the debtor is asked to accept the bill."),
       summary="Submit a draft to the debtor (creditor)"),
    _t("accept", E.ACCEPT, {S.SUBMITTED}, S.ACCEPTED, P.DEBTOR,
       label=gettext_noop("Accept"), done=gettext_noop("Accepted: your organization has undertaken to pay the holder at maturity."),
       summary="Accept a submitted bill: the undertaking to pay at maturity (debtor)"),
    _t("reject", E.REJECT, {S.SUBMITTED}, S.REJECTED, P.DEBTOR, maturity=M.ANY, reason_required=True,
       label=gettext_noop("Reject"), done=gettext_noop("Rejected: the bill's invoices are free again."),
       summary="Reject a submitted bill, saying why (debtor)"),
    _t("cancel", E.CANCEL, {S.DRAFT, S.SUBMITTED}, S.CANCELLED, P.CREDITOR, maturity=M.ANY,
       label=gettext_noop("Cancel"), done=gettext_noop("Cancelled: the bill's invoices are free again."),
       summary="Cancel a draft or submitted bill (creditor)"),
    _t("transfer", E.TRANSFER, _LIVE_HELD, S.PENDING_RECEIPT, P.HOLDER, inputs=("to",),
       label=gettext_noop("Transfer"), done=gettext_noop("Offered: the bill moves once the receiver signs for it."),
       summary="Offer the bill to another onboarded organization (holder)"),
    _t("receive", E.RECEIVE, {S.PENDING_RECEIPT}, S.ACCEPTED, P.PENDING_RECEIVER,
       label=gettext_noop("Receive"), done=gettext_noop("Received: your organization now holds the bill."),
       summary="Sign for a bill transferred or issued to you (receiver)"),
    _t("refuse", E.REFUSE, {S.PENDING_RECEIPT}, PREVIOUS, P.PENDING_RECEIVER,
       label=gettext_noop("Refuse"), done=gettext_noop("Refused: the bill went back to its sender."),
       summary="Refuse a bill transferred or issued to you (receiver); a refused issue ends rejected"),
    _t("split", E.SPLIT, _LIVE_HELD, S.SPLIT, P.HOLDER, inputs=("parts",),
       label=gettext_noop("Split"), done=gettext_noop("Split: each part is a bill of its own."),
       summary="Split into parts summing to the face, optionally transferring parts (holder)"),
    _t("list", E.LIST, {S.ACCEPTED}, S.LISTED, P.HOLDER, inputs=("rate",),
       label=gettext_noop("List"), done=gettext_noop("Listed on the marketplace at your asking rate."),
       summary="List on the marketplace at an asking annual discount rate (holder)"),
    _t("unlist", E.UNLIST, {S.LISTED}, S.ACCEPTED, P.HOLDER,
       label=gettext_noop("Unlist"), done=gettext_noop("Taken off the marketplace."),
       summary="Take the bill off the marketplace (holder)"),
    _t("buy", E.BUY, {S.LISTED}, S.FINANCED, P.FINANCIER, holder_excluded=True, inputs=("rate", "idempotency_key"),
       moves_money=True, label=gettext_noop("Buy"), done=gettext_noop("Bought: your organization now holds the bill and has paid the price."),
       summary="Buy a listed bill at its asking rate (financiers); the same Idempotency-Key returns the first "
               "purchase"),
    _t("offer", None, {S.LISTED}, SAME, P.FINANCIER, holder_excluded=True, inputs=("rate", "expires_at"),
       routed=False, label=gettext_noop("Make an offer"), done=gettext_noop("Offered: the holder sees your rate until the offer expires."),
       summary="Offer your own rate on a listed bill, with an expiry (financiers)"),
    _t("accept_offer", E.BUY, {S.LISTED}, S.FINANCED, P.HOLDER, inputs=("offer",), routed=False, moves_money=True,
       label=gettext_noop("Accept the offer"), done=gettext_noop("Sold: the financier has paid the price and now holds the bill."),
       summary="Accept a financier's offer: a purchase at the offered rate (holder)"),
    _t("settle", E.SETTLE, {S.ACCEPTED, S.LISTED, S.FINANCED, S.OVERDUE, S.DEFAULTED}, S.SETTLED, P.DEBTOR,
       maturity=M.ON_OR_AFTER, moves_money=True,
       label=gettext_noop("Settle"), done=gettext_noop("Settled: your organization has paid the holder the face value."),
       summary="Settle on or after maturity: the debtor pays the holder the face value (debtor)"),
    _t("request_early_settlement", None, _HELD_OPEN, SAME, P.DEBTOR, unless=EARLY_SETTLEMENT_ASKED,
       label=gettext_noop("Offer to settle early"), done=gettext_noop("Asked: the holder decides whether to take the face value now."),
       summary="Ask the holder to accept payment of the face value before maturity (debtor)"),
    _t("accept_early_settlement", E.SETTLE, _HELD_OPEN, S.SETTLED, P.HOLDER, needs=EARLY_SETTLEMENT_ASKED,
       moves_money=True,
       label=gettext_noop("Accept early payment"), done=gettext_noop("Settled early: the debtor has paid your organization the face value."),
       summary="Consent to the debtor's early settlement; the face value is paid now (holder)"),
    _t("auto_settle", E.SETTLE, _HELD_OPEN, S.SETTLED, P.SYSTEM, oversight_refused=False, maturity=M.ON_OR_AFTER,
       moves_money=True, label=gettext_noop("Settle from the debtor's cash"), done=gettext_noop("Settled automatically at maturity."),
       summary="At maturity, settle from the debtor's cash where it covers the face (system)"),
    _t("overdue", E.OVERDUE, {S.ACCEPTED, S.PENDING_RECEIPT, S.LISTED, S.FINANCED}, S.OVERDUE, P.SYSTEM,
       oversight_refused=False, maturity=M.AFTER,
       label=gettext_noop("Mark overdue"), done=gettext_noop("Marked overdue."), summary="Mark a bill unpaid past maturity overdue (system)"),
    _t("default", E.DEFAULT, {S.OVERDUE}, S.DEFAULTED, P.SYSTEM, oversight_refused=False, maturity=M.AFTER_GRACE,
       label=gettext_noop("Mark defaulted"), done=gettext_noop("Marked defaulted."),
       summary="Mark an overdue bill defaulted after the grace period (system)"),
    _t("lapse", E.LAPSE, {S.PENDING_RECEIPT}, S.CANCELLED, P.SYSTEM, oversight_refused=False,
       maturity=M.ON_OR_AFTER,
       label=gettext_noop("Lapse"), done=gettext_noop("Lapsed: the issued bill was never signed for."),
       summary="An issued bill never signed for lapses at maturity (system)"),
    _t("freeze", E.FREEZE, _FREEZABLE, S.FROZEN, P.STAFF, oversight_refused=False, maturity=M.ANY,
       reason_required=True, label=gettext_noop("Freeze"), done=gettext_noop("Frozen: nothing moves until it is unfrozen."),
       summary="Freeze a live bill on a court order or dispute (platform staff)"),
    _t("unfreeze", E.UNFREEZE, {S.FROZEN}, PREVIOUS, P.STAFF, oversight_refused=False, maturity=M.ANY,
       reason_required=True, label=gettext_noop("Unfreeze"), done=gettext_noop("Unfrozen."),
       summary="Lift a freeze: the bill returns to its state (platform staff)"),
)

RULES: dict[str, Transition] = {t.action: t for t in TRANSITIONS}
USER_ACTIONS: tuple[str, ...] = tuple(t.action for t in TRANSITIONS if t.user_facing)
# The user actions with a form on the bill page and a route POST /api/v1/bills/{id}/<url>/.
ROUTED_ACTIONS: tuple[str, ...] = tuple(t.action for t in TRANSITIONS if t.user_facing and t.routed)

# Derived state sets the rest of the code reads (so they cannot drift from the table).
FREEZABLE_STATES = RULES["freeze"].from_states
SETTLEABLE_STATES = RULES["settle"].from_states
OVERDUE_FROM_STATES = RULES["overdue"].from_states

_PARTY_WORDS = {
    P.CREDITOR: gettext_noop("the bill's creditor"),
    P.DEBTOR: gettext_noop("the bill's debtor"),
    P.HOLDER: gettext_noop("the bill's holder"),
    P.PENDING_RECEIVER: gettext_noop("the organization the bill was transferred or issued to"),
    P.FINANCIER: gettext_noop("a financier"),
    P.STAFF: gettext_noop("platform staff"),
    P.SYSTEM: gettext_noop("the platform (or its staff)"),
}


def _action_words(t: Transition) -> str:
    """The action as a refusal names it, in the active language: its button label, lower case ("accept")."""
    return gettext(t.label).lower()


def _state_words(state: str) -> str:
    return str(BillState(state).label).lower() if state in BillState.values else state


def rule(action: str) -> Transition:
    return RULES[action]


def is_party(party: Party, *, bill: Bill | None, org: Organization, staff: bool) -> bool:
    """Whether ``org`` (its user ``staff`` or not) is ``party`` to ``bill`` (None: a bill being created)."""
    if party is P.STAFF or party is P.SYSTEM:
        return bool(org.is_platform and staff)
    if party is P.FINANCIER:
        return bool(org.is_financier)
    if bill is None:
        return bool(org.is_supplier if party is P.CREDITOR else org.is_core_enterprise if party is P.DEBTOR else False)
    if party is P.CREDITOR:
        return bill.creditor_id == org.pk
    if party is P.DEBTOR:
        return bill.debtor_id == org.pk
    if party is P.HOLDER:
        return bill.holder_id == org.pk
    # No transfer or issue pending: nobody is the receiver, and the state check says why nothing can be signed.
    return bill.pending_holder_id is None or bill.pending_holder_id == org.pk


def maturity_breach(t: Transition, *, bill: Bill, today: dt.date, grace_days: int) -> Maturity | None:
    """Which maturity rule of ``t`` taking it today would break (its ``maturity``), or None."""
    due = bill.maturity_date
    if t.maturity is M.BEFORE and today >= due:
        return t.maturity
    if t.maturity is M.ON_OR_AFTER and today < due:
        return t.maturity
    if t.maturity is M.AFTER and today <= due:
        return t.maturity
    if t.maturity is M.AFTER_GRACE and (today - due).days <= grace_days:
        return t.maturity
    return None


def maturity_refusal(t: Transition, *, bill: Bill, today: dt.date, grace_days: int) -> BillTransitionRefused | None:
    breach = maturity_breach(t, bill=bill, today=today, grace_days=grace_days)
    if breach is None:
        return None
    words = {"action": _action_words(t), "number": bill.number, "due": bill.maturity_date.isoformat(),
             "days": grace_days}
    if breach is M.BEFORE:
        return BillTransitionRefused(
            gettext("Cannot %(action)s: bill %(number)s matures on %(due)s, and on or after maturity nothing moves "
                    "but settlement and the system's overdue and default marks.") % words,
            code="matured",
        )
    if breach is M.ON_OR_AFTER:
        return BillTransitionRefused(gettext("Bill %(number)s matures on %(due)s: not before then.") % words,
                                     code="not_due")
    if breach is M.AFTER:
        return BillTransitionRefused(gettext("Bill %(number)s matures on %(due)s: it is not past due.") % words,
                                     code="not_due")
    return BillTransitionRefused(
        gettext("Bill %(number)s is within its %(days)s-day grace period after maturity on %(due)s.") % words,
        code="in_grace",
    )


class Breach(StrEnum):
    """The first rule an action would break, in the order ``refusal`` checks them."""

    READ_ONLY_ROLE = "read_only_role"
    NOT_PARTY = "not_party"
    WRONG_STATE = "wrong_state"
    MATURITY = "maturity"
    OWN_LISTING = "own_listing"


def breach(t: Transition, *, bill: Bill, org: Organization, staff: bool, today: dt.date,
           grace_days: int) -> Breach | None:
    """The first rule ``org`` would break taking action ``t`` on ``bill`` now, in the documented order; None
    when it may. The decision only: ``refusal`` words it (``available`` asks for every action and needs no words).

    Precondition: the caller holds the bill's row lock and checked that ``org`` may see the bill.
    """
    if t.oversight_refused and (org.is_regulator or org.is_platform):
        return Breach.READ_ONLY_ROLE
    if not is_party(t.party, bill=bill, org=org, staff=staff):
        return Breach.NOT_PARTY
    if bill.state not in t.from_states:
        return Breach.WRONG_STATE
    if maturity_breach(t, bill=bill, today=today, grace_days=grace_days) is not None:
        return Breach.MATURITY
    if t.holder_excluded and bill.holder_id == org.pk:
        return Breach.OWN_LISTING
    return None


def refusal(t: Transition, *, bill: Bill, org: Organization, staff: bool, today: dt.date,
            grace_days: int) -> BillError | None:
    """Why ``org`` may not take action ``t`` on ``bill`` now (the first ``breach``, worded); None when it may."""
    broken = breach(t, bill=bill, org=org, staff=staff, today=today, grace_days=grace_days)
    if broken is None:
        return None
    if broken is Breach.READ_ONLY_ROLE:
        return BillActionNotPermitted(
            gettext("Regulators and platform staff read bills but cannot %(action)s them.")
            % {"action": _action_words(t)},
            code="read_only_role",
        )
    if broken is Breach.NOT_PARTY:
        return BillActionNotPermitted(gettext("Only %(party)s can %(action)s this bill.")
                                      % {"party": gettext(_PARTY_WORDS[t.party]), "action": _action_words(t)})
    if broken is Breach.WRONG_STATE:
        names = gettext(", or ").join(_state_words(state) for state in sorted(t.from_states))
        return BillTransitionRefused(
            gettext("Cannot %(action)s: bill %(number)s is %(state)s, and only a bill that is %(allowed)s can be.")
            % {"action": _action_words(t), "number": bill.number, "state": _state_words(bill.state), "allowed": names},
            code="wrong_state",
        )
    if broken is Breach.MATURITY:
        return maturity_refusal(t, bill=bill, today=today, grace_days=grace_days)
    return BillTransitionRefused(gettext("You hold this bill: its holder cannot %(action)s it.")
                                 % {"action": _action_words(t)}, code="own_listing")


def check(t: Transition, *, bill: Bill, org: Organization, staff: bool, today: dt.date, grace_days: int) -> None:
    """Raise the refusal of ``refusal`` (403 or 409), if any."""
    error = refusal(t, bill=bill, org=org, staff=staff, today=today, grace_days=grace_days)
    if error is not None:
        raise error


def check_creation(t: Transition, *, org: Organization) -> None:
    """The guard of the actions that create a bill: the organization's kind (403)."""
    if not is_party(t.party, bill=None, org=org, staff=False):
        if t.party is P.CREDITOR:
            raise BillActionNotPermitted(gettext("Only suppliers create bills from their invoices."))
        raise BillActionNotPermitted(gettext("Only core enterprises issue bills they owe."))


def available(*, bill: Bill, org: Organization, staff: bool, today: dt.date, grace_days: int,
              facts: frozenset[str] = frozenset()) -> list[str]:
    """The routed user actions the guard would let ``org`` try on ``bill`` now, given the ``facts`` about its
    records (a hint for pages and the API; the services decide). Offers are listed with the offers."""
    return [
        t.action
        for t in TRANSITIONS
        if t.user_facing and t.routed
        and (t.needs is None or t.needs in facts)
        and (t.unless is None or t.unless not in facts)
        and breach(t, bill=bill, org=org, staff=staff, today=today, grace_days=grace_days) is None
    ]
