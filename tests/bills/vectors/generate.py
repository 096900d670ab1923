"""Generate the bundle-v2 test vector (``bundle-v2-example.json``) of docs/bundle-v2.md.

    .venv/bin/python -m tests.bills.vectors.generate > tests/bills/vectors/bundle-v2-example.json

Deterministic: the example's salts are derived from a label (real salts are 32 random bytes). It uses the
project's own builder (``bills.events``); ``tests/bills/test_bundle_vector.py`` checks the result with an
independent implementation and that this script still produces the committed file.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from eth_hash.auto import keccak

BILL_ID = "3f9c2d4e-8a7b-4c1d-9e2f-0a1b2c3d4e5f"
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CHAIN_ID = 31337
SUPPLIER, BUYER = "91440300MA5F000116", "91440300MA5F00033X"

EVENTS: list[dict[str, Any]] = [
    {"type": "create", "from": None, "to": "draft", "actor": SUPPLIER, "at": "2026-03-02T08:00:00.000000Z",
     "amounts": {"face": "10000.00"},
     "details": {"number": "BL-2026-000001", "creditor": SUPPLIER, "debtor": BUYER, "holder": SUPPLIER,
                 "currency": "CNY", "issue_date": "2026-03-02", "maturity": "2026-06-30",
                 "invoices": [{"invoice": "6b1f7a52-5d0e-4c43-9a53-2f8d1e0c9b77", "amount": "10000.00"}],
                 "reference": "PO 7731", "reason": ""}},
    {"type": "submit", "from": "draft", "to": "submitted", "actor": SUPPLIER, "at": "2026-03-02T09:30:00.000000Z",
     "amounts": {"face": "10000.00"}, "details": {"reason": ""}},
    {"type": "accept", "from": "submitted", "to": "accepted", "actor": BUYER, "at": "2026-03-03T02:15:00.500000Z",
     "amounts": {"face": "10000.00"}, "details": {"reason": "货物已验收 \"OK\""}},
]
# The public profile of these event types (bills.disclosure.FIELD_LEVELS): what the redacted bundle shows.
PUBLIC = {"type", "from", "to", "at", "amounts.face", "details.debtor", "details.currency", "details.maturity"}
PUBLIC_ACTOR = {"accept"}


def example_salt(seq: int, name: str) -> str:
    return "0x" + keccak(f"bundle-v2-example/{seq}/{name}".encode()).hex()


def build() -> dict[str, Any]:
    from bills.events import (
        ZERO_HASH,
        canonical_object_v2,
        canonical_text,
        event_hash,
        field_commitment,
    )
    from chain_adapter.hashing import record_key

    key = record_key(BILL_ID)
    prev = ZERO_HASH
    full_events, public_events, expected = [], [], []
    for seq, spec in enumerate(EVENTS, start=1):
        fields = {"bill": BILL_ID, "type": spec["type"], "from": spec["from"], "to": spec["to"],
                  "actor": spec["actor"], "at": spec["at"]}
        fields.update({f"amounts.{k}": v for k, v in spec["amounts"].items()})
        fields.update({f"details.{k}": v for k, v in spec["details"].items()})
        salts = {name: example_salt(seq, name) for name in fields}
        commitments = {name: field_commitment(name, salts[name], value) for name, value in fields.items()}
        text = canonical_text(canonical_object_v2(bill_key=key, seq=seq, commitments=commitments, prev=prev))
        digest = event_hash(text)
        disclosed = {name: {"value": fields[name], "salt": salts[name]} for name in sorted(fields)}
        shown = PUBLIC | ({"actor"} if spec["type"] in PUBLIC_ACTOR else set())
        base = {"seq": seq, "canonical": text, "hash": digest, "tx_hash": None, "block": None}
        full_events.append({**base, "disclosed": disclosed})
        public_events.append({**base, "disclosed": {n: d for n, d in disclosed.items() if n in shown}})
        expected.append({
            "seq": seq,
            "fields": [
                {"name": name, "value_jcs": canonical_text(fields[name]), "salt": salts[name],
                 "preimage": "0x" + (len(name.encode()).to_bytes(2, "big") + name.encode()
                                     + bytes.fromhex(salts[name][2:]) + canonical_text(fields[name]).encode()).hex(),
                 "commitment": commitments[name]}
                for name in sorted(fields)
            ],
            "canonical": text,
            "hash": digest,
        })
        prev = digest
    head = {"version": 2, "bill_key": key, "chain_id": CHAIN_ID, "contract": CONTRACT}
    return {
        "description": "docs/bundle-v2.md worked example: one bill, three format-2 events (create, submit, "
                       "accept). Salts are derived from a label for reproducibility; real salts are random.",
        "bill_id": BILL_ID,
        "bill_key": key,
        "bundle": {**head, "bill_id": BILL_ID, "profile": "regulator", "events": full_events},
        "public_bundle": {**head, "bill_id": None, "profile": "public", "events": public_events},
        "expected": expected,
        "head": prev,
    }


def main() -> None:
    import django

    django.setup()
    sys.stdout.write(json.dumps(build(), indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
