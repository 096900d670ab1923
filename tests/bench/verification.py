"""Verification speed (issue 12, item 5, first half): one bill's 20-event bundle, anchored on the node, checked
by the standalone verifier (``chain_adapter.verify.verify_bundle``) in process: offline checks, then the chain
id, the contract's code, the bill's ``Anchored`` logs and its head over JSON-RPC. Bar: p50 ≤ 100 ms.

The events are built by ``bills.events.build_event`` (format 1) and anchored by the transaction manager in
process (``txmanager.run_once``), so the bundle is the one a holder would download."""

from __future__ import annotations

import datetime as dt
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from bills.events import build_event
from chain_adapter import txmanager
from chain_adapter.hashing import ZERO_HASH, record_key
from chain_adapter.models import AnchorRecord, AnchorStatus
from chain_adapter.outbox import anchor_enqueue
from chain_adapter.selectors import deployment_current
from chain_adapter.verify import verify_bundle
from tests.bench.report import Report, percentile

VERIFY_P50_MS = 100.0
RUNS = {"full": 50, "quick": 20, "smoke": 3}


def anchored_bundle(events: int = 20) -> dict[str, Any]:
    """A version-1 bundle of a synthetic bill with ``events`` events, every one anchored and confirmed."""
    bill_id = str(uuid.uuid4())
    key = record_key(bill_id)
    prev, texts, ids = ZERO_HASH, [], []
    at = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    with transaction.atomic():
        for seq in range(1, events + 1):
            state = "listed" if seq % 2 else "accepted"
            built = build_event(
                bill_id=bill_id, bill_key=key, seq=seq, type="create" if seq == 1 else ("list" if seq % 2 else "unlist"),
                from_state=None if seq == 1 else ("accepted" if seq % 2 else "listed"), to_state=state,
                actor_code="91440300MA5F000110", occurred_at=at + dt.timedelta(hours=seq),
                amounts={"face": "10000.00"}, details={"reason": "", "rate": "0.036000"}, prev=prev, format=1,
            )
            ids.append(anchor_enqueue(key=key, prev_hash=prev, event_hash=built.hash).pk)
            texts.append(built)
            prev = built.hash
    deadline = time.monotonic() + 60
    while AnchorRecord.objects.filter(pk__in=ids, status=AnchorStatus.CONFIRMED).count() < len(ids):
        assert time.monotonic() < deadline, "the 20 events were not anchored within 60 s"
        txmanager.run_once(budget_seconds=20)
    records = {r.event_hash: r for r in AnchorRecord.objects.filter(pk__in=ids)}
    deployment = deployment_current(chain_id=settings.CHAIN_ID)
    assert deployment is not None
    return {
        "version": 1, "bill_id": bill_id, "bill_key": key, "chain_id": settings.CHAIN_ID,
        "contract": deployment.address,
        "events": [{"seq": i, "canonical": b.canonical, "hash": b.hash, "tx_hash": records[b.hash].tx_hash,
                    "block": records[b.hash].block_number} for i, b in enumerate(texts, start=1)],
    }


def verification_bench(mode: str, results_dir: Path | None = None) -> Report:
    report = Report("verification", quick=mode != "full", title=f"Bundle verification ({mode})")
    bundle = anchored_bundle(20)
    timings = []
    for _ in range(RUNS[mode]):
        started = time.perf_counter()
        result = verify_bundle(bundle, settings.ETH_RPC_URL)
        timings.append((time.perf_counter() - started) * 1000)
        assert result.ok, result
    report.add("verify one 20-event bundle p50 (in process, against the node)", statistics.median(timings), "ms",
               bar=VERIFY_P50_MS, sizes={"events": 20, "runs": len(timings)},
               raw={"timings_ms": [round(t, 2) for t in timings]})
    report.add("verify one 20-event bundle p95", percentile(timings, 95), "ms", sizes={"events": 20})
    report.add("verify one 20-event bundle, first call", timings[0], "ms", sizes={"events": 20})
    report.finish(results_dir)
    return report
