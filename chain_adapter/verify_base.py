"""What the standalone verifier (``chain_adapter.verify``) is made of: the bundle formats' constants, the
report it gives, keccak, RFC 8785 (JCS) and the field commitments of bundle version 2 (docs/bundle-v2.md).

Like the verifier, it needs ``eth-hash`` and the standard library only: no Django, no web3.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, TypeGuard

from eth_hash.auto import keccak

ZERO_HASH = "0x" + "00" * 32
SUPPORTED_VERSIONS = (1, 2)
EVENT_FORMATS = (1, 2)
V2_MEMBERS = {"v", "key", "seq", "fields", "prev"}
SALT_BYTES = 32
MAX_SAFE_INTEGER = 2**53 - 1
ANCHORED_TOPIC = "0x" + keccak(b"Anchored(bytes32,bytes32,bytes32)").hex()
HEAD_SELECTOR = keccak(b"head(bytes32)")[:4].hex()

OK, MISMATCH, NOT_ANCHORED = "ok", "mismatch", "not_anchored"
_HASH = re.compile(r"0x[0-9a-f]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


class VerifierError(Exception):
    """The verification could not be carried out (the node is unreachable or answers nonsense)."""


@dataclass
class EventCheck:
    seq: int | None
    hash: str | None
    status: str = OK
    reasons: list[str] = field(default_factory=list)
    tx_hash: str | None = None
    block: int | None = None
    log_index: int | None = None
    format: int | None = None
    withheld: bool = False  # the text itself is withheld (a format-1 event in a redacted bundle)
    disclosed: dict[str, Any] = field(default_factory=dict)  # field name -> value, each proven by its commitment
    committed: list[str] = field(default_factory=list)  # every field name the event commits to (format 2)

    def fail(self, reason: str) -> None:
        self.status = MISMATCH
        self.reasons.append(reason)


@dataclass
class VerificationReport:
    bill_id: str | None
    bill_key: str | None
    chain_id: int | None
    contract: str | None
    version: int | None = None
    events: list[EventCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # about the bundle as a whole
    head: str | None = None
    complete: bool = False
    checked_on_chain: bool = False

    @property
    def ok(self) -> bool:
        """Every event verified on chain, nothing wrong with the bundle, and it is complete."""
        return (self.checked_on_chain and self.complete and not self.problems
                and bool(self.events) and all(e.status == OK for e in self.events))

    @property
    def failing(self) -> list[EventCheck]:
        return [e for e in self.events if e.status != OK]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def text(self) -> str:
        who = self.bill_id if self.bill_id else "a bill (id not disclosed)"
        lines = [f"Bundle v{self.version} of {who} (key {self.bill_key}) on chain {self.chain_id}, "
                 f"contract {self.contract}"]
        for problem in self.problems:
            lines.append(f"  problem: {problem}")
        for e in self.events:
            where = f"  block {e.block}, log {e.log_index}, tx {e.tx_hash}" if e.block is not None else ""
            label = {OK: "OK", MISMATCH: "MISMATCH", NOT_ANCHORED: "NOT ANCHORED"}[e.status]
            lines.append(f"  event {e.seq}: {label}{where}")
            if e.format == 2:
                hidden = len(e.committed) - len(e.disclosed)
                lines.append(f"      {len(e.disclosed)} field(s) disclosed and proven, {hidden} committed only")
            elif e.withheld:
                lines.append("      format-1 event, text withheld: checked by its hash on chain only")
            lines.extend(f"      {reason}" for reason in e.reasons)
        if self.checked_on_chain:
            last = self.events[-1].hash if self.events else None
            verdict = "complete" if self.complete else "INCOMPLETE"
            lines.append(f"  head on chain: {self.head} (last event: {last}): the bundle is {verdict}")
        failing = len(self.failing)
        lines.append("Result: VERIFIED" if self.ok else
                     f"Result: NOT VERIFIED ({failing} event(s) fail, {len(self.problems)} problem(s), "
                     f"{'complete' if self.complete else 'incomplete'})")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# Primitives: keccak, RFC 8785 (JCS), commitments
# ---------------------------------------------------------------------------------------------------------


def _is_hash(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _HASH.fullmatch(value) is not None


def keccak_hex(data: bytes) -> str:
    return "0x" + keccak(data).hex()


def _checksum(address: str) -> str:
    body = address[2:].lower()
    digest = keccak(body.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(body))


def is_address(value: object) -> bool:
    """0x + 40 hex digits, all lower case, all upper case, or with a correct EIP-55 checksum."""
    if not isinstance(value, str) or _ADDRESS.fullmatch(value) is None:
        return False
    body = value[2:]
    return body == body.lower() or body == body.upper() or _checksum(value) == value


def jcs(value: object) -> str:
    """RFC 8785 text of a JSON value made of objects, arrays, strings, integers, booleans and null.

    Bundles hold no floating-point numbers (amounts and rates are decimal strings): one is refused with
    ``ValueError``, as is an integer beyond ±(2^53 − 1) or a string that is not valid Unicode. Object members are sorted by their names'
    UTF-16 code units; strings are escaped as RFC 8785 §3.2.2.2 says (as ECMAScript's JSON.stringify).
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"{value} is outside I-JSON's integer range (RFC 8785 §3.2.2.3)")
        return str(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        text.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError, a ValueError
        return text
    if isinstance(value, list):
        return "[" + ",".join(jcs(item) for item in value) + "]"
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError("object member names must be strings")
        names = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(value[k]) for k in names) + "}"
    raise ValueError(f"{type(value).__name__} values have no place in a bundle (numbers are integers)")


def commitment(name: str, salt: str, value: object) -> str:
    """A format-2 field commitment: ``keccak256(u16be(len(N)) ‖ N ‖ S ‖ V)`` where N is the UTF-8 field name,
    S the 32 salt bytes and V the UTF-8 bytes of the value's RFC 8785 text."""
    name_bytes = name.encode("utf-8")
    salt_bytes = bytes.fromhex(salt[2:])
    if len(salt_bytes) != SALT_BYTES or len(name_bytes) > 0xFFFF:
        raise ValueError("a salt is 32 bytes and a name at most 65535")
    return keccak_hex(len(name_bytes).to_bytes(2, "big") + name_bytes + salt_bytes + jcs(value).encode("utf-8"))
