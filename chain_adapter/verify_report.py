"""The standalone verifier of a credit report bundle (``"kind": "credit_report"``, sme_credit/README.md).

    python -m chain_adapter.verify report.json --rpc http://127.0.0.1:8545 [--json]

``chain_adapter.verify`` hands a bundle of this kind here. Like it, this needs only ``eth-hash`` and the
standard library. A report is one anchored record: ``hash = keccak256(UTF-8 of canonical)``,
``report_key = keccak256(UTF-8 of "report:" + report_id)``, prev = zero hash, and it verifies when the
contract's ``head(report_key)`` is that hash. Each failure names the member or field that fails; an edited
canonical text is named as such, and when the bundle carries the readable ``report`` object, the first field
where it and the text disagree is named too. Exit codes: 0 verified, 1 not verified, 2 unreadable.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from chain_adapter.verify import (
    ZERO_HASH,
    ChainView,
    VerifierError,
    _is_hash,
    fetch_chain_view,
    is_address,
    jcs,
    keccak_hex,
)

KIND = "credit_report"
SUPPORTED_VERSIONS = (1,)
REPORT_FORMATS = (1,)


@dataclass
class ReportVerification:
    report_id: int | None
    report_key: str | None
    chain_id: int | None
    contract: str | None
    hash: str | None
    problems: list[str] = field(default_factory=list)
    head: str | None = None
    anchored: bool = False  # head(report_key) == hash on chain
    checked_on_chain: bool = False
    tx_hash: str | None = None
    block: int | None = None

    @property
    def ok(self) -> bool:
        return self.checked_on_chain and self.anchored and not self.problems

    @property
    def pending(self) -> bool:
        """Sound offline, and the key's head is still zero: not anchored yet."""
        return self.checked_on_chain and not self.problems and self.head == ZERO_HASH

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kind": KIND, "ok": self.ok}

    def text(self) -> str:
        lines = [f"Credit report {self.report_id} (key {self.report_key}) on chain {self.chain_id}, "
                 f"contract {self.contract}"]
        lines.extend(f"  problem: {p}" for p in self.problems)
        if self.checked_on_chain:
            where = f" (block {self.block}, tx {self.tx_hash})" if self.block is not None else ""
            lines.append(f"  head on chain: {self.head}; report hash: {self.hash}{where}")
        if self.ok:
            lines.append("Result: VERIFIED")
        elif self.pending:
            lines.append("Result: NOT VERIFIED (not anchored yet)")
        else:
            lines.append(f"Result: NOT VERIFIED ({len(self.problems)} problem(s))")
        return "\n".join(lines)


def _first_difference(given: Any, anchored: Any, path: str = "") -> str | None:
    """The first field path (``score.factors[2].points``) where ``given`` differs from ``anchored``."""
    if isinstance(given, dict) and isinstance(anchored, dict):
        for name in sorted(set(given) | set(anchored)):
            where = f"{path}.{name}" if path else name
            if name not in given or name not in anchored:
                return where
            found = _first_difference(given[name], anchored[name], where)
            if found:
                return found
        return None
    if isinstance(given, list) and isinstance(anchored, list):
        for index, (a, b) in enumerate(zip(given, anchored, strict=False)):
            found = _first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None if len(given) == len(anchored) else f"{path} (length)"
    same = type(given) is type(anchored) and given == anchored
    return None if same else (path or "(the whole report)")


def _value_at(obj: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            index = int(part[1:-1])
            obj = obj[index] if isinstance(obj, list) and index < len(obj) else None
        else:
            obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def check_report_offline(bundle: dict[str, Any]) -> ReportVerification:
    """Format, key, hash, canonical form, and agreement of ``report`` (when present) with the text."""
    report_id, key, given_hash = bundle.get("report_id"), bundle.get("report_key"), bundle.get("hash")
    chain_id, contract, canonical = bundle.get("chain_id"), bundle.get("contract"), bundle.get("canonical")
    tx_hash, block = bundle.get("tx_hash"), bundle.get("block")
    result = ReportVerification(
        report_id=report_id if isinstance(report_id, int) and not isinstance(report_id, bool) else None,
        report_key=key if isinstance(key, str) else None,
        chain_id=chain_id if isinstance(chain_id, int) and not isinstance(chain_id, bool) else None,
        contract=contract if isinstance(contract, str) else None,
        hash=given_hash if _is_hash(given_hash) else None,
        tx_hash=tx_hash if isinstance(tx_hash, str) else None,
        block=block if isinstance(block, int) and not isinstance(block, bool) else None,
    )
    fail = result.problems.append
    if bundle.get("version") not in SUPPORTED_VERSIONS:
        fail(f"version: {bundle.get('version')!r} is not a report bundle version this verifier reads (1)")
    if result.report_id is None:
        fail(f"report_id: {report_id!r} is not an integer")
    if not _is_hash(key):
        fail(f"report_key: {key!r} is not 0x + 64 lowercase hex digits")
    elif result.report_id is not None and key != keccak_hex(f"report:{result.report_id}".encode()):
        fail(f"report_key: {key} is not keccak256 of \"report:{result.report_id}\"")
    if result.chain_id is None:
        fail("chain_id: missing or not an integer")
    if result.contract is None or not is_address(result.contract):
        fail(f"contract: {contract!r} is not an address")
    if result.hash is None:
        fail(f"hash: {given_hash!r} is not 0x + 64 lowercase hex digits")
    if not isinstance(canonical, str):
        fail("canonical: missing or not a string")
        return result
    try:
        members: Any = json.loads(canonical)
    except ValueError:
        members = None
    if not isinstance(members, dict):
        fail("canonical: not a JSON object")
        return result
    readable = bundle.get("report")
    if result.hash is not None and keccak_hex(canonical.encode("utf-8")) != result.hash:
        reason = "canonical: the canonical text does not match its hash (the text was changed)"
        if isinstance(readable, dict):
            where = _first_difference(members, readable)
            if where:
                reason += (f"; field {where}: the text says {json.dumps(_value_at(members, where))}, "
                           f"the bundle's report says {json.dumps(_value_at(readable, where))}")
        fail(reason)
    elif isinstance(readable, dict):
        where = _first_difference(readable, members)
        if where:
            fail(f"report.{where}: the bundle's report says {json.dumps(_value_at(readable, where))}, "
                 f"the anchored text says {json.dumps(_value_at(members, where))}")
    try:
        form: str | None = jcs(members)
    except (ValueError, RecursionError):
        form = None
    if form != canonical:
        fail("canonical: not in RFC 8785 canonical form (reordered, re-spaced or re-encoded)")
    if members.get("kind") != KIND:
        fail(f"kind: the text says {members.get('kind')!r}, not {KIND!r}")
    if members.get("v") not in REPORT_FORMATS:
        fail(f"v: {members.get('v')!r} is not a report format this verifier reads (1)")
    if result.report_id is not None and members.get("report") != result.report_id:
        fail(f"report: the text is report {members.get('report')!r}, the bundle says {result.report_id}")
    return result


def check_report_against_chain(result: ReportVerification, view: ChainView) -> ReportVerification:
    """Compare with the node's view of the report key (no I/O): head equals the hash, anchored after zero."""
    if view.chain_id != result.chain_id:
        result.problems.append(f"chain_id: the bundle is for chain {result.chain_id}, the node is chain {view.chain_id}")
        return result
    if not view.has_code:
        result.problems.append(f"contract: no contract at {result.contract} on chain {view.chain_id}")
        return result
    result.checked_on_chain = True
    result.head = view.head
    result.anchored = result.hash is not None and view.head == result.hash
    if view.head == ZERO_HASH:
        if result.tx_hash is not None or result.block is not None:
            result.problems.append(f"chain: the bundle says it was anchored (tx {result.tx_hash}, block "
                                   f"{result.block}), but the report key has no head on chain")
        return result
    if not result.anchored:
        result.problems.append(f"chain: head(report_key) is {view.head}, not the report's hash {result.hash}")
        return result
    log = next((entry for entry in view.logs if entry["hash"] == result.hash), None)
    if log is not None:
        if log["prev"] != ZERO_HASH:
            result.problems.append(f"chain: anchored after {log['prev']}, not as the key's first record")
        if result.tx_hash is not None and result.tx_hash.lower() != log["tx_hash"]:
            result.problems.append(f"tx_hash: the bundle says {result.tx_hash}, the chain anchored it in {log['tx_hash']}")
        if result.block is not None and result.block != log["block"]:
            result.problems.append(f"block: the bundle says {result.block}, the chain anchored it in block {log['block']}")
        result.tx_hash, result.block = log["tx_hash"], log["block"]
    elif result.block is not None:
        result.problems.append(f"block: the chain has no Anchored log of this hash in block {result.block}")
    return result


def verify_report_bundle(bundle: dict[str, Any], rpc_url: str | None = None, *, view: ChainView | None = None,
                         from_block: int = 0) -> ReportVerification:
    """Check a report bundle offline, then against the chain (``rpc_url``, or ``view`` already fetched).
    Raises ``VerifierError`` when the node cannot be read."""
    result = check_report_offline(bundle)
    if result.chain_id is None or result.contract is None or not is_address(result.contract) \
            or not _is_hash(result.report_key):
        return result
    if view is None:
        if not rpc_url:
            raise VerifierError("an RPC URL is needed to check the report against the chain")
        start = result.block if result.block is not None else from_block
        view = fetch_chain_view(rpc_url, contract=result.contract, bill_key=result.report_key, from_block=start,
                                to_block=result.block)
    elif view.bill_key != result.report_key or view.contract.lower() != result.contract.lower():
        raise VerifierError("the chain view given is of another key or contract")
    return check_report_against_chain(result, view)
