"""The standalone bundle verifier (``python -m chain_adapter.verify``) against bundles in the DESIGN §10
format, built here from synthetic canonical events anchored by the transaction manager."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import rfc8785

from chain_adapter import txmanager
from chain_adapter.devnet import free_port
from chain_adapter.hashing import ZERO_HASH, keccak256_hex, record_key
from chain_adapter.models import AnchorRecord
from chain_adapter.verify import (
    MISMATCH,
    NOT_ANCHORED,
    OK,
    VerifierError,
    check_bundle_offline,
    verify_bundle,
)
from tests.chain_adapter.helpers import enqueue

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]


def canonical_events(bill_id: str, count: int) -> list[tuple[int, str, str]]:
    events, prev = [], ZERO_HASH
    for seq in range(1, count + 1):
        fields = {
            "v": 1, "bill_id": bill_id, "seq": seq, "type": "transfer", "from_state": "accepted",
            "to_state": "pending_receipt", "actor": "91440300MA5F00011X", "at": f"2026-03-0{seq}T08:00:00Z",
            "amounts": {"face": "10000.00"}, "details": {"to": "91440300MA5F00022Y"}, "prev": prev,
        }
        text = rfc8785.dumps(fields).decode()
        prev = keccak256_hex(text)
        events.append((seq, text, prev))
    return events


@pytest.fixture
def make_bundle(anvil, anchor_contract, settings):
    settings.ANCHOR_BATCH_SIZE = 10
    settings.ANCHOR_MAX_WAIT_SECONDS = 0

    def build(count: int = 3, anchored: int | None = None) -> dict:
        bill_id = str(uuid.uuid4())
        key = record_key(bill_id)
        events = canonical_events(bill_id, count)
        prevs = [ZERO_HASH] + [h for _s, _t, h in events[:-1]]
        upto = count if anchored is None else anchored
        enqueue([(key, prev, h) for prev, (_s, _t, h) in zip(prevs[:upto], events[:upto], strict=True)])
        txmanager.run_once()
        records = {r.event_hash: r for r in AnchorRecord.objects.filter(key=key)}
        return {
            "version": 1, "bill_id": bill_id, "bill_key": key, "chain_id": 31337,
            "contract": anchor_contract.address,
            "events": [
                {"seq": seq, "canonical": text, "hash": h,
                 "tx_hash": records[h].tx_hash if h in records else None,
                 "block": records[h].block_number if h in records else None}
                for seq, text, h in events
            ],
        }

    return build


def test_an_anchored_complete_bundle_verifies(anvil, make_bundle):
    bundle = make_bundle(3)
    report = verify_bundle(bundle, anvil.url)
    assert report.ok and report.complete
    assert [e.status for e in report.events] == [OK, OK, OK]
    assert report.head == bundle["events"][-1]["hash"]
    assert all(e.block is not None and e.log_index is not None for e in report.events)
    assert "Result: VERIFIED" in report.text()


def test_an_edited_event_is_named_with_the_reason(anvil, make_bundle):
    bundle = make_bundle(3)
    bundle["events"][1]["canonical"] = bundle["events"][1]["canonical"].replace("10000.00", "90000.00")
    report = verify_bundle(bundle, anvil.url)
    assert not report.ok
    assert [e.status for e in report.events] == [OK, MISMATCH, OK]
    [reason] = report.events[1].reasons
    assert reason.startswith("hash: keccak256 of the canonical text is") and "changed" in reason
    assert "event 2: MISMATCH" in report.text()


def test_an_edit_that_also_rewrites_the_hash_breaks_the_chain_of_hashes(anvil, make_bundle):
    bundle = make_bundle(3)
    first, original = bundle["events"][0]["hash"], bundle["events"][1]["hash"]
    edited = bundle["events"][1]["canonical"].replace("10000.00", "90000.00")
    bundle["events"][1].update(canonical=edited, hash=keccak256_hex(edited))
    report = verify_bundle(bundle, anvil.url)
    assert [e.status for e in report.events] == [OK, MISMATCH, MISMATCH]
    assert report.events[1].reasons == [
        f"chain: the event anchored after {first} is {original}, not this one: this is not the anchored history"]
    assert report.events[2].reasons[0].startswith("prev: the text names")
    assert report.complete  # the last hash is still the head: completeness alone does not make a bundle good
    assert not report.ok


def test_a_bundle_missing_its_last_event_is_incomplete(anvil, make_bundle):
    bundle = make_bundle(3)
    bundle["events"].pop()
    report = verify_bundle(bundle, anvil.url)
    assert [e.status for e in report.events] == [OK, OK]
    assert not report.complete and not report.ok
    assert report.problems == ["the chain holds 1 anchored event(s) of this bill that the bundle lacks"]
    assert "INCOMPLETE" in report.text()


def test_an_event_not_yet_anchored_is_reported_as_such(anvil, make_bundle):
    bundle = make_bundle(3, anchored=2)
    report = verify_bundle(bundle, anvil.url)
    assert [e.status for e in report.events] == [OK, OK, NOT_ANCHORED]
    assert not report.complete and report.head == bundle["events"][1]["hash"]


def test_a_wrong_transaction_or_block_is_a_mismatch(anvil, make_bundle):
    bundle = make_bundle(2)
    bundle["events"][0]["tx_hash"] = "0x" + "ab" * 32
    bundle["events"][1]["block"] = 999_999
    report = verify_bundle(bundle, anvil.url)
    assert report.events[0].status == MISMATCH and report.events[0].reasons[0].startswith("tx_hash:")
    assert report.events[1].status == MISMATCH and report.events[1].reasons[0].startswith("block:")


def test_a_text_that_is_not_in_canonical_form_is_a_mismatch():
    bill_id = str(uuid.uuid4())
    [(seq, text, _h)] = canonical_events(bill_id, 1)
    spaced = json.dumps(json.loads(text), indent=1)
    bundle = {"version": 1, "bill_id": bill_id, "bill_key": record_key(bill_id), "chain_id": 31337,
              "contract": "0x" + "11" * 20,
              "events": [{"seq": seq, "canonical": spaced, "hash": keccak256_hex(spaced), "tx_hash": None,
                          "block": None}]}
    report = check_bundle_offline(bundle)
    assert report.events[0].status == MISMATCH
    assert report.events[0].reasons == [
        "canonical: not in RFC 8785 canonical form (reordered, re-spaced or re-encoded)"]


def test_bundle_level_problems_are_reported(anvil, make_bundle):
    bundle = make_bundle(1)
    wrong_chain = {**bundle, "chain_id": 1}
    assert "the bundle is for chain 1, the node is chain 31337" in verify_bundle(wrong_chain, anvil.url).problems[0]
    wrong_key = {**bundle, "bill_key": keccak256_hex("another bill")}
    assert verify_bundle(wrong_key, anvil.url).problems[0].startswith("bill_key:")
    no_code = {**bundle, "contract": "0x" + "12" * 20}
    assert verify_bundle(no_code, anvil.url).problems[0].startswith("contract: no contract at")
    assert check_bundle_offline([]).problems == ["the bundle is not a JSON object"]
    assert check_bundle_offline({**bundle, "version": 2}).problems[0].startswith("version:")


def test_an_unreachable_node_is_an_error_not_a_verdict(make_bundle):
    with pytest.raises(VerifierError, match="does not answer"):
        verify_bundle(make_bundle(1), f"http://127.0.0.1:{free_port()}")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    return subprocess.run([sys.executable, "-m", "chain_adapter.verify", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_command_line_verifier_exit_codes(anvil, make_bundle, tmp_path):
    bundle = make_bundle(2)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(bundle))
    result = run_cli(str(good), "--rpc", anvil.url)
    assert result.returncode == 0, result.stderr
    assert "Result: VERIFIED" in result.stdout

    bundle["events"][0]["canonical"] = bundle["events"][0]["canonical"].replace("transfer", "settle")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bundle))
    result = run_cli(str(bad), "--rpc", anvil.url, "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["events"][0]["status"] == "mismatch"

    assert run_cli(str(good), "--rpc", f"http://127.0.0.1:{free_port()}").returncode == 2
    assert run_cli(str(tmp_path / "missing.json"), "--rpc", anvil.url).returncode == 2


def test_the_verifier_needs_neither_django_nor_the_database():
    code = ("import sys, chain_adapter.verify; "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('django', 'psycopg2', 'celery')]")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
