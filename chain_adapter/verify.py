"""The standalone verifier of a verification bundle (DESIGN §4.4 and §10) against the chain.

    python -m chain_adapter.verify bundle.json --rpc http://127.0.0.1:8545 [--json] [--from-block N]

It needs web3 and nothing else of this project: no Django, no database, no settings (``rfc8785``, when
installed, adds the check that each text is in canonical form). Third parties may copy this one file.
For every event it reports OK, MISMATCH (with the reasons: the text does not hash to the bundle's hash,
it does not link to the previous event, the chain anchored it elsewhere or after another hash) or NOT
ANCHORED (no ``Anchored`` log for its hash yet), and it says whether the bundle is complete: its last hash
is the bill's head on chain, so no event is missing at the end.

Importable: ``verify_bundle(bundle, rpc_url) -> VerificationReport`` and, without a node,
``check_bundle_offline(bundle) -> VerificationReport``. Exit codes: 0 verified and complete, 1 a mismatch or
an incomplete bundle, 2 the bundle or the node could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.exceptions import Web3Exception
from web3.providers.rpc import HTTPProvider

ZERO_HASH = "0x" + "00" * 32
SUPPORTED_VERSION = 1
ANCHORED_TOPIC = "0x" + Web3.keccak(text="Anchored(bytes32,bytes32,bytes32)").hex().removeprefix("0x")
HEAD_SELECTOR = Web3.keccak(text="head(bytes32)").hex().removeprefix("0x")[:8]

OK, MISMATCH, NOT_ANCHORED = "ok", "mismatch", "not_anchored"


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

    def fail(self, reason: str) -> None:
        self.status = MISMATCH
        self.reasons.append(reason)


@dataclass
class VerificationReport:
    bill_id: str | None
    bill_key: str | None
    chain_id: int | None
    contract: str | None
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
        lines = [f"Bundle of {self.bill_id} (key {self.bill_key}) on chain {self.chain_id}, contract {self.contract}"]
        for problem in self.problems:
            lines.append(f"  problem: {problem}")
        for e in self.events:
            where = f"  block {e.block}, log {e.log_index}, tx {e.tx_hash}" if e.block is not None else ""
            label = {OK: "OK", MISMATCH: "MISMATCH", NOT_ANCHORED: "NOT ANCHORED"}[e.status]
            lines.append(f"  event {e.seq}: {label}{where}")
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


def _is_hash(value: object) -> bool:
    return (isinstance(value, str) and len(value) == 66 and value.startswith("0x")
            and all(c in "0123456789abcdef" for c in value[2:]))


def _keccak_text(text: str) -> str:
    return "0x" + Web3.keccak(text=text).hex().removeprefix("0x")


def _canonical_form(value: object) -> str | None:
    """RFC 8785 text of ``value``, or None when the ``rfc8785`` package is not installed."""
    try:
        import rfc8785
    except ImportError:
        return None
    return rfc8785.dumps(value).decode("utf-8")  # type: ignore[arg-type]


def check_bundle_offline(bundle: object) -> VerificationReport:
    """Everything that can be checked without a node: format, the bill key, each text's hash and canonical
    form, sequence numbers and the ``prev`` links between consecutive events."""
    if not isinstance(bundle, dict):
        report = VerificationReport(None, None, None, None)
        report.problems.append("the bundle is not a JSON object")
        return report
    bill_id, bill_key = bundle.get("bill_id"), bundle.get("bill_key")
    chain_id, contract = bundle.get("chain_id"), bundle.get("contract")
    report = VerificationReport(
        bill_id=bill_id if isinstance(bill_id, str) else None,
        bill_key=bill_key if isinstance(bill_key, str) else None,
        chain_id=chain_id if isinstance(chain_id, int) and not isinstance(chain_id, bool) else None,
        contract=contract if isinstance(contract, str) else None,
    )
    if bundle.get("version") != SUPPORTED_VERSION:
        report.problems.append(f"version: {bundle.get('version')!r} is not a version this verifier reads (1)")
    if report.bill_id is None:
        report.problems.append("bill_id: missing")
    elif not _is_hash(bill_key) or bill_key != _keccak_text(report.bill_id):
        report.problems.append(f"bill_key: {bill_key!r} is not keccak256 of the bill id {report.bill_id!r}")
    if report.chain_id is None:
        report.problems.append("chain_id: missing or not an integer")
    if report.contract is None or not Web3.is_address(report.contract):
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
        check = EventCheck(seq=seq if isinstance(seq, int) else None, hash=given_hash if _is_hash(given_hash) else None,
                           tx_hash=event.get("tx_hash"), block=event.get("block"))
        report.events.append(check)
        if seq != expected_seq:
            check.fail(f"seq: {seq!r} where event number {expected_seq} was expected (events in sequence order)")
        if not _is_hash(given_hash):
            check.fail(f"hash: {given_hash!r} is not 0x + 64 lowercase hex digits")
        if not isinstance(canonical, str):
            check.fail("canonical: missing; it must be the event's canonical JSON text")
            previous_hash = str(given_hash) if _is_hash(given_hash) else ZERO_HASH
            continue
        computed = _keccak_text(canonical)
        if _is_hash(given_hash) and computed != given_hash:
            check.fail(f"hash: keccak256 of the canonical text is {computed}, not the bundle's {given_hash}: "
                       "the text was changed")
        try:
            fields = json.loads(canonical)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            check.fail("canonical: not a JSON object")
        else:
            form = _canonical_form(fields)
            if form is not None and form != canonical:
                check.fail("canonical: not in RFC 8785 canonical form (reordered, re-spaced or re-encoded)")
            prev = fields.get("prev")
            if prev != previous_hash:
                which = "the zero hash (first event)" if index == 0 else f"event {expected_seq - 1}'s hash"
                check.fail(f"prev: the text names {prev!r} as its predecessor, not {which} {previous_hash}")
            if "seq" in fields and fields["seq"] != seq:
                check.fail(f"seq: the text says {fields['seq']!r}, the bundle {seq!r}")
            if "bill_id" in fields and fields["bill_id"] != report.bill_id:
                check.fail(f"bill_id: the text names bill {fields['bill_id']!r}, the bundle {report.bill_id!r}")
        previous_hash = str(given_hash) if _is_hash(given_hash) else computed
    return report


def _rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    try:
        response = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    except (OSError, ValueError, Web3Exception) as err:  # connection errors, timeouts, a non-JSON answer
        raise VerifierError(f"the node does not answer ({err.__class__.__name__}: {err})") from err
    if not isinstance(response, dict) or ("result" not in response and "error" not in response):
        raise VerifierError(f"{method}: the node answered {response!r}")
    if "error" in response:
        raise VerifierError(f"{method} failed: {response['error']}")
    return response["result"]


def verify_bundle(bundle: object, rpc_url: str | None = None, *, w3: Web3 | None = None,
                  from_block: int = 0) -> VerificationReport:
    """Check ``bundle`` offline, then against the chain at ``rpc_url`` (or through ``w3``).

    Raises ``VerifierError`` when the node cannot be reached; a bundle for another chain, or a contract
    address without code, is reported as a problem.
    """
    report = check_bundle_offline(bundle)
    if report.chain_id is None or report.contract is None or not Web3.is_address(report.contract) \
            or not _is_hash(report.bill_key):
        return report
    if w3 is None:
        if not rpc_url:
            raise VerifierError("an RPC URL is needed to check the bundle against the chain")
        w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 20}, exception_retry_configuration=None),
                  middleware=[])
    node_chain = int(str(_rpc(w3, "eth_chainId", [])), 16)
    if node_chain != report.chain_id:
        report.problems.append(f"chain_id: the bundle is for chain {report.chain_id}, the node is chain {node_chain}")
        return report
    contract = Web3.to_checksum_address(report.contract)
    if _rpc(w3, "eth_getCode", [contract, "latest"]) in ("0x", "0x0", None):
        report.problems.append(f"contract: no contract at {contract} on chain {node_chain}")
        return report
    assert report.bill_key is not None
    raw_logs = _rpc(w3, "eth_getLogs", [{"address": contract, "fromBlock": hex(from_block), "toBlock": "latest",
                                        "topics": [ANCHORED_TOPIC, report.bill_key]}])
    anchored: dict[str, dict[str, Any]] = {}
    successor: dict[str, str] = {}  # prev hash -> the event hash the chain anchored after it
    for log in raw_logs:
        data = str(log["data"]).removeprefix("0x")
        event_hash = "0x" + data[64:128]
        anchored[event_hash] = {
            "prev": "0x" + data[:64], "tx_hash": str(log["transactionHash"]),
            "block": int(str(log["blockNumber"]), 16), "log_index": int(str(log["logIndex"]), 16),
        }
        successor["0x" + data[:64]] = event_hash
    head_raw = str(_rpc(w3, "eth_call", [{"to": contract, "data": "0x" + HEAD_SELECTOR + report.bill_key[2:]},
                                         "latest"]))
    report.head = "0x" + head_raw.removeprefix("0x").rjust(64, "0")[-64:]
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
                           "but the chain has no Anchored log for this hash")
            elif check.status == OK:
                check.status = NOT_ANCHORED
                check.reasons.append("no Anchored log for this hash on chain: not anchored yet")
        else:
            if log["prev"] != previous_hash:
                check.fail(f"chain: anchored after {log['prev']}, not after the previous event's hash {previous_hash}")
            if check.tx_hash is not None and str(check.tx_hash).lower() != log["tx_hash"].lower():
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chain_adapter.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", help="the bundle JSON file ('-' reads standard input)")
    parser.add_argument("--rpc", required=True, help="JSON-RPC URL of a node of the bundle's chain")
    parser.add_argument("--from-block", type=int, default=0, help="search Anchored logs from this block")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.bundle == "-" else Path(args.bundle).read_text(encoding="utf-8")
        bundle = json.loads(text)
    except (OSError, ValueError) as err:
        print(f"cannot read the bundle: {err}", file=sys.stderr)
        return 2
    try:
        report = verify_bundle(bundle, args.rpc, from_block=args.from_block)
    except VerifierError as err:
        print(f"cannot verify against {args.rpc}: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
