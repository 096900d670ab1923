"""The canonical form of bill events (DESIGN §4.1) and the check of a bill's hash chain.

An event's canonical form is the RFC 8785 (JCS) JSON of::

    {"v": 1, "bill": "<uuid>", "seq": n, "type": "...", "from": "<state>" | null, "to": "<state>",
     "actor": "<credit code>", "at": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "amounts": {"face": "..."},
     "details": {...}, "prev": "0x<previous event hash or 64 zeros>"}

and ``event_hash = keccak256(canonical bytes)``. ``bill_chain_verify`` rebuilds the text from the stored
columns (never only rehashes the stored text), so a change to any column made behind the application's back
is reported.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import rfc8785

from chain_adapter.hashing import ZERO_HASH, keccak256_hex
from finance_portal.money import quantize

if TYPE_CHECKING:
    from bills.models import Bill, BillEvent

FORMAT_VERSION = 1
RATE_EXPONENT = Decimal("0.000001")


def format_at(moment: dt.datetime) -> str:
    """UTC ISO-8601 with microseconds and a Z: the only time format of canonical events."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def amount_text(amount: Decimal, currency: str) -> str:
    """An amount as a decimal string in the currency's minor unit (``"10000.00"``, JPY ``"500"``)."""
    return format(quantize(Decimal(amount), currency), "f")


def rate_text(rate: Decimal) -> str:
    """An annual rate as a fraction with six decimals (3.6 % is ``"0.036000"``)."""
    return format(Decimal(rate).quantize(RATE_EXPONENT), "f")


def canonical_object(
    *,
    bill_id: str,
    seq: int,
    type: str,
    from_state: str | None,
    to_state: str,
    actor_code: str,
    occurred_at: dt.datetime,
    amounts: dict[str, Any],
    details: dict[str, Any],
    prev: str,
) -> dict[str, Any]:
    return {
        "v": FORMAT_VERSION,
        "bill": bill_id,
        "seq": seq,
        "type": type,
        "from": from_state or None,
        "to": to_state,
        "actor": actor_code,
        "at": format_at(occurred_at),
        "amounts": amounts,
        "details": details,
        "prev": prev,
    }


def canonical_text(obj: dict[str, Any]) -> str:
    return rfc8785.dumps(obj).decode("utf-8")


def event_hash(canonical: str) -> str:
    return keccak256_hex(canonical.encode("utf-8"))


def canonical_of_event(event: BillEvent) -> str:
    """Rebuild an event's canonical text from its columns (and its actor's credit code)."""
    return canonical_text(
        canonical_object(
            bill_id=str(event.bill_id),
            seq=event.seq,
            type=event.type,
            from_state=event.from_state or None,
            to_state=event.to_state,
            actor_code=event.actor.credit_code,
            occurred_at=event.occurred_at,
            amounts=event.amounts,
            details=event.details,
            prev=event.prev_hash,
        )
    )


# The first event of every bill names its parties and terms; the check compares them with the bill's row.
_GENESIS_FIELDS = ("creditor", "debtor", "holder", "currency", "issue_date", "maturity", "number")


def bill_chain_verify(bill: Bill, *, events: list[BillEvent] | None = None) -> list[str]:
    """Recompute and check a bill's event chain against its columns; return the problems found (empty: sound).

    Checks: sequence numbers 1..n without gaps; each canonical text equals the one rebuilt from the columns;
    each hash is keccak256 of that text; each ``prev`` is the previous hash (zero hash first); the outbox
    record carries the same key, prev and hash; states follow on from one another; and the bill's row
    (state, face, parties, terms, holder) agrees with what its events say.

    Reads the bill afresh with its events unless ``events`` is given: then the caller passes the bill with its
    parties joined and the events in ``seq`` order with ``actor`` and ``anchor`` joined (batch reconciling).
    """
    from bills.models import Bill as BillModel

    if events is None:
        bill = BillModel.objects.select_related("creditor", "debtor", "holder", "pending_holder").get(pk=bill.pk)
        events = list(bill.events.select_related("actor", "anchor").order_by("seq"))
    problems: list[str] = []
    if not events:
        return [f"bill {bill.id}: it has no events"]
    expected_prev = ZERO_HASH
    previous_to: str | None = None
    holder_code: str | None = None
    face_text = amount_text(bill.face, bill.currency)
    key = bill.bill_key
    for index, event in enumerate(events, start=1):
        where = f"bill {bill.id} event #{event.seq}"
        if event.seq != index:
            problems.append(f"{where}: expected sequence number {index}")
        if event.prev_hash != expected_prev:
            problems.append(f"{where}: prev is {event.prev_hash}, the previous event's hash is {expected_prev}")
        rebuilt = canonical_of_event(event)
        recomputed = event_hash(rebuilt)
        if rebuilt != event.canonical:
            problems.append(f"{where}: the stored canonical text differs from the one rebuilt from its columns")
        if recomputed != event.hash:
            problems.append(f"{where}: the stored hash is not keccak256 of the event's canonical form")
        anchor = event.anchor
        if (anchor.key, anchor.prev_hash, anchor.event_hash) != (key, event.prev_hash, event.hash):
            problems.append(f"{where}: the anchoring record does not carry this event's key, prev and hash")
        if (event.from_state or None) != previous_to:
            problems.append(f"{where}: starts from {event.from_state or 'nothing'}, the previous event ended in "
                            f"{previous_to or 'nothing'}")
        if event.amounts.get("face") != face_text:
            problems.append(f"{where}: face {event.amounts.get('face')} differs from the bill's {face_text}")
        details = event.details
        if index == 1:
            actual = {
                "creditor": bill.creditor.credit_code,
                "debtor": bill.debtor.credit_code,
                "holder": details.get("holder"),
                "currency": bill.currency,
                "issue_date": bill.issue_date.isoformat(),
                "maturity": bill.maturity_date.isoformat(),
                "number": bill.number,
            }
            for name in _GENESIS_FIELDS:
                if details.get(name) != actual[name]:
                    problems.append(f"{where}: {name} {details.get(name)!r} differs from the bill's {actual[name]!r}")
            holder_code = details.get("holder")
        elif event.type == "receive":
            holder_code = details.get("holder")
        elif event.type == "buy":
            holder_code = details.get("buyer")
        expected_prev = recomputed
        previous_to = event.to_state
    if previous_to != bill.state:
        problems.append(f"bill {bill.id}: its state is {bill.state}, its last event ends in {previous_to}")
    if holder_code != bill.holder.credit_code:
        problems.append(f"bill {bill.id}: its holder is {bill.holder.credit_code}, its events say {holder_code}")
    return problems
