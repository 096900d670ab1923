"""Who sees which fields of a bill's events: the disclosure profiles of bundle version 2 (DESIGN §8, issue 8).

The one thing to know: ``disclosure_for`` is the only place that decides what a viewer gets, and
``FIELD_LEVELS`` the only table of what each profile shows. Pages, the API and the bundles all go through
them; a field not in the table is shown to participants and regulators only.

Profiles, from least to most:

- ``public`` (anyone holding a verification token): the type, states and time of every transition, the face,
  and the debtor, currency and maturity: what a QR code on a paper document should prove.
- ``financier`` (a financier pricing a listed bill it takes no part in): adds what pricing and
  know-your-customer checks need: the bill id and number, issue date, invoice summary, asking rates, the
  platform's own actions, and every party field that names the seller (the current holder). Never the
  identities of earlier holders, nor the price, rate or days of any purchase.
- ``participant`` (an organization taking part in the bill): every field of the events in its reach; the
  other events as a financier (if the bill is listed and it is a financier) or the public sees them.
- ``regulator`` (regulators, platform staff, superusers): every field of every event.

Reach: the debtor's reach is every event. Any other organization's reach is the events during which it
holds the bill or is asked to sign for it: an event is in its reach when it is the holder or the pending
receiver just before or just after the event. A supplier that transferred its bill away stops seeing the
details of what happens next (who bought it, at what price); a new holder sees the earlier events only as
the public does (or as a financier, when it is one and the bill is listed).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bills.events import fields_of_event
from bills.listings import marketplace_allowed, marketplace_listings
from bills.models import Bill, BillEvent, BillState, EventType
from bills.selectors import bills_visible_to, user_sees_everything, viewer_organization
from finance_portal.users import Viewer


class Profile(enum.IntEnum):
    """Disclosure profiles, ordered: each shows at least what the one before shows."""

    PUBLIC = 0
    FINANCIER = 1
    PARTICIPANT = 2
    REGULATOR = 3

    @property
    def label(self) -> str:
        return self.name.lower()


class Level(enum.Enum):
    """The least profile that sees a field. ``SELLER``: a financier sees it where its value is the seller's
    credit code (the current holder's); participants and regulators always."""

    PUBLIC = "public"
    FINANCIER = "financier"
    SELLER = "seller"
    PARTICIPANT = "participant"


PUBLIC, FINANCIER, SELLER, PARTICIPANT = Level.PUBLIC, Level.FINANCIER, Level.SELLER, Level.PARTICIPANT

# Every event: what happened, when, to what face. The reason is free text: participants only.
_COMMON: dict[str, Level] = {
    "bill": FINANCIER,
    "type": PUBLIC,
    "from": PUBLIC,
    "to": PUBLIC,
    "at": PUBLIC,
    "amounts.face": PUBLIC,
    "details.reason": PARTICIPANT,
}
# The first event of every bill (create, issue, split_from) names its parties and terms.
_GENESIS: dict[str, Level] = {
    "details.number": FINANCIER,
    "details.creditor": SELLER,
    "details.debtor": PUBLIC,
    "details.holder": SELLER,
    "details.currency": PUBLIC,
    "details.issue_date": FINANCIER,
    "details.maturity": PUBLIC,
}

# The table: every event type, every field it carries, and the least profile that sees it.
FIELD_LEVELS: dict[str, dict[str, Level]] = {
    EventType.CREATE: {**_COMMON, **_GENESIS, "actor": SELLER, "details.invoices": FINANCIER,
                       "details.reference": PARTICIPANT},
    EventType.ISSUE: {**_COMMON, **_GENESIS, "actor": PUBLIC, "details.receiver": SELLER,
                      "details.invoices": FINANCIER, "details.reference": PARTICIPANT},
    EventType.SPLIT_FROM: {**_COMMON, **_GENESIS, "actor": SELLER, "details.parent": PARTICIPANT,
                           "details.parent_event": PARTICIPANT},
    EventType.SUBMIT: {**_COMMON, "actor": SELLER},
    EventType.ACCEPT: {**_COMMON, "actor": PUBLIC},
    EventType.REJECT: {**_COMMON, "actor": PUBLIC},
    EventType.CANCEL: {**_COMMON, "actor": SELLER},
    EventType.TRANSFER: {**_COMMON, "actor": SELLER, "details.receiver": SELLER},
    EventType.RECEIVE: {**_COMMON, "actor": SELLER, "details.holder": SELLER, "details.from_holder": SELLER},
    EventType.REFUSE: {**_COMMON, "actor": SELLER, "details.receiver": SELLER},
    EventType.SPLIT: {**_COMMON, "actor": SELLER, "details.children": PARTICIPANT},
    EventType.LIST: {**_COMMON, "actor": SELLER, "details.rate": FINANCIER},
    EventType.UNLIST: {**_COMMON, "actor": SELLER, "details.rate": FINANCIER},
    EventType.BUY: {**_COMMON, "actor": SELLER, "details.buyer": SELLER, "details.seller": SELLER,
                    "amounts.price": PARTICIPANT, "amounts.interest": PARTICIPANT, "details.rate": PARTICIPANT,
                    "details.days": PARTICIPANT, "details.basis": PARTICIPANT, "details.entry": PARTICIPANT,
                    "details.offer": PARTICIPANT},
    # The actor of a settlement is the debtor, the platform (automatic) or the holder (early, by consent): not
    # public. Whether it was paid on time is what a financier pricing the debtor needs.
    EventType.SETTLE: {**_COMMON, "actor": PARTICIPANT, "details.payer": PUBLIC, "details.payee": SELLER,
                       "amounts.paid": PUBLIC, "details.entry": PARTICIPANT, "details.kind": FINANCIER,
                       "details.days_late": FINANCIER},
    EventType.OVERDUE: {**_COMMON, "actor": FINANCIER, "details.days_past_due": PUBLIC},
    EventType.DEFAULT: {**_COMMON, "actor": FINANCIER, "details.days_past_due": PUBLIC,
                        "details.grace_days": PUBLIC},
    EventType.FREEZE: {**_COMMON, "actor": FINANCIER},
    EventType.UNFREEZE: {**_COMMON, "actor": FINANCIER},
    "lapse": {**_COMMON, "actor": FINANCIER, "details.receiver": SELLER},  # an issued bill never signed for
}


def field_level(event_type: str, name: str) -> Level:
    """The least profile that sees field ``name`` of an event of ``event_type``; participants only when the
    table does not know the type or the field (a new field is hidden until someone decides otherwise)."""
    return FIELD_LEVELS.get(event_type, {}).get(name, PARTICIPANT)


# ---------------------------------------------------------------------------------------------------------
# Reach
# ---------------------------------------------------------------------------------------------------------

# How an event moves the holder and the pending receiver (from the event's own fields, so a verifier
# holding the full bundle could recompute reach too). Types not named leave both unchanged.
_GENESIS_TYPES = frozenset({EventType.CREATE, EventType.ISSUE, EventType.SPLIT_FROM})
_CLEARS_PENDING = frozenset({EventType.REFUSE, EventType.OVERDUE, "lapse"})


def reach_by_event(events: Sequence[BillEvent]) -> list[frozenset[str]]:
    """For each event, the credit codes of the organizations in whose reach it is (debtor included)."""
    holder: str | None = None
    pending: str | None = None
    debtor: str | None = None
    out: list[frozenset[str]] = []
    for event in events:
        before = {holder, pending}
        details = event.details
        if event.type in _GENESIS_TYPES:
            holder, pending, debtor = details.get("holder"), details.get("receiver"), details.get("debtor")
        elif event.type == EventType.TRANSFER:
            pending = details.get("receiver")
        elif event.type == EventType.RECEIVE:
            holder, pending = details.get("holder"), None
        elif event.type == EventType.BUY:
            holder = details.get("buyer")
        elif event.type in _CLEARS_PENDING:
            pending = None
        out.append(frozenset(c for c in (*before, holder, pending, debtor) if c))
    return out


# ---------------------------------------------------------------------------------------------------------
# The selector
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disclosure:
    """What one viewer gets of one bill: a profile per event (in ``seq`` order) and the seller's code."""

    profile: Profile  # the viewer's profile on the bill (its highest per-event profile)
    per_event: tuple[Profile, ...]
    seller_code: str

    @property
    def reveals_bill_id(self) -> bool:
        return self.profile > Profile.PUBLIC

    def event_profile(self, index: int) -> Profile:
        return self.per_event[index]

    def shows(self, event_type: str, name: str, value: Any, profile: Profile) -> bool:
        """Whether a viewer with ``profile`` on this event sees field ``name`` holding ``value``."""
        level = field_level(event_type, name)
        if level is PUBLIC or profile >= Profile.PARTICIPANT:
            return True
        if profile is Profile.FINANCIER:
            return level is FINANCIER or (level is SELLER and value == self.seller_code)
        return False

    def visible_fields(self, index: int, event: BillEvent, fields: dict[str, Any] | None = None) -> dict[str, Any]:
        """The fields of event number ``index`` (0-based) this viewer sees, by name."""
        fields = fields_of_event(event) if fields is None else fields
        profile = self.per_event[index]
        return {name: value for name, value in fields.items() if self.shows(event.type, name, value, profile)}


def disclosure_for(*, user: Viewer | None, bill: Bill, events: Sequence[BillEvent],
                   via_token: bool = False) -> Disclosure:
    """The one decision of which profile a viewer gets on each event of ``bill`` (``events`` in seq order).

    Through a verification token everyone gets the public profile (a participant uses ``/verify/{id}/``);
    regulators, platform staff and superusers get everything; an organization gets ``participant`` on the
    events in its reach and, elsewhere, ``financier`` when it is a financier and the bill is listed, else
    ``public``. The caller has checked that the user may open the bill at all (``bill_for_viewer``).
    """
    seller = bill.holder.credit_code
    count = len(events)
    if via_token or user is None or not user.is_authenticated:
        return Disclosure(Profile.PUBLIC, (Profile.PUBLIC,) * count, seller)
    if user_sees_everything(user):
        return Disclosure(Profile.REGULATOR, (Profile.REGULATOR,) * count, seller)
    org = viewer_organization(user)
    if org is None:
        return Disclosure(Profile.PUBLIC, (Profile.PUBLIC,) * count, seller)
    elsewhere = Profile.FINANCIER if org.is_financier and bill.state == BillState.LISTED else Profile.PUBLIC
    code = org.credit_code
    per_event = tuple(Profile.PARTICIPANT if code in reach else elsewhere for reach in reach_by_event(events))
    return Disclosure(max(per_event, default=elsewhere), per_event, seller)


def bill_for_viewer(*, user: Viewer, bill_id: object) -> Bill | None:
    """The bill if ``user`` may open its verification page and bundle (its own bills, everything for the
    oversight roles, listings for financiers), else None: absent and out of reach look alike."""
    try:
        pk = bill_id if isinstance(bill_id, uuid.UUID) else uuid.UUID(str(bill_id))
    except (ValueError, TypeError, AttributeError):
        return None
    bill = bills_visible_to(user).filter(pk=pk).first()
    if bill is None and marketplace_allowed(user):
        bill = marketplace_listings(user).filter(pk=pk).first()
    return bill


def profile_fields(event_type: str, profile: Profile) -> set[str]:
    """The table's field names of ``event_type`` that ``profile`` always sees (SELLER fields excluded)."""
    levels = {Profile.PUBLIC: {PUBLIC}, Profile.FINANCIER: {PUBLIC, FINANCIER}}.get(profile)
    table = FIELD_LEVELS.get(event_type, {})
    if levels is None:
        return set(table)
    return {name for name, level in table.items() if level in levels}


def types_without_profile(types: Iterable[str]) -> list[str]:
    """Event types the table does not cover (a test keeps this empty for ``EventType``)."""
    return sorted(t for t in types if t not in FIELD_LEVELS)
