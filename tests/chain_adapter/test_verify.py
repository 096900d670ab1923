"""The standalone bundle verifier (``python -m chain_adapter.verify``) against bundles in the DESIGN §10
format (version 1) and in version 2 (docs/bundle-v2.md: salted field commitments, some fields disclosed),
built here from synthetic canonical events anchored by the transaction manager."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

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
    commitment,
    jcs,
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
    assert check_bundle_offline({**bundle, "version": 3}).problems[0].startswith("version:")


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
            "assert not [m for m in sys.modules if m.split('.')[0] in ('django', 'psycopg2', 'celery', 'web3')]")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------------------------------------
# Version 2: salted field commitments
# ---------------------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_verifiers_own_jcs_is_rfc8785(value):
    assert jcs(value) == rfc8785.dumps(value).decode("utf-8")


@pytest.mark.parametrize("value", [{"face": 1.5}, 2**53, [float("nan")]])
def test_jcs_refuses_what_a_bundle_never_holds(value):
    with pytest.raises(ValueError):
        jcs(value)


def v2_events(bill_id: str, count: int, *, fmt1_first: int = 0) -> list[dict]:
    """Synthetic events of one bill: the first ``fmt1_first`` in format 1, the rest in format 2 (with their
    fields and salts, to disclose as a test likes)."""
    key, prev, out = record_key(bill_id), ZERO_HASH, []
    for seq in range(1, count + 1):
        fields = {"bill": bill_id, "type": "transfer", "from": "accepted", "to": "pending_receipt",
                  "actor": "91440300MA5F00011X", "at": f"2026-03-0{seq}T08:00:00.000000Z",
                  "amounts.face": "10000.00", "details.receiver": f"9144030{seq}MA5F00022Y", "details.reason": ""}
        if seq <= fmt1_first:
            text = rfc8785.dumps({"v": 1, "bill": bill_id, "seq": seq, "prev": prev, "type": "transfer",
                                  "details": {"receiver": fields["details.receiver"]}}).decode()
            salts = {}
        else:
            salts = {name: "0x" + os.urandom(32).hex() for name in fields}
            commitments = {name: commitment(name, salts[name], value) for name, value in fields.items()}
            text = rfc8785.dumps({"v": 2, "key": key, "seq": seq, "fields": commitments, "prev": prev}).decode()
        prev = keccak256_hex(text)
        out.append({"seq": seq, "canonical": text, "hash": prev, "fields": fields, "salts": salts})
    return out


@pytest.fixture
def make_v2_bundle(anvil, anchor_contract, settings):
    settings.ANCHOR_BATCH_SIZE = 10
    settings.ANCHOR_MAX_WAIT_SECONDS = 0

    def build(count: int = 3, *, show: tuple[str, ...] | None = None, fmt1_first: int = 0,
              withhold_fmt1: bool = False) -> dict:
        bill_id = str(uuid.uuid4())
        key = record_key(bill_id)
        events = v2_events(bill_id, count, fmt1_first=fmt1_first)
        prevs = [ZERO_HASH] + [e["hash"] for e in events[:-1]]
        enqueue([(key, prev, e["hash"]) for prev, e in zip(prevs, events, strict=True)])
        txmanager.run_once()
        records = {r.event_hash: r for r in AnchorRecord.objects.filter(key=key)}
        out = []
        for e in events:
            entry = {"seq": e["seq"], "canonical": e["canonical"], "hash": e["hash"],
                     "tx_hash": records[e["hash"]].tx_hash, "block": records[e["hash"]].block_number}
            if e["salts"]:
                names = sorted(e["fields"]) if show is None else [n for n in show if n in e["fields"]]
                entry["disclosed"] = {n: {"value": e["fields"][n], "salt": e["salts"][n]} for n in names}
            elif withhold_fmt1:
                entry["canonical"] = None
            out.append(entry)
        return {"version": 2, "bill_id": bill_id if show is None else None, "bill_key": key, "chain_id": 31337,
                "contract": anchor_contract.address, "events": out}

    return build


def test_a_full_and_a_redacted_v2_bundle_prove_the_same_completeness(anvil, make_v2_bundle):
    full = make_v2_bundle(3)
    redacted = json.loads(json.dumps(full))
    redacted["bill_id"] = None
    for event in redacted["events"]:
        event["disclosed"] = {n: d for n, d in event["disclosed"].items() if n in ("type", "at", "amounts.face")}
    nothing = json.loads(json.dumps(full))
    nothing["bill_id"] = None
    for event in nothing["events"]:
        event["disclosed"] = {}
    reports = [verify_bundle(b, anvil.url) for b in (full, redacted, nothing)]
    assert all(r.ok and r.complete for r in reports), [r.text() for r in reports]
    assert [len(e.disclosed) for e in reports[0].events] == [9, 9, 9]
    assert [sorted(e.disclosed) for e in reports[1].events] == [["amounts.face", "at", "type"]] * 3
    assert reports[1].events[0].disclosed["amounts.face"] == "10000.00"
    assert all(not e.disclosed and len(e.committed) == 9 for e in reports[2].events)
    assert "Result: VERIFIED" in reports[1].text() and "3 field(s) disclosed and proven, 6 committed only" in \
        reports[1].text()


def test_a_forged_disclosed_value_fails_naming_the_event_and_the_field(anvil, make_v2_bundle):
    bundle = make_v2_bundle(3)
    bundle["events"][1]["disclosed"]["details.receiver"]["value"] = "91440300MA5F00099Z"
    report = verify_bundle(bundle, anvil.url)
    assert not report.ok
    assert [e.status for e in report.events] == [OK, MISMATCH, OK]
    [reason] = report.events[1].reasons
    assert reason.startswith("field details.receiver: the disclosed value and salt do not open")
    assert "event 2: MISMATCH" in report.text() and "field details.receiver" in report.text()


def test_swapped_salts_fail_naming_both_fields(make_v2_bundle):
    bundle = make_v2_bundle(2)
    disclosed = bundle["events"][0]["disclosed"]
    disclosed["to"]["salt"], disclosed["from"]["salt"] = disclosed["from"]["salt"], disclosed["to"]["salt"]
    report = check_bundle_offline(bundle)
    reasons = report.events[0].reasons
    assert report.events[0].status == MISMATCH and report.events[1].status == OK
    assert [r.split(":")[0] for r in reasons] == ["field from", "field to"]


def test_a_disclosure_of_a_field_the_event_does_not_commit_to_fails(make_v2_bundle):
    bundle = make_v2_bundle(1)
    bundle["events"][0]["disclosed"]["details.price"] = {"value": "1.00", "salt": "0x" + "11" * 32}
    reasons = check_bundle_offline(bundle).events[0].reasons
    assert reasons == ["field details.price: disclosed, but the event commits to no field of that name"]


def test_reordered_and_dropped_events_fail(anvil, make_v2_bundle):
    bundle = make_v2_bundle(3)
    swapped = json.loads(json.dumps(bundle))
    swapped["events"][0], swapped["events"][1] = swapped["events"][1], swapped["events"][0]
    report = verify_bundle(swapped, anvil.url)
    assert report.events[0].status == MISMATCH and report.events[1].status == MISMATCH
    assert any(r.startswith("seq:") for r in report.events[0].reasons)
    assert any(r.startswith("prev:") for r in report.events[0].reasons)
    dropped = json.loads(json.dumps(bundle))
    del dropped["events"][1]
    report = verify_bundle(dropped, anvil.url)
    assert not report.ok
    assert report.events[1].status == MISMATCH
    assert any(r.startswith("prev:") for r in report.events[1].reasons)
    assert report.problems == ["the chain holds 1 anchored event(s) of this bill that the bundle lacks"]


def test_a_bundle_claiming_another_bills_key_fails_on_every_event(anvil, make_v2_bundle):
    mine, other = make_v2_bundle(2), make_v2_bundle(2, show=("type",))
    forged = {**mine, "bill_id": None, "bill_key": other["bill_key"]}
    report = verify_bundle(forged, anvil.url)
    assert not report.ok
    for event in report.events:
        assert any(r.startswith("key: the event belongs to the bill with key") and "another bill's event" in r
                   for r in event.reasons), event.reasons
    # With its id disclosed, the bundle's own bill field contradicts the key as well.
    named = {**mine, "bill_key": other["bill_key"]}
    assert check_bundle_offline(named).problems[0].startswith("bill_key:")


def test_a_v2_bundle_may_withhold_the_text_of_format1_events(anvil, make_v2_bundle):
    bundle = make_v2_bundle(4, fmt1_first=2, withhold_fmt1=True, show=("type",))
    assert [e["canonical"] is None for e in bundle["events"]] == [True, True, False, False]
    report = verify_bundle(bundle, anvil.url)
    assert report.ok and report.complete, report.text()
    assert [e.withheld for e in report.events] == [True, True, False, False]
    assert [e.format for e in report.events] == [1, 1, 2, 2]
    # A withheld event still has to be the one anchored: a made-up hash in its place is caught on chain.
    bundle["events"][1]["hash"] = keccak256_hex("made up")
    report = verify_bundle(bundle, anvil.url)
    assert report.events[1].status == MISMATCH and report.events[1].reasons[0].startswith("chain:")
    assert report.events[2].status == MISMATCH  # its prev no longer links


def test_a_mixed_chain_in_clear_verifies_and_format1_texts_are_checked(anvil, make_v2_bundle):
    bundle = make_v2_bundle(3, fmt1_first=1)
    assert verify_bundle(bundle, anvil.url).ok
    bundle["events"][0]["disclosed"] = {}
    assert check_bundle_offline(bundle).events[0].reasons == [
        "disclosed: a format-1 event discloses its fields in its text, not beside it"]


def test_the_command_line_names_the_failing_field(anvil, make_v2_bundle, tmp_path):
    bundle = make_v2_bundle(2, show=("type", "amounts.face"))
    bundle["events"][0]["disclosed"]["amounts.face"]["value"] = "10000.01"
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    result = run_cli(str(path), "--rpc", anvil.url, "--max-block-range", "5")
    assert result.returncode == 1, result.stderr
    assert "event 1: MISMATCH" in result.stdout
    assert "field amounts.face: the disclosed value and salt do not open" in result.stdout
