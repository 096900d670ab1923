"""The standalone verifier of a verification bundle (DESIGN §4.4 and §10, docs/bundle-v2.md) against the chain.

    python -m chain_adapter.verify bundle.json --rpc http://127.0.0.1:8545 [--json] [--from-block N]

It needs ``eth-hash`` (with ``pycryptodome``) and the standard library, nothing else of this project: no
Django, no database, no settings, not even web3 (its import alone costs a second). Third parties may copy
this one file. It reads bundles of version 1 (every event in clear) and version 2 (salted field commitments,
some fields disclosed). For every event it reports OK, MISMATCH (with the reasons, each naming the member
or field that fails: the text does not hash to the bundle's hash, it does not link to the previous event, a
disclosed value does not open its commitment, the event belongs to another bill, the chain anchored it
elsewhere or after another hash) or NOT ANCHORED (no ``Anchored`` log for its hash yet), and it says
whether the bundle is complete: its last hash is the bill's head on chain, so no event is missing at the end.

Credit report bundles (``"kind": "credit_report"``) are checked by ``chain_adapter.verify_report``.

Importable: ``verify_bundle(bundle, rpc_url) -> VerificationReport``; without a node,
``check_bundle_offline(bundle)``; and in two steps, ``fetch_chain_view`` (the node's answer, which a caller
may cache) and ``check_against_chain(report, view)`` (pure). Exit codes: 0 verified and complete, 1 a
mismatch or an incomplete bundle, 2 the bundle or the node could not be read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
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


# ---------------------------------------------------------------------------------------------------------
# Offline checks
# ---------------------------------------------------------------------------------------------------------


def check_bundle_offline(bundle: object) -> VerificationReport:
    """Everything that can be checked without a node: format, the bill key, each text's hash and canonical
    form, sequence numbers, the ``prev`` links between consecutive events, each event's bill, and each
    disclosed field against its commitment."""
    if not isinstance(bundle, dict):
        report = VerificationReport(None, None, None, None)
        report.problems.append("the bundle is not a JSON object")
        return report
    bill_id, bill_key = bundle.get("bill_id"), bundle.get("bill_key")
    chain_id, contract, version = bundle.get("chain_id"), bundle.get("contract"), bundle.get("version")
    report = VerificationReport(
        bill_id=bill_id if isinstance(bill_id, str) else None,
        bill_key=bill_key if isinstance(bill_key, str) else None,
        chain_id=chain_id if isinstance(chain_id, int) and not isinstance(chain_id, bool) else None,
        contract=contract if isinstance(contract, str) else None,
        version=version if version in SUPPORTED_VERSIONS else None,
    )
    if report.version is None:
        report.problems.append(f"version: {version!r} is not a version this verifier reads (1 or 2)")
    if report.bill_id is None and (version == 1 or bill_id is not None):
        report.problems.append("bill_id: missing" if version == 1 else f"bill_id: {bill_id!r} is not a string")
    if not _is_hash(bill_key):
        report.problems.append(f"bill_key: {bill_key!r} is not 0x + 64 lowercase hex digits")
    elif report.bill_id is not None and bill_key != keccak_hex(report.bill_id.encode("utf-8")):
        report.problems.append(f"bill_key: {bill_key!r} is not keccak256 of the bill id {report.bill_id!r}")
    if report.chain_id is None:
        report.problems.append("chain_id: missing or not an integer")
    if report.contract is None or not is_address(report.contract):
        report.problems.append(f"contract: {contract!r} is not an address")
    events = bundle.get("events")
    if not isinstance(events, list) or not events:
        report.problems.append("events: the bundle holds no events")
        return report

    previous_hash = ZERO_HASH
    for index, event in enumerate(events):
        expected_seq = index + 1
        if not isinstance(event, dict):
            check = EventCheck(seq=expected_seq, hash=None)
            check.fail("the event is not a JSON object")
            report.events.append(check)
            previous_hash = ZERO_HASH
            continue
        seq, given_hash, canonical = event.get("seq"), event.get("hash"), event.get("canonical")
        tx_hash, block = event.get("tx_hash"), event.get("block")
        check = EventCheck(seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
                           hash=given_hash if _is_hash(given_hash) else None,
                           tx_hash=tx_hash if isinstance(tx_hash, str) else None,
                           block=block if isinstance(block, int) and not isinstance(block, bool) else None)
        report.events.append(check)
        if seq != expected_seq:
            check.fail(f"seq: {seq!r} where event number {expected_seq} was expected (events in sequence order)")
        if not _is_hash(given_hash):
            check.fail(f"hash: {given_hash!r} is not 0x + 64 lowercase hex digits")
        if canonical is None and version == 2:
            _check_withheld(check, event)
        elif not isinstance(canonical, str):
            check.fail("canonical: missing; it must be the event's canonical JSON text")
        else:
            _check_text(report, check, event, canonical, given_hash, previous_hash, index)
        previous_hash = given_hash if _is_hash(given_hash) else (
            keccak_hex(canonical.encode("utf-8")) if isinstance(canonical, str) else ZERO_HASH)
    return report


def _check_withheld(check: EventCheck, event: dict[str, Any]) -> None:
    """A version-2 bundle may withhold the text of a format-1 event (it would disclose every field): its hash
    and its ``prev`` are then checked on chain only, and it may disclose nothing."""
    check.withheld = True
    check.format = 1
    if event.get("disclosed"):
        check.fail("disclosed: the event's text is withheld, so nothing it discloses can be proven")


def _check_text(report: VerificationReport, check: EventCheck, event: dict[str, Any], canonical: str,
                given_hash: object, previous_hash: str, index: int) -> None:
    computed = keccak_hex(canonical.encode("utf-8"))
    if _is_hash(given_hash) and computed != given_hash:
        check.fail(f"hash: keccak256 of the canonical text is {computed}, not the bundle's {given_hash}: "
                   "the text was changed")
    try:
        members = json.loads(canonical)
    except ValueError:
        members = None
    if not isinstance(members, dict):
        check.fail("canonical: not a JSON object")
        return
    try:
        form: str | None = jcs(members)
    except (ValueError, RecursionError):
        form = None
    if form != canonical:
        check.fail("canonical: not in RFC 8785 canonical form (reordered, re-spaced or re-encoded)")
    prev = members.get("prev")
    if prev != previous_hash:
        which = "the zero hash (first event)" if index == 0 else f"event {index}'s hash"
        check.fail(f"prev: the text names {prev!r} as its predecessor, not {which} {previous_hash}")
    if members.get("seq") != event.get("seq"):
        check.fail(f"seq: the text says {members.get('seq')!r}, the bundle {event.get('seq')!r}")
    fmt = members.get("v")
    check.format = fmt if fmt in EVENT_FORMATS else None
    if fmt == 2 and report.version == 2:
        _check_v2(report, check, event, members)
    elif fmt == 2:
        check.fail("v: a format-2 event in a version-1 bundle")
    else:  # format 1 (or an older text without "v"): every field is in clear
        if "disclosed" in event:
            check.fail("disclosed: a format-1 event discloses its fields in its text, not beside it")
        named = members.get("bill", members.get("bill_id"))
        if named is not None and not isinstance(named, str):
            check.fail(f"bill: {named!r} is not a bill id")
        elif named is not None:
            if report.bill_id is not None and named != report.bill_id:
                check.fail(f"bill: the text names bill {named!r}, the bundle {report.bill_id!r}")
            elif _is_hash(report.bill_key) and keccak_hex(named.encode("utf-8")) != report.bill_key:
                check.fail(f"bill: the text names bill {named!r}, whose key is not the bundle's {report.bill_key}")


def _check_v2(report: VerificationReport, check: EventCheck, event: dict[str, Any], members: dict[str, Any]) -> None:
    if set(members) != V2_MEMBERS:
        check.fail(f"canonical: a format-2 text has exactly the members {sorted(V2_MEMBERS)}, "
                   f"not {sorted(members)}")
    key = members.get("key")
    if key != report.bill_key:
        check.fail(f"key: the event belongs to the bill with key {key!r}, the bundle is for {report.bill_key!r}: "
                   "it is another bill's event")
    commitments = members.get("fields")
    if not isinstance(commitments, dict) or not all(_is_hash(h) for h in commitments.values()):
        check.fail("fields: not an object of field names and 0x-hex commitments")
        return
    check.committed = sorted(commitments)
    disclosed = event.get("disclosed", {})
    if not isinstance(disclosed, dict):
        check.fail("disclosed: not an object of field names")
        return
    for name in sorted(disclosed):
        entry = disclosed[name]
        where = f"field {name}"
        if name not in commitments:
            check.fail(f"{where}: disclosed, but the event commits to no field of that name")
            continue
        if not isinstance(entry, dict) or "value" not in entry or set(entry) != {"value", "salt"}:
            check.fail(f"{where}: a disclosure is {{\"value\": …, \"salt\": \"0x…\"}}")
            continue
        salt, value = entry["salt"], entry["value"]
        if not _is_hash(salt):
            check.fail(f"{where}: the salt {salt!r} is not 0x + 64 lowercase hex digits")
            continue
        try:
            opened = commitment(name, salt, value)
        except (ValueError, RecursionError) as err:
            check.fail(f"{where}: the value cannot be put in canonical form ({err})")
            continue
        if opened != commitments[name]:
            check.fail(f"{where}: the disclosed value and salt do not open the event's commitment "
                       f"{commitments[name]} (a forged value or a wrong salt)")
            continue
        check.disclosed[name] = value
    named = check.disclosed.get("bill")
    if named is not None:
        if not isinstance(named, str) or keccak_hex(named.encode("utf-8")) != report.bill_key:
            check.fail(f"field bill: the event names bill {named!r}, whose key is not the bundle's")
        elif report.bill_id is not None and named != report.bill_id:
            check.fail(f"field bill: the event names bill {named!r}, the bundle {report.bill_id!r}")


# ---------------------------------------------------------------------------------------------------------
# The chain
# ---------------------------------------------------------------------------------------------------------


@dataclass
class ChainView:
    """What the node says about one bill key: the contract's head and its ``Anchored`` logs in a block range.

    Plain data (``as_dict``/``from_dict``), so a page may cache it until the bill's next anchor."""

    chain_id: int
    contract: str
    bill_key: str
    has_code: bool
    head: str
    logs: list[dict[str, Any]]  # {"prev", "hash", "tx_hash", "block", "log_index"} in chain order
    from_block: int
    to_block: int | str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChainView:
        return cls(**data)


class _Rpc:
    def __init__(self, url: str, timeout: float) -> None:
        self.url, self.timeout, self.next_id = url, timeout, 0

    def __call__(self, method: str, params: list[Any]) -> Any:
        self.next_id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 (the user's node)
                response = json.loads(answer.read())
        except (OSError, ValueError) as err:  # refused, timed out, HTTP error, not JSON
            raise VerifierError(f"the node does not answer ({err.__class__.__name__}: {err})") from err
        if not isinstance(response, dict) or ("result" not in response and "error" not in response):
            raise VerifierError(f"{method}: the node answered {response!r}")
        if "error" in response:
            raise VerifierError(f"{method} failed: {response['error']}")
        return response["result"]


def _hex_int(value: object, what: str) -> int:
    try:
        return int(str(value), 16)
    except ValueError as err:
        raise VerifierError(f"{what}: the node answered {value!r}") from err


def fetch_chain_view(rpc_url: str, *, contract: str, bill_key: str, from_block: int = 0,
                     to_block: int | None = None, max_block_range: int | None = None,
                     timeout: float = 20.0) -> ChainView:
    """Ask the node for the chain id, the contract's code, the ``Anchored`` logs of ``bill_key`` in blocks
    ``from_block``..``to_block`` (latest when None; queried ``max_block_range`` blocks at a time when given)
    and ``head(bill_key)``. Raises ``VerifierError`` when the node cannot be read."""
    rpc = _Rpc(rpc_url, timeout)
    chain_id = _hex_int(rpc("eth_chainId", []), "eth_chainId")
    code = rpc("eth_getCode", [contract, "latest"])
    has_code = code not in ("0x", "0x0", None, "")
    view = ChainView(chain_id, contract, bill_key, has_code, ZERO_HASH, [], from_block,
                     to_block if to_block is not None else "latest")
    if not has_code:
        return view
    ranges: list[tuple[str, str]]
    if max_block_range:
        last = to_block if to_block is not None else _hex_int(rpc("eth_blockNumber", []), "eth_blockNumber")
        ranges = [(hex(start), hex(min(start + max_block_range - 1, last)))
                  for start in range(from_block, last + 1, max_block_range)]
    else:
        ranges = [(hex(from_block), hex(to_block) if to_block is not None else "latest")]
    for low, high in ranges:
        raw = rpc("eth_getLogs", [{"address": contract, "fromBlock": low, "toBlock": high,
                                   "topics": [ANCHORED_TOPIC, bill_key]}])
        if not isinstance(raw, list):
            raise VerifierError(f"eth_getLogs: the node answered {raw!r}")
        for log in raw:
            try:
                data = str(log["data"]).removeprefix("0x")
                view.logs.append({
                    "prev": "0x" + data[:64].lower(), "hash": "0x" + data[64:128].lower(),
                    "tx_hash": str(log["transactionHash"]).lower(),
                    "block": _hex_int(log["blockNumber"], "blockNumber"),
                    "log_index": _hex_int(log["logIndex"], "logIndex"),
                })
            except (KeyError, TypeError) as err:
                raise VerifierError(f"eth_getLogs: a log without {err}") from err
    head_raw = str(rpc("eth_call", [{"to": contract, "data": "0x" + HEAD_SELECTOR + bill_key[2:]}, "latest"]))
    view.head = "0x" + head_raw.removeprefix("0x").rjust(64, "0")[-64:].lower()
    return view


def check_against_chain(report: VerificationReport, view: ChainView) -> VerificationReport:
    """Compare the offline-checked bundle with the node's view of its bill key (no I/O)."""
    if view.chain_id != report.chain_id:
        report.problems.append(f"chain_id: the bundle is for chain {report.chain_id}, the node is chain {view.chain_id}")
        return report
    if not view.has_code:
        report.problems.append(f"contract: no contract at {report.contract} on chain {view.chain_id}")
        return report
    anchored: dict[str, dict[str, Any]] = {log["hash"]: log for log in view.logs}
    successor = {log["prev"]: log["hash"] for log in view.logs}  # prev hash -> the hash anchored after it
    report.head = view.head
    report.checked_on_chain = True
    previous_hash = ZERO_HASH
    for check in report.events:
        log = anchored.get(check.hash or "")
        if log is None:
            other = successor.get(previous_hash)
            if other is not None:
                check.fail(f"chain: the event anchored after {previous_hash} is {other}, not this one: "
                           "this is not the anchored history")
            elif check.tx_hash is not None or check.block is not None:
                check.fail(f"chain: the bundle says it was anchored (tx {check.tx_hash}, block {check.block}), "
                           "but the chain has no Anchored log for this hash under the bill's key")
            elif check.status == OK:
                check.status = NOT_ANCHORED
                check.reasons.append("no Anchored log for this hash on chain: not anchored yet")
        else:
            if log["prev"] != previous_hash:
                check.fail(f"chain: anchored after {log['prev']}, not after the previous event's hash {previous_hash}")
            if check.tx_hash is not None and check.tx_hash.lower() != log["tx_hash"]:
                check.fail(f"tx_hash: the bundle says {check.tx_hash}, the chain anchored it in {log['tx_hash']}")
            if check.block is not None and check.block != log["block"]:
                check.fail(f"block: the bundle says {check.block}, the chain anchored it in block {log['block']}")
            check.tx_hash, check.block, check.log_index = log["tx_hash"], log["block"], log["log_index"]
        previous_hash = check.hash or previous_hash
    last = report.events[-1].hash if report.events else None
    report.complete = last is not None and report.head == last
    listed = {e.hash for e in report.events}
    missing = [h for h in anchored if h not in listed]
    if missing:
        report.problems.append(f"the chain holds {len(missing)} anchored event(s) of this bill that the bundle lacks")
    return report


def _checkable(report: VerificationReport) -> bool:
    return (report.chain_id is not None and report.contract is not None and is_address(report.contract)
            and _is_hash(report.bill_key))


def verify_bundle(bundle: object, rpc_url: str | None = None, *, from_block: int = 0, to_block: int | None = None,
                  max_block_range: int | None = None, view: ChainView | None = None) -> VerificationReport:
    """Check ``bundle`` offline, then against the chain at ``rpc_url`` (or against ``view``, already fetched).

    Raises ``VerifierError`` when the node cannot be reached; a bundle for another chain, or a contract
    address without code, is reported as a problem.
    """
    report = check_bundle_offline(bundle)
    if not _checkable(report):
        return report
    if view is None:
        if not rpc_url:
            raise VerifierError("an RPC URL is needed to check the bundle against the chain")
        assert report.contract is not None and report.bill_key is not None
        view = fetch_chain_view(rpc_url, contract=report.contract, bill_key=report.bill_key, from_block=from_block,
                                to_block=to_block, max_block_range=max_block_range)
    elif view.bill_key != report.bill_key or view.contract.lower() != (report.contract or "").lower():
        raise VerifierError("the chain view given is of another bill key or contract")
    return check_against_chain(report, view)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chain_adapter.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", help="the bundle JSON file ('-' reads standard input)")
    parser.add_argument("--rpc", required=True, help="JSON-RPC URL of a node of the bundle's chain")
    parser.add_argument("--from-block", type=int, default=0, help="search Anchored logs from this block")
    parser.add_argument("--to-block", type=int, default=None, help="... up to this block (default: latest)")
    parser.add_argument("--max-block-range", type=int, default=None,
                        help="query logs this many blocks at a time (for nodes that limit eth_getLogs)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.bundle == "-" else Path(args.bundle).read_text(encoding="utf-8")
        bundle = json.loads(text)
    except (OSError, ValueError) as err:
        print(f"cannot read the bundle: {err}", file=sys.stderr)
        return 2
    # A credit report bundle goes to chain_adapter/verify_report.py (run as __main__, this module is loaded
    # there a second time, with its own VerifierError class: both are caught).
    from chain_adapter import verify_report

    try:
        if isinstance(bundle, dict) and bundle.get("kind") == verify_report.KIND:
            report: VerificationReport | verify_report.ReportVerification = verify_report.verify_report_bundle(
                bundle, args.rpc, from_block=args.from_block)
        else:
            report = verify_bundle(bundle, args.rpc, from_block=args.from_block, to_block=args.to_block,
                                   max_block_range=args.max_block_range)
    except (VerifierError, verify_report.VerifierError) as err:
        print(f"cannot verify against {args.rpc}: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
