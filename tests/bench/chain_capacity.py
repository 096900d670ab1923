"""Anchoring as the platform runs it (issue 12, items 1, 2 and 6): Anvil with one-second blocks and its default
block gas limit, and ``make run``'s worker (prefork, 2 processes, make run's anchoring settings
``MAKE_RUN_ANCHORING``: senders, batch size, in-flight limit), on a node of the benchmark's own.

1. Throughput: ``keys`` × 5 linked events (interleaved, as bills' transitions arrive) committed to the outbox
   in one transaction; the clock runs from the commit to the last confirmation. Median of ``runs``. Gas per
   event is split into a bill's first event and later ones by least squares over the transactions
   (gas = first·n_first + later·n_later); the chain's capacity for the mix is block gas limit ÷ average
   gas per event ÷ block time. The batch-size-1 path runs on the same kind of slice for ``batch1_seconds``
   (at one block a second it cannot finish 5,000 events in a benchmark's time): its rate is what it confirmed
   in that window.
2. Latency: a steady offered load (one transaction per transition, each ringing the doorbell, as the services
   do) for ``latency_seconds``; commit → confirmed (the worker's ``confirmed_at``), p50 and p95.
6. Memory: the worker processes' RSS after the first 10 % of the throughput run's events and at its end.

Scaling out: the same 100,000 events with ``ANCHOR_SENDERS`` = 1, 2 and 4 anchor keys (one broadcaster each, a
thread per sender in the doorbell task, every bill's key assigned to one sender), one run each, at the tuned
batch size and in-flight limit.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum

from chain_adapter.devnet import DEV_ACCOUNTS, Anvil
from chain_adapter.hashing import ZERO_HASH
from chain_adapter.models import AnchorRecord, AnchorStatus, AnchorTransaction
from chain_adapter.outbox import anchor_enqueue, ring_doorbell_on_commit
from chain_adapter.services import contract_deploy
from finance_portal.settings.anchor_keys import MAKE_RUN_ANCHORING
from finance_portal.settings.database import PREPARE_THRESHOLD
from tests.bench.report import Report, load_average, percentile
from tests.chain_adapter.helpers import chains
from tests.conftest import WorkerProcess

CAPACITY_SHARE, MIN_EVENTS_PER_S, BATCH1_FACTOR = 0.8, 1500.0, 5.0
# make run's defaults cap a one-second block at batch size × in-flight events (50 × 8 = 400); the same worker
# with these two settings changed (environment only, no code) shows what the defaults leave on the table.
TUNED_BATCH, TUNED_IN_FLIGHT = 200, 16
LATENCY_P50_S, LATENCY_P95_S = 1.5, 3.0


@dataclass(frozen=True)
class Sizes:
    keys: int
    per_key: int
    runs: int
    batch1_seconds: float
    latency_rate: int
    latency_seconds: int
    senders: tuple[int, ...] = (1, 2, 4)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


SIZES = {
    # BENCH_CAPACITY_RUNS=1 cuts make bench by two 100,000-event runs.
    "full": Sizes(keys=_env_int("BENCH_CAPACITY_BILLS", 20_000), per_key=5, runs=_env_int("BENCH_CAPACITY_RUNS", 3),
                  batch1_seconds=60, latency_rate=100, latency_seconds=60),
    "quick": Sizes(keys=_env_int("BENCH_CAPACITY_BILLS", 500), per_key=5, runs=1, batch1_seconds=5, latency_rate=100,
                   latency_seconds=8),
    "smoke": Sizes(keys=20, per_key=5, runs=1, batch1_seconds=3, latency_rate=20, latency_seconds=2, senders=(2,)),
}


@dataclass
class Run:
    events: int
    confirmed: int
    seconds: float
    transactions: int
    gas: int
    rss_early: int = 0
    rss_end: int = 0
    load: float = 0.0  # the 1-minute load average when the run ended
    per_tx: list[tuple[int, int, int]] = field(default_factory=list)  # (first events, later events, gas)

    @property
    def rate(self) -> float:
        return self.confirmed / self.seconds


def rpc(url: str, method: str, params: list[object]) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310 (loopback node)
        return json.loads(response.read())["result"]


def block_gas_limit(url: str) -> int:
    block = rpc(url, "eth_getBlockByNumber", ["latest", False])
    assert isinstance(block, dict)
    return int(block["gasLimit"], 16)


def worker_rss(worker: WorkerProcess) -> int:
    """Resident memory of the worker's processes (the main process and its pool), bytes."""
    assert worker.process is not None
    main = psutil.Process(worker.process.pid)
    return sum(p.memory_info().rss for p in [main, *main.children(recursive=True)])


def _reset(senders: int = 1) -> None:
    """Empty the outbox and deploy a new contract (empty heads: the same synthetic events anchor again), with
    ``senders`` anchor senders registered (Anvil's next development accounts, as development settings use)."""
    AnchorRecord.objects.all().delete()
    AnchorTransaction.objects.all().delete()
    with connection.cursor() as cursor:  # every run starts from clean tables, not from the last run's dead rows
        cursor.execute(f"VACUUM ANALYZE {AnchorRecord._meta.db_table}, {AnchorTransaction._meta.db_table}")
    settings.ANCHOR_EXTRA_PRIVATE_KEYS = [key for _address, key in DEV_ACCOUNTS[1:senders]]
    try:
        contract_deploy(force_new=True)
    finally:
        settings.ANCHOR_EXTRA_PRIVATE_KEYS = []


def _worker(extra: dict[str, str] | None = None) -> WorkerProcess:
    """A worker as make run starts it: production's statement-preparation threshold (the suite's is 1)."""
    env = {"DATABASE_PREPARE_THRESHOLD": str(PREPARE_THRESHOLD), **(extra or {})}
    worker = WorkerProcess(extra_env=env, concurrency=2).start()
    worker.wait_ready(timeout=60)
    return worker


def make_run_profile() -> dict[str, str]:
    """make run's anchoring settings (``MAKE_RUN_ANCHORING``, development settings' defaults)."""
    return dict(MAKE_RUN_ANCHORING)


def throughput_run(links: list[tuple[str, str, str]], *, batch_size: int | None, limit: float | None = None,
                   in_flight: int | None = None, senders: int = 1) -> Run:
    """Commit ``links`` at once, let the worker anchor them with ``senders`` anchor keys, and time it (stop after
    ``limit`` s if given). ``batch_size=None``: make run's settings, whatever ``in_flight`` and ``senders`` say."""
    if batch_size is None:
        extra = make_run_profile()
        senders = int(extra["ANCHOR_SENDERS"])
    else:
        extra = {"ANCHOR_BATCH_SIZE": str(batch_size), "ANCHOR_SENDERS": str(senders)}
        if in_flight is not None:
            extra["ANCHOR_MAX_IN_FLIGHT"] = str(in_flight)
    _reset(senders)
    worker = _worker(extra)
    total = len(links)
    try:
        with transaction.atomic():
            AnchorRecord.objects.bulk_create(
                [AnchorRecord(key=k, prev_hash=p, event_hash=e) for k, p, e in links], batch_size=5000)
            ring_doorbell_on_commit()
        started = time.monotonic()
        rss_early, confirmed = 0, 0
        while True:
            confirmed = AnchorRecord.objects.filter(status=AnchorStatus.CONFIRMED).count()
            if not rss_early and confirmed >= total // 10:
                rss_early = worker_rss(worker)
            elapsed = time.monotonic() - started
            if confirmed == total or (limit is not None and elapsed >= limit):
                break
            assert elapsed < 3000, f"anchoring stalled at {confirmed} of {total}; see {worker.log}"
            time.sleep(0.2)
        seconds = time.monotonic() - started
        rss_end = worker_rss(worker)
    finally:
        worker.stop()
    per_tx = [
        (row["first"], row["later"], row["gas_used"])
        for row in AnchorTransaction.objects.filter(gas_used__isnull=False).annotate(
            first=Count("records", filter=Q(records__prev_hash=ZERO_HASH)),
            later=Count("records", filter=~Q(records__prev_hash=ZERO_HASH)),
        ).values("first", "later", "gas_used")
    ]
    gas = AnchorTransaction.objects.aggregate(g=Sum("gas_used"))["g"] or 0
    return Run(events=total, confirmed=confirmed, seconds=seconds, transactions=AnchorTransaction.objects.count(),
               gas=int(gas), rss_early=rss_early, rss_end=rss_end, per_tx=per_tx, load=load_average())


def gas_split(per_tx: list[tuple[int, int, int]]) -> tuple[float, float]:
    """Least squares of gas = a·first + b·later over the transactions (a transaction's own cost is shared
    among its events): (a, b). NaN when the transactions do not tell them apart."""
    sff = sum(f * f for f, _, _ in per_tx)
    sll = sum(lt * lt for _, lt, _ in per_tx)
    sfl = sum(f * lt for f, lt, _ in per_tx)
    sfg = sum(f * g for f, _, g in per_tx)
    slg = sum(lt * g for _, lt, g in per_tx)
    det = sff * sll - sfl * sfl
    if det == 0:
        return float("nan"), float("nan")
    return (sfg * sll - slg * sfl) / det, (slg * sff - sfg * sfl) / det


def latency_run(sizes: Sizes) -> tuple[list[float], float]:
    """Offer ``latency_rate`` transitions a second for ``latency_seconds``; return the commit → confirmed
    latencies (s) and the rate actually offered."""
    profile = make_run_profile()
    _reset(int(profile["ANCHOR_SENDERS"]))
    worker = _worker(profile)
    total = sizes.latency_rate * sizes.latency_seconds
    links = chains("latency", keys=max(total // 5, 1), per_key=5)[:total]
    committed: dict[int, float] = {}
    try:
        started = time.time()
        for i, (key, prev, event) in enumerate(links):
            due = started + i / sizes.latency_rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            with transaction.atomic():
                record = anchor_enqueue(key=key, prev_hash=prev, event_hash=event)
            committed[record.pk] = time.time()
        offered = total / (time.time() - started)
        deadline = time.monotonic() + 300
        while AnchorRecord.objects.filter(status=AnchorStatus.CONFIRMED).count() < total:
            assert time.monotonic() < deadline, f"latency run: not all confirmed; see {worker.log}"
            time.sleep(0.2)
    finally:
        worker.stop()
    latencies = [
        r.confirmed_at.timestamp() - committed[r.pk]
        for r in AnchorRecord.objects.filter(pk__in=committed).only("id", "confirmed_at")
        if r.confirmed_at is not None
    ]
    return latencies, offered


def chain_capacity_bench(mode: str, results_dir: Path | None = None) -> Report:
    sizes = SIZES[mode]
    report = Report("anchoring-blocktime", quick=mode != "full",
                    title=f"Anchoring at 1-s blocks, make run's worker ({mode})")
    node = Anvil(chain_id=31337, block_time=1).start()
    previous = settings.ETH_RPC_URL
    settings.ETH_RPC_URL = node.url
    try:
        gas_limit = block_gas_limit(node.url)
        links = chains("cap", keys=sizes.keys, per_key=sizes.per_key)
        runs = [throughput_run(links, batch_size=None) for _ in range(sizes.runs)]
        scaled = {n: throughput_run(links, batch_size=TUNED_BATCH, in_flight=TUNED_IN_FLIGHT, senders=n)
                  for n in sizes.senders}
        batch1 = throughput_run(chains("one", keys=1000, per_key=5), batch_size=1, limit=sizes.batch1_seconds)
        latencies, offered = latency_run(sizes)
    finally:
        settings.ETH_RPC_URL = previous
        node.stop()

    events = len(links)
    rate = statistics.median(r.rate for r in runs)
    middle = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]
    gas_per_event = middle.gas / middle.confirmed
    first, later = gas_split([t for r in runs for t in r.per_tx])
    capacity = gas_limit / gas_per_event / 1.0
    size = {"events": events, "bills": sizes.keys, "runs": len(runs), **make_run_profile()}
    report.add("events anchored per second (median)", rate, "events/s", bar=MIN_EVENTS_PER_S, better="higher",
               sizes=size, raw={"rates": [r.rate for r in runs], "seconds": [r.seconds for r in runs],
                                "transactions": [r.transactions for r in runs], "loads": [r.load for r in runs],
                                "batch1_load": batch1.load})
    report.add("share of the chain's capacity for this mix", rate / capacity, "ratio", bar=CAPACITY_SHARE,
               better="higher", sizes=size,
               note=f"capacity {capacity:,.0f} events/s = {gas_limit:,} gas/block ÷ {gas_per_event:,.0f} gas/event ÷ 1 s")
    report.add("gas per event (mix)", gas_per_event, "gas", sizes=size)
    report.add("gas per event: a bill's first event", first, "gas", sizes=size)
    report.add("gas per event: later events", later, "gas", sizes=size)
    report.add("transactions per run", middle.transactions, "tx", sizes=size)
    for n, run in scaled.items():
        run_gas = run.gas / max(run.confirmed, 1)
        report.add(f"events/s with {n} anchor key{'s' if n > 1 else ''} (ANCHOR_SENDERS={n}, batch {TUNED_BATCH}, "
                   f"{TUNED_IN_FLIGHT} in flight each, 1 run)", run.rate, "events/s", bar=MIN_EVENTS_PER_S,
                   better="higher", sizes={"events": events, "senders": n},
                   raw={"seconds": run.seconds, "transactions": run.transactions, "gas": run.gas, "load": run.load},
                   note=f"{run.rate / (gas_limit / run_gas):.0%} of capacity at its {run_gas:,.0f} gas/event")
    report.add("batch size 1: events anchored per second", batch1.rate, "events/s", sizes={"window_s": batch1.seconds},
               raw={"confirmed": batch1.confirmed, "transactions": batch1.transactions},
               note=f"{batch1.confirmed:,} confirmed in a {batch1.seconds:.0f} s window of a 5,000-event slice")
    report.add("batched ÷ batch size 1", rate / batch1.rate if batch1.rate else float("nan"), "x", bar=BATCH1_FACTOR,
               better="higher")
    report.add("latency commit → confirmed p50", percentile(latencies, 50), "s", bar=LATENCY_P50_S,
               sizes={"offered_per_s": sizes.latency_rate, "seconds": sizes.latency_seconds},
               raw={"latencies_s": [round(x, 3) for x in latencies]},
               note=f"offered {offered:,.1f} transitions/s")
    report.add("latency commit → confirmed p95", percentile(latencies, 95), "s", bar=LATENCY_P95_S,
               sizes={"offered_per_s": sizes.latency_rate, "seconds": sizes.latency_seconds})
    report.add("worker RSS after the first 10 % of events", middle.rss_early / 2**20, "MiB", sizes=size)
    report.add("worker RSS at the end ÷ after 10 %", middle.rss_end / max(middle.rss_early, 1), "x", bar=1.2,
               sizes=size, raw={"rss_early": middle.rss_early, "rss_end": middle.rss_end})
    report.finish(results_dir)
    return report
