"""Fault 2: Redis (the broker and the cache) restarted in the middle of a run, and separately flushed.

A redis-server of the scenario's own (``private_redis``: other test runs share 127.0.0.1:6379, never flush
that) carries the worker's queue. Halfway through the run it is restarted without persistence (the queued
doorbells are lost, and records are written while it is down: their doorbells fail), or FLUSHALLed. Then the
sweeper (``chain_adapter.sweep``, what beat runs every 15 s, called here directly) rings again until nothing
is left. Pass: every event anchored, none twice, nonces gapless, ``reconcile`` and ``ledger_check`` exit 0.
"""

from __future__ import annotations

import time

import pytest

from chain_adapter.tasks import sweep
from tests.chain_adapter.conftest import anchoring_worker  # noqa: F401  (fixture)
from tests.chain_adapter.helpers import chains, enqueue, wait_for
from tests.soak.conftest import (
    FULL,
    assert_reconcile_and_ledger_clean,
    bill_transitions,
    confirmed_count,
    event_hashes,
    exactly_once,
    outbox_state,
    report,
    size,
)

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True),
              pytest.mark.timeout(900 if FULL else 180),
              # A result of the old server, collected late, cannot unsubscribe from it: harmless.
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


def sweep_until_anchored(events: int, *, timeout: float, worker) -> int:  # type: ignore[no-untyped-def]
    """Call the sweeper (beat's task) until ``events`` records are confirmed; returns how many sweeps rang."""
    rung = 0
    deadline = time.monotonic() + timeout
    while confirmed_count() < events:
        assert time.monotonic() < deadline, f"not all anchored after {rung} sweeps: {outbox_state()}; {worker.log}"
        rung += 1 if sweep() else 0
        wait_for(lambda: confirmed_count() == events, timeout=3, interval=0.1)
    return rung


def test_redis_restarted_then_flushed_mid_run_loses_no_anchor(anvil, anchor_contract, anchoring_worker,  # noqa: F811
                                                              private_redis, settings):
    settings.ANCHOR_MAX_WAIT_SECONDS = 0  # the sweeper in this process rings for anything pending
    knobs = {"ANCHOR_BATCH_SIZE": 20, "ANCHOR_MAX_WAIT_SECONDS": 0, "REDIS_URL": private_redis.url}
    worker = anchoring_worker(**knobs)
    events = bill_transitions(size(50, 10))
    for fault in ("restart", "flushall"):
        started = time.monotonic()
        links = chains(f"soak-redis-{fault}", keys=size(1000, 40), per_key=5)
        half = len(links) // 2
        base = confirmed_count()
        enqueue(links[:half], chunk=50)
        wait_for(lambda b=base, h=half: confirmed_count() >= b + h // 2, timeout=300, interval=0.05,
                 what=f"a quarter anchored ({outbox_state()}; {worker.log})")
        if fault == "restart":
            private_redis.stop()
            enqueue(links[half:half + half // 2], chunk=50)  # committed while the broker is down: no doorbell
            time.sleep(1)
            private_redis.start()  # empty: the queue and every unacknowledged doorbell are gone
            enqueue(links[half + half // 2:], chunk=50)
        else:
            private_redis.flushall()
            enqueue(links[half:], chunk=50)
            private_redis.flushall()
        events += len(links)
        rung = sweep_until_anchored(events, timeout=600 if FULL else 120, worker=worker)
        survived = worker.process is not None and worker.process.poll() is None
        expected = event_hashes()
        figures = exactly_once(anvil.url, anchor_contract, expected)
        assert_reconcile_and_ledger_clean()
        report(f"Redis {fault} mid-run", runs=1, kills=0, events=events, logs=figures.logs,
               duplicates=figures.duplicates, unanchored=figures.missing, gaps=figures.nonce_gaps,
               sweeps_that_rang=rung, worker_survived=survived, seconds=round(time.monotonic() - started, 1))
        assert len(expected) == events and figures.logs == events
        assert figures.duplicates == 0 and figures.missing == 0 and figures.nonce_gaps == 0
    worker.stop()
