"""The canonical form of bill events (DESIGN §4.1, docs/bundle-v2.md) and the check of a bill's hash chain.

Two formats live side by side in one chain; ``event_hash = keccak256(UTF-8 bytes of the canonical text)`` and
the ``prev`` member chain them either way.

Format 1 (events written before bundle version 2, and demo bills loaded with ``writing_format(1)``) is the
RFC 8785 (JCS) JSON of every field in clear::

    {"v": 1, "bill": "<uuid>", "seq": n, "type": "...", "from": "<state>" | null, "to": "<state>",
     "actor": "<credit code>", "at": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "amounts": {"face": "..."},
     "details": {...}, "prev": "0x<previous event hash or 64 zeros>"}

Format 2 keeps in clear only what a verifier needs to check the chain, and commits to every field with a
salted hash, so a bundle can disclose some fields and prove the rest exist unchanged::

    {"v": 2, "key": "<bill key>", "seq": n, "fields": {"<name>": "0x<commitment>", ...}, "prev": "0x..."}

The fields are ``bill``, ``type``, ``from``, ``to``, ``actor``, ``at``, ``amounts.<k>`` and ``details.<k>``
(the same values as format 1, one level flattened); ``commitment = keccak256(u16be(len(name)) ‖ name ‖ salt ‖
JCS(value))`` with a random 32-byte salt per field, kept secret in ``BillEvent.salts`` and never logged.

``bill_chain_verify`` rebuilds each text from the stored columns (never only rehashes the stored text), so a
change to any column made behind the application's back is reported.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_noop

from bills.jcs import canonical_json
from bills.models import Bill, BillEvent
from bills.problems import Problem
from chain_adapter.hashing import ZERO_HASH, keccak256_hex, record_key
from finance_portal.money import quantize

FORMAT_V1 = 1
FORMAT_V2 = 2
FORMAT_VERSION = FORMAT_V1  # the format-1 marker; kept for readers of format 1
FORMATS = (FORMAT_V1, FORMAT_V2)
SALT_BYTES = 32
RATE_EXPONENT = Decimal("0.000001")

# Which format new events are written in: ``writing_format`` overrides the setting (demo data, tests).
_format_override: contextvars.ContextVar[int | None] = contextvars.ContextVar("bill_event_format", default=None)


def format_at(moment: dt.datetime) -> str:
    """UTC ISO-8601 with microseconds and a Z: the only time format of canonical events."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def amount_text(amount: Decimal, currency: str) -> str:
    """An amount as a decimal string in the currency's minor unit (``"10000.00"``, JPY ``"500"``)."""
    return format(quantize(Decimal(amount), currency), "f")


def rate_text(rate: Decimal) -> str:
    """An annual rate as a fraction with six decimals (3.6 % is ``"0.036000"``)."""
    return format(Decimal(rate).quantize(RATE_EXPONENT), "f")


def canonical_text(obj: Any) -> str:
    """RFC 8785 (JCS) text of a JSON value (``bills.jcs``: the C encoder where it writes the same text)."""
    return canonical_json(obj)


def event_hash(canonical: str) -> str:
    return keccak256_hex(canonical.encode("utf-8"))


# ---------------------------------------------------------------------------------------------------------
# Format 1
# ---------------------------------------------------------------------------------------------------------


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
    """The format-1 canonical object (every field in clear)."""
    return {
        "v": FORMAT_V1,
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


# ---------------------------------------------------------------------------------------------------------
# Format 2: salted field commitments
# ---------------------------------------------------------------------------------------------------------


def event_fields(
    *,
    bill_id: str,
    type: str,
    from_state: str | None,
    to_state: str,
    actor_code: str,
    occurred_at: dt.datetime,
    amounts: dict[str, Any],
    details: dict[str, Any],
) -> dict[str, Any]:
    """An event's fields by name, as format 2 commits to them (and as disclosure profiles name them)."""
    fields: dict[str, Any] = {
        "bill": bill_id,
        "type": type,
        "from": from_state or None,
        "to": to_state,
        "actor": actor_code,
        "at": format_at(occurred_at),
    }
    fields.update({f"amounts.{name}": value for name, value in amounts.items()})
    fields.update({f"details.{name}": value for name, value in details.items()})
    return fields


def new_salt() -> str:
    return "0x" + secrets.token_bytes(SALT_BYTES).hex()


def field_commitment(name: str, salt: str, value: Any) -> str:
    """``keccak256(u16be(len(N)) ‖ N ‖ S ‖ V)``: N the UTF-8 field name, S the 32 salt bytes, V the UTF-8
    JCS text of the value (docs/bundle-v2.md)."""
    name_bytes = name.encode("utf-8")
    salt_bytes = bytes.fromhex(salt.removeprefix("0x"))
    if len(salt_bytes) != SALT_BYTES:
        raise ValueError(Problem(gettext_noop("a salt is %(bytes)s bytes"), bytes=SALT_BYTES))
    return keccak256_hex(len(name_bytes).to_bytes(2, "big") + name_bytes + salt_bytes + canonical_text(value).encode("utf-8"))


def canonical_object_v2(*, bill_key: str, seq: int, commitments: dict[str, str], prev: str) -> dict[str, Any]:
    """The format-2 canonical object: only the chain's members in clear, a commitment per field."""
    return {"v": FORMAT_V2, "key": bill_key, "seq": seq, "fields": commitments, "prev": prev}


def commitments_of(fields: dict[str, Any], salts: dict[str, str]) -> dict[str, str]:
    return {name: field_commitment(name, salts[name], value) for name, value in fields.items()}


# ---------------------------------------------------------------------------------------------------------
# Building a new event
# ---------------------------------------------------------------------------------------------------------


def new_event_format() -> int:
    """The format new events are written in: ``writing_format`` if active, else ``BILL_EVENT_FORMAT`` (2)."""
    override = _format_override.get()
    if override is not None:
        return override
    return int(getattr(settings, "BILL_EVENT_FORMAT", FORMAT_V2))


@contextlib.contextmanager
def writing_format(version: int) -> Iterator[None]:
    """Write the events appended inside the block in format ``version`` (the demo loads some bills as 1)."""
    if version not in FORMATS:
        raise ValueError(f"unknown event format {version}")
    token = _format_override.set(version)
    try:
        yield
    finally:
        _format_override.reset(token)


@dataclass(frozen=True)
class BuiltEvent:
    """A new event's canonical text, its hash and the salts of its fields (empty in format 1)."""

    canonical: str
    hash: str
    salts: dict[str, str]
    format: int


def build_event(
    *,
    bill_id: str,
    bill_key: str,
    seq: int,
    type: str,
    from_state: str | None,
    to_state: str,
    actor_code: str,
    occurred_at: dt.datetime,
    amounts: dict[str, Any],
    details: dict[str, Any],
    prev: str,
    format: int | None = None,
) -> BuiltEvent:
    """The canonical text, hash and salts of the next event of a bill, in ``format`` (default: the format
    new events are written in). The only builder of new events: ``append_event`` stores what it returns."""
    version = new_event_format() if format is None else format
    if version == FORMAT_V1:
        text = canonical_text(canonical_object(
            bill_id=bill_id, seq=seq, type=type, from_state=from_state, to_state=to_state, actor_code=actor_code,
            occurred_at=occurred_at, amounts=amounts, details=details, prev=prev,
        ))
        return BuiltEvent(text, event_hash(text), {}, FORMAT_V1)
    if version != FORMAT_V2:
        raise ValueError(Problem(gettext_noop("unknown event format %(version)s"), version=version))
    fields = event_fields(
        bill_id=bill_id, type=type, from_state=from_state, to_state=to_state, actor_code=actor_code,
        occurred_at=occurred_at, amounts=amounts, details=details,
    )
    salts = {name: new_salt() for name in fields}
    text = canonical_text(canonical_object_v2(
        bill_key=bill_key, seq=seq, commitments=commitments_of(fields, salts), prev=prev))
    return BuiltEvent(text, event_hash(text), salts, FORMAT_V2)


# ---------------------------------------------------------------------------------------------------------
# Stored events
# ---------------------------------------------------------------------------------------------------------


def event_format(event: BillEvent) -> int:
    """Format 2 events carry their salts; format 1 events have none."""
    return FORMAT_V2 if event.salts else FORMAT_V1


def fields_of_event(event: BillEvent) -> dict[str, Any]:
    """The fields of a stored event by name (either format), rebuilt from its columns."""
    return event_fields(
        bill_id=str(event.bill_id), type=event.type, from_state=event.from_state or None, to_state=event.to_state,
        actor_code=event.actor.credit_code, occurred_at=event.occurred_at, amounts=event.amounts,
        details=event.details,
    )


def canonical_of_event(event: BillEvent) -> str:
    """Rebuild an event's canonical text from its columns (and its actor's credit code, and its salts).

    Raises ``ValueError`` when a format-2 event's salts do not match its fields (a column was edited)."""
    if event_format(event) == FORMAT_V1:
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
    fields = fields_of_event(event)
    if set(fields) != set(event.salts):
        missing = sorted(set(fields) - set(event.salts))
        extra = sorted(set(event.salts) - set(fields))
        raise ValueError(Problem(
            gettext_noop("its salts do not match its fields (no salt for %(missing)s, salts for unknown %(extra)s)"),
            missing=missing, extra=extra,
        ))
    return canonical_text(canonical_object_v2(
        bill_key=record_key(str(event.bill_id)), seq=event.seq, commitments=commitments_of(fields, event.salts), prev=event.prev_hash,
    ))


# The first event of every bill names its parties and terms; the check compares them with the bill's row.
_GENESIS_FIELDS = ("creditor", "debtor", "holder", "currency", "issue_date", "maturity", "number")


def bill_chain_verify(bill: Bill, *, events: list[BillEvent] | None = None) -> list[str]:
    """Recompute and check a bill's event chain against its columns; return the problems found (empty: sound),
    each a ``Problem``: English text that also carries its message for a page in another language.

    Checks: sequence numbers 1..n without gaps; each canonical text equals the one rebuilt from the columns
    (format 2: with the stored salts); each hash is keccak256 of that text; each ``prev`` is the previous
    hash (zero hash first); the outbox record carries the same key, prev and hash; states follow on from one
    another; and the bill's row (state, face, parties, terms, holder) agrees with what its events say.

    Reads the bill afresh with its events unless ``events`` is given: then the caller passes the bill with its
    parties joined and the events in ``seq`` order with ``actor`` and ``anchor`` joined (batch reconciling).
    """
    if events is None:
        bill = Bill.objects.select_related("creditor", "debtor", "holder", "pending_holder").get(pk=bill.pk)
        events = list(bill.events.select_related("actor", "anchor").order_by("seq"))
    problems: list[str] = []
    if not events:
        return [Problem(gettext_noop("bill %(bill)s: it has no events"), bill=bill.id)]
    expected_prev = ZERO_HASH
    previous_to: str | None = None
    holder_code: str | None = None
    face_text = amount_text(bill.face, bill.currency)
    key = bill.bill_key
    for index, event in enumerate(events, start=1):
        where = {"bill": bill.id, "seq": event.seq}
        if event.seq != index:
            problems.append(Problem(gettext_noop("bill %(bill)s event #%(seq)s: expected sequence number %(index)s"),
                                    **where, index=index))
        if event.prev_hash != expected_prev:
            problems.append(Problem(gettext_noop("bill %(bill)s event #%(seq)s: prev is %(prev)s, the previous "
                                                 "event's hash is %(expected)s"),
                                    **where, prev=event.prev_hash, expected=expected_prev))
        try:
            rebuilt: str | None = canonical_of_event(event)
        except ValueError as err:
            cause = err.args[0] if err.args and isinstance(err.args[0], Problem) else str(err)
            problems.append(Problem(gettext_noop("bill %(bill)s event #%(seq)s: %(error)s"), **where, error=cause))
            rebuilt = None
        if rebuilt is not None and rebuilt != event.canonical:
            problems.append(Problem(gettext_noop("bill %(bill)s event #%(seq)s: the stored canonical text differs "
                                                 "from the one rebuilt from its columns"), **where))
        recomputed = event_hash(event.canonical if rebuilt is None else rebuilt)
        if recomputed != event.hash:
            problems.append(Problem(gettext_noop("bill %(bill)s event #%(seq)s: the stored hash is not keccak256 of "
                                                 "the event's canonical form"), **where))
        anchor = event.anchor
        if (anchor.key, anchor.prev_hash, anchor.event_hash) != (key, event.prev_hash, event.hash):
            problems.append(Problem(gettext_noop("bill %(bill)s event #%(seq)s: the anchoring record does not carry "
                                                 "this event's key, prev and hash"), **where))
        from_state = event.from_state or None
        if from_state != previous_to:
            if from_state is None:
                problems.append(Problem(gettext_noop("bill %(bill)s event #%(seq)s: starts from nothing, the "
                                                     "previous event ended in %(previous)s"),
                                        **where, previous=previous_to))
            elif previous_to is None:
                problems.append(Problem(gettext_noop("bill %(bill)s event #%(seq)s: starts from %(from)s, the "
                                                     "previous event ended in nothing"), **where, **{"from": from_state}))
            else:
                problems.append(Problem(gettext_noop("bill %(bill)s event #%(seq)s: starts from %(from)s, the "
                                                     "previous event ended in %(previous)s"),
                                        **where, previous=previous_to, **{"from": from_state}))
        if event.amounts.get("face") != face_text:
            problems.append(Problem(gettext_noop("bill %(bill)s event #%(seq)s: face %(face)s differs from the "
                                                 "bill's %(expected)s"),
                                    **where, face=event.amounts.get("face"), expected=face_text))
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
                    problems.append(Problem(gettext_noop("bill %(bill)s event #%(seq)s: %(field)s %(value)s differs "
                                                         "from the bill's %(expected)s"),
                                            **where, field=name, value=repr(details.get(name)),
                                            expected=repr(actual[name])))
            holder_code = details.get("holder")
        elif event.type == "receive":
            holder_code = details.get("holder")
        elif event.type == "buy":
            holder_code = details.get("buyer")
        expected_prev = recomputed
        previous_to = event.to_state
    if previous_to != bill.state:
        problems.append(Problem(gettext_noop("bill %(bill)s: its state is %(state)s, its last event ends in "
                                             "%(last)s"), bill=bill.id, state=bill.state, last=previous_to))
    if holder_code != bill.holder.credit_code:
        problems.append(Problem(gettext_noop("bill %(bill)s: its holder is %(holder)s, its events say %(events)s"),
                                bill=bill.id, holder=bill.holder.credit_code, events=holder_code))
    return problems
