"""Fault 3: the chain goes away and comes back, then reorganizes.

Anvil (a node of the test's own with a state file) is stopped for 30 s (3 s in the fast slice) in the middle of
a run and restarted from its state; records keep being written meanwhile. Then, everything confirmed at
``ANCHOR_CONFIRMATIONS=1``, ``anvil_reorg`` replaces the last 3 blocks with empty ones: the events they held
are gone from the chain. The next broadcaster run (rung by the next transition) finds the replaced blocks
(``Tracker.recheck_confirmed``) and anchors those events again. Pass: after each fault every event has exactly
one ``Anchored`` log, nonces gapless, ``reconcile`` and ``ledger_check`` exit 0.
"""

from __future__ import annotations

import time

import pytest

from chain_adapter.devnet import rpc_call
from chain_adapter.models import AnchorTransaction, TxStatus
from chain_adapter.tasks import sweep
from tests.chain_adapter.conftest import anchoring_worker, deploy, own_anvil, restart, stop_mid_run  # noqa: F401  (fixtures)
from tests.chain_adapter.helpers import chains, client_for, enqueue, wait_for
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
              pytest.mark.timeout(900 if FULL else 180)]

REORG_DEPTH = 3


def sweep_until_anchored(events: int, *, timeout: float, worker) -> int:  # type: ignore[no-untyped-def]
    """Call the sweeper (beat's task) until ``events`` records are confirmed; returns how many sweeps."""
    sweeps = 0
    deadline = time.monotonic() + timeout
    while confirmed_count() < events:
        assert time.monotonic() < deadline, f"not all anchored after {sweeps} sweeps: {outbox_state()}; {worker.log}"
        sweeps += 1
        sweep()
        wait_for(lambda: confirmed_count() == events, timeout=3, interval=0.1)
    return sweeps


def test_anvil_stopped_restarted_from_state_then_reorganized(own_anvil, anchoring_worker, settings):  # noqa: F811
    started = time.monotonic()
    settings.ANCHOR_MAX_WAIT_SECONDS = 0  # the sweeper in this process rings for anything pending
    settings.ANCHOR_CONFIRMATIONS = 1
    deployment = deploy()
    worker = anchoring_worker(ANCHOR_BATCH_SIZE=10, ANCHOR_MAX_WAIT_SECONDS=0, ANCHOR_CONFIRMATIONS=1)
    bill_events = bill_transitions(size(50, 10))
    links = chains("soak-anvil", keys=size(800, 40), per_key=5)
    half = len(links) // 2
    enqueue(links[:half], chunk=50)
    wait_for(lambda: confirmed_count() >= half // 2, timeout=300, interval=0.05,
             what=f"a quarter anchored ({outbox_state()}; {worker.log})")

    # The node away for OUTAGE seconds, records written meanwhile.
    outage = size(30, 3)
    stop_mid_run(own_anvil)  # SIGTERM: Anvil writes its state file
    stopped_at, down_since = confirmed_count(), time.monotonic()
    enqueue(links[half:], chunk=50)
    time.sleep(max(0.0, outage - (time.monotonic() - down_since)))
    downtime = time.monotonic() - down_since
    restart(own_anvil)
    events = bill_events + len(links)
    sweeps = sweep_until_anchored(events, timeout=600 if FULL else 120, worker=worker)
    outage_figures = exactly_once(own_anvil.url, deployment, event_hashes())
    assert_reconcile_and_ledger_clean()
    report("Anvil stopped and restarted from its state", runs=1, kills=0, events=events,
           anchored_before_stop=stopped_at, downtime_s=round(downtime, 1), sweeps=sweeps,
           logs=outage_figures.logs, duplicates=outage_figures.duplicates, missing=outage_figures.missing,
           gaps=outage_figures.nonce_gaps, seconds=round(time.monotonic() - started, 1))
    assert outage_figures.logs == events and outage_figures.duplicates == 0 and outage_figures.missing == 0
    assert outage_figures.nonce_gaps == 0

    # A reorganization deeper than ANCHOR_CONFIRMATIONS, of confirmed anchors.
    reorg_started = time.monotonic()
    chain = client_for(own_anvil.url)
    tip = chain.block_number()
    lost = {tx.pk: tx.block_hash for tx in AnchorTransaction.objects.filter(
        deployment=deployment, status=TxStatus.CONFIRMED, block_number__gt=tip - REORG_DEPTH)}
    lost_events = sum(AnchorTransaction.objects.filter(pk__in=list(lost)).values_list("record_count", flat=True))
    assert lost and lost_events > 0
    rpc_call(own_anvil.url, "anvil_reorg", [REORG_DEPTH, []])
    after_reorg = exactly_once(own_anvil.url, deployment, event_hashes(), settled=False)
    assert after_reorg.missing == lost_events, "the reorganization removed no anchor"
    assert confirmed_count() == events  # the database does not know yet

    more = bill_transitions(1)  # the next transition rings the doorbell; the run re-checks recent blocks
    events += more
    sweeps = sweep_until_anchored(events, timeout=300 if FULL else 120, worker=worker)
    worker.stop()
    moved = AnchorTransaction.objects.filter(pk__in=list(lost))
    figures = exactly_once(own_anvil.url, deployment, event_hashes())
    assert_reconcile_and_ledger_clean()
    report("reorg of confirmed anchors", depth=REORG_DEPTH, confirmations=1, runs=1, kills=0, events=events,
           lost_transactions=len(lost), lost_events=lost_events, missing_after_reorg=after_reorg.missing,
           re_anchored=sum(1 for tx in moved if tx.status == TxStatus.CONFIRMED and tx.block_hash != lost[tx.pk]),
           logs=figures.logs, duplicates=figures.duplicates, missing=figures.missing, gaps=figures.nonce_gaps,
           sweeps=sweeps, seconds=round(time.monotonic() - reorg_started, 1))
    assert all(tx.status == TxStatus.CONFIRMED and tx.block_hash != lost[tx.pk] for tx in moved)
    assert figures.logs == events and figures.duplicates == 0 and figures.missing == 0
    assert figures.nonce_gaps == 0
