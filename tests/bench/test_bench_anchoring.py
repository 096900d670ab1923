"""Anchoring throughput: the same 5,000 synthetic events (1,000 keys x 5, interleaved) anchored end to end
by a real Celery worker with batch size 1 (one transaction per event: the baseline) and 200, on an Anvil of
its own in automine mode (a block per transaction, so batch 1 is not held back by a block time). Prints
events anchored per second (median of the runs: BENCH_RUNS_1, default 1, as one run takes minutes, and
BENCH_RUNS_200, default 3), the rate per 1,000 events (Anvil slows down as its chain grows), gas per anchored
event, and the machine. The clock starts when the 5,000 outbox rows commit (one transaction, one doorbell)
and stops when the last one is confirmed.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import transaction
from django.db.models import Sum

from chain_adapter.devnet import Anvil, anvil_binary
from chain_adapter.models import AnchorRecord, AnchorStatus, AnchorTransaction
from chain_adapter.outbox import anchor_enqueue
from chain_adapter.services import contract_deploy
from tests.bench.report import Report, bench_mode
from tests.chain_adapter.helpers import anchored_logs, chains, wait_for
from tests.conftest import WorkerProcess

pytestmark = [pytest.mark.bench, pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

KEYS, PER_KEY = (400 if bench_mode() == "full" else 40), 5  # 2,000 events (quick: 200): batch 1 takes ~20/s
EVENTS = KEYS * PER_KEY
RUNS = {1: int(os.environ.get("BENCH_RUNS_1", "1")), 200: int(os.environ.get("BENCH_RUNS_200", "3"))}


@dataclass
class Run:
    seconds: float
    transactions: int
    gas: int
    marks: list[float]  # seconds at which each further 1,000 events were confirmed

    @property
    def rate(self) -> float:
        return EVENTS / self.seconds


@pytest.fixture
def bench_anvil(settings, anvil):  # type: ignore[no-untyped-def]
    node = Anvil(chain_id=31337).start()  # automine: a block per transaction
    settings.ETH_RPC_URL = node.url
    yield node
    node.stop()


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    anvil = subprocess.run([str(anvil_binary()), "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}, {anvil.strip()}"


def anchor_once(node: Anvil, links: list[tuple[str, str, str]], batch_size: int) -> Run:
    AnchorRecord.objects.all().delete()
    AnchorTransaction.objects.all().delete()
    deployment = contract_deploy(force_new=True).deployment  # empty heads: the same events anchor again
    worker = WorkerProcess(extra_env={"ANCHOR_BATCH_SIZE": str(batch_size), "ANCHOR_MAX_WAIT_SECONDS": "0"},
                           concurrency=2).start()
    try:
        worker.wait_ready()
        with transaction.atomic():
            for key, prev, event in links:
                anchor_enqueue(key=key, prev_hash=prev, event_hash=event)
        started = time.monotonic()
        marks: list[float] = []

        def progress() -> bool:
            count = AnchorRecord.objects.filter(status=AnchorStatus.CONFIRMED).count()
            while len(marks) < count // 1000:
                marks.append(time.monotonic() - started)
            return count == EVENTS

        done = wait_for(progress, timeout=3000, interval=0.05)
        seconds = time.monotonic() - started
        assert done, f"not all events anchored; see {worker.log}"
    finally:
        worker.stop()
    assert len(anchored_logs(node, deployment)) == EVENTS
    gas = AnchorTransaction.objects.aggregate(g=Sum("gas_used"))["g"]
    return Run(seconds=seconds, transactions=AnchorTransaction.objects.count(), gas=int(gas), marks=marks)


@pytest.mark.timeout(6000)
def test_anchoring_throughput_batch_1_against_batch_200(bench_anvil):
    links = chains("bench", keys=KEYS, per_key=PER_KEY)
    results: dict[int, list[Run]] = {}
    for batch_size in (1, 200):
        results[batch_size] = [anchor_once(bench_anvil, links, batch_size) for _ in range(RUNS[batch_size])]

    lines = [
        "",
        f"Anchoring benchmark: {EVENTS:,} events ({KEYS:,} keys x {PER_KEY}), Anvil automine, one Celery worker "
        f"(prefork, 2 processes), PostgreSQL and Redis on loopback",
        f"machine: {machine()}",
        f"{'batch size':>10} | {'runs':>4} | {'events/s (median)':>17} | {'min - max':>19} | {'seconds':>8} | "
        f"{'transactions':>12} | {'gas/event':>9} | events/s per 1,000 (median run)",
    ]
    for batch_size, runs in results.items():
        rates = [r.rate for r in runs]
        median = statistics.median(rates)
        seconds = statistics.median(r.seconds for r in runs)
        middle = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]
        steps = [1000 / max(b - a, 1e-3) for a, b in zip([0.0, *middle.marks], middle.marks, strict=False)]
        lines.append(
            f"{batch_size:>10} | {len(runs):>4} | {median:>17,.1f} | {min(rates):>8,.1f} - {max(rates):>8,.1f} | "
            f"{seconds:>8.2f} | {runs[0].transactions:>12,} | {runs[0].gas / EVENTS:>9,.0f} | "
            + ", ".join(f"{x:,.0f}" for x in steps)
        )
    speedup = statistics.median(r.rate for r in results[200]) / statistics.median(r.rate for r in results[1])
    lines.append(f"batch 200 anchors {speedup:.1f}x the events per second of batch 1, at "
                 f"{results[200][0].gas / results[1][0].gas:.0%} of its gas")
    print("\n".join(lines))
    report = Report("anchoring-automine", quick=bench_mode() != "full",
                    title=f"Anchoring on Anvil automine, {EVENTS:,} events, batch 1 against batch 200")
    for batch_size, runs in results.items():
        report.add(f"batch {batch_size}: events anchored per second (median)",
                   statistics.median(r.rate for r in runs), "events/s", better="higher",
                   sizes={"events": EVENTS, "runs": len(runs)},
                   raw={"rates": [r.rate for r in runs], "seconds": [r.seconds for r in runs]})
        report.add(f"batch {batch_size}: gas per event", runs[0].gas / EVENTS, "gas", sizes={"events": EVENTS})
    report.add("batch 200 ÷ batch 1", speedup, "x", bar=5.0, better="higher")
    report.finish()
    assert results[1][0].transactions == EVENTS and results[200][0].transactions == -(-EVENTS // 200)
    assert speedup > 1
