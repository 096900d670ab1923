"""The bundle-v2 test vector of docs/bundle-v2.md (``tests/bills/vectors/bundle-v2-example.json``).

It verifies with the standalone verifier (offline, on the command line and, once anchored, on chain) and with
an independent check written here from the document alone, using only ``eth_hash``'s keccak and ``json``:
no project code. A one-byte change in any disclosed value fails both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_hash.auto import keccak

ROOT = Path(__file__).resolve().parents[2]
VECTOR_PATH = ROOT / "tests" / "bills" / "vectors" / "bundle-v2-example.json"
ZERO = "0x" + "00" * 32


def load() -> dict[str, Any]:
    return json.loads(VECTOR_PATH.read_text(encoding="utf-8"))


# --- the independent check: written from docs/bundle-v2.md, sharing nothing with the project -------------

def k(data: bytes) -> str:
    return "0x" + keccak(data).hex()


def jcs_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def jcs(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return jcs_string(value)
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    assert isinstance(value, dict)
    keys = sorted(value, key=lambda s: s.encode("utf-16-be"))
    return "{" + ",".join(jcs_string(key) + ":" + jcs(value[key]) for key in keys) + "}"


def independent_check(bundle: dict[str, Any]) -> list[str]:
    """Every check of docs/bundle-v2.md §6 that needs no node; returns the failures found."""
    failures: list[str] = []
    key = bundle["bill_key"]
    if bundle["bill_id"] is not None and k(bundle["bill_id"].encode()) != key:
        failures.append("bill_key")
    prev = ZERO
    for index, event in enumerate(bundle["events"], start=1):
        text = event["canonical"]
        if k(text.encode("utf-8")) != event["hash"]:
            failures.append(f"{index}: hash")
        members = json.loads(text)
        if jcs(members) != text:
            failures.append(f"{index}: not canonical")
        if set(members) != {"v", "key", "seq", "fields", "prev"} or members["v"] != 2:
            failures.append(f"{index}: members")
        if members["key"] != key or members["seq"] != index or event["seq"] != index or members["prev"] != prev:
            failures.append(f"{index}: chain")
        for name, disclosure in event["disclosed"].items():
            salt = bytes.fromhex(disclosure["salt"][2:])
            name_bytes = name.encode("utf-8")
            preimage = len(name_bytes).to_bytes(2, "big") + name_bytes + salt + jcs(disclosure["value"]).encode()
            if members["fields"].get(name) != k(preimage):
                failures.append(f"{index}: field {name}")
        prev = event["hash"]
    return failures


# --- the tests ------------------------------------------------------------------------------------------

def test_the_vector_passes_the_independent_check_and_matches_its_expected_hashes():
    vector = load()
    assert vector["bill_key"] == k(vector["bill_id"].encode())
    for bundle in (vector["bundle"], vector["public_bundle"]):
        assert independent_check(bundle) == []
    for expected, event in zip(vector["expected"], vector["bundle"]["events"], strict=True):
        assert event["hash"] == expected["hash"] and event["canonical"] == expected["canonical"]
        commitments = json.loads(event["canonical"])["fields"]
        for item in expected["fields"]:
            preimage = bytes.fromhex(item["preimage"][2:])
            assert k(preimage) == item["commitment"] == commitments[item["name"]]
            disclosed = event["disclosed"][item["name"]]
            assert jcs(disclosed["value"]) == item["value_jcs"] and disclosed["salt"] == item["salt"]
    assert vector["head"] == vector["bundle"]["events"][-1]["hash"]


def test_the_vector_passes_the_standalone_verifier_offline():
    from chain_adapter.verify import check_bundle_offline

    for name in ("bundle", "public_bundle"):
        report = check_bundle_offline(load()[name])
        assert not report.problems and [e.status for e in report.events] == ["ok"] * 3, report.text()
    assert set(check_bundle_offline(load()["public_bundle"]).events[2].disclosed) == {
        "type", "from", "to", "at", "amounts.face", "actor"}


def one_byte_changes(value: Any) -> list[Any]:
    """Variants of a disclosed value with one byte of its text changed (each string in turn)."""
    if isinstance(value, str):
        return [value[:i] + chr(ord(value[i]) ^ 1) + value[i + 1:] for i in range(len(value))] or ["x"]
    if isinstance(value, list):
        return [value[:i] + [changed] + value[i + 1:] for i, item in enumerate(value) for changed in
                one_byte_changes(item)[:3]]
    if isinstance(value, dict):
        return [{**value, key: changed} for key in value for changed in one_byte_changes(value[key])[:3]]
    if value is None:
        return ["null"]
    return [value + 1]


def test_a_one_byte_change_in_any_disclosed_value_fails_both_checks():
    from chain_adapter.verify import check_bundle_offline

    vector = load()
    tried = 0
    for index, event in enumerate(vector["bundle"]["events"]):
        for name, disclosure in event["disclosed"].items():
            for changed in one_byte_changes(disclosure["value"])[:8]:
                bundle = json.loads(json.dumps(vector["bundle"]))
                bundle["events"][index]["disclosed"][name]["value"] = changed
                assert independent_check(bundle) == [f"{index + 1}: field {name}"], (name, changed)
                reasons = check_bundle_offline(bundle).events[index].reasons
                assert len(reasons) == 1 and reasons[0].startswith(f"field {name}: the disclosed value and salt "
                                                                   "do not open"), (name, changed, reasons)
                tried += 1
    assert tried > 100


def test_the_generator_still_produces_the_committed_vector(db):
    from tests.bills.vectors.generate import build

    assert build() == load()


@pytest.mark.chain
@pytest.mark.django_db
def test_the_vector_verifies_on_chain_with_the_command_line_verifier(anvil, anchor_contract, settings, tmp_path):
    from chain_adapter import txmanager
    from tests.chain_adapter.helpers import enqueue

    settings.ANCHOR_MAX_WAIT_SECONDS = 0
    vector = load()
    events = vector["bundle"]["events"]
    prevs = [ZERO] + [e["hash"] for e in events[:-1]]
    enqueue([(vector["bill_key"], prev, e["hash"]) for prev, e in zip(prevs, events, strict=True)])
    txmanager.run_once()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    for name in ("bundle", "public_bundle"):
        bundle = {**vector[name], "contract": anchor_contract.address}
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
        result = subprocess.run([sys.executable, "-m", "chain_adapter.verify", str(path), "--rpc", anvil.url],
                                capture_output=True, text=True, env={**env, "LANG": os.environ.get("LANG", "C.UTF-8")},
                                timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Result: VERIFIED" in result.stdout
