"""The standalone verifier of a verification bundle (DESIGN §4.4 and §10, docs/bundle-v2.md) against the chain.

    python -m chain_adapter.verify bundle.json --rpc http://127.0.0.1:8545 [--json] [--from-block N]

It needs ``eth-hash`` (with ``pycryptodome``) and the standard library, nothing else of this project: no
Django, no database, no settings, not even web3 (its import alone costs a second). Third parties may copy
it with its two siblings, ``verify_base`` and ``verify_chain``. It reads bundles of version 1 (every event in clear) and version 2 (salted field commitments,
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
import sys
from pathlib import Path
from typing import Any

from chain_adapter.verify_base import (
    ANCHORED_TOPIC,
    EVENT_FORMATS,
    HEAD_SELECTOR,
    MAX_SAFE_INTEGER,
    MISMATCH,
    NOT_ANCHORED,
    OK,
    SALT_BYTES,
    SUPPORTED_VERSIONS,
    V2_MEMBERS,
    ZERO_HASH,
    EventCheck,
    VerificationReport,
    VerifierError,
    _checksum,
    _is_hash,
    commitment,
    is_address,
    jcs,
    keccak_hex,
)
from chain_adapter.verify_chain import ChainView, _hex_int, _Rpc, fetch_chain_view

__all__ = [
    "ANCHORED_TOPIC", "EVENT_FORMATS", "HEAD_SELECTOR", "MAX_SAFE_INTEGER", "MISMATCH", "NOT_ANCHORED", "OK", "SALT_BYTES",
    "SUPPORTED_VERSIONS", "V2_MEMBERS",
    "ZERO_HASH", "ChainView", "EventCheck", "VerificationReport", "VerifierError", "_Rpc", "_checksum", "_hex_int",
    "_is_hash", "check_against_chain", "check_bundle_offline", "commitment", "fetch_chain_view", "is_address",
    "jcs", "keccak_hex", "main", "verify_bundle",
]

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
