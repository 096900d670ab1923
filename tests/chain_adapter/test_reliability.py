"""Anchoring end to end with real worker processes, Redis and Anvil: many keys, both batch-size paths,
a worker killed with SIGKILL in the middle of batches, and the node going away and coming back."""


import pytest

from chain_adapter.models import LIVE_TX_STATUSES, AnchorRecord, AnchorStatus, AnchorTransaction, TxStatus
from chain_adapter.tasks import sweep
from tests.chain_adapter.conftest import deploy, restart, stop_mid_run
from tests.chain_adapter.helpers import (
    all_confirmed,
    assert_anchored_exactly_once,
    assert_nonces_without_gaps,
    chains,
    enqueue,
    kill_with_a_batch_in_flight,
    mining_by_hand,
    wait_for,
)

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def confirmed(ids):
    return AnchorRecord.objects.filter(pk__in=ids, status=AnchorStatus.CONFIRMED).count()


def waiting_for_the_chain(ids) -> bool:
    """Every pending record of ``ids`` says it waits for the chain (the worker's run saw the node gone)."""
    pending = AnchorRecord.objects.filter(pk__in=ids, status=AnchorStatus.PENDING)
    return pending.exists() and not pending.exclude(last_error__startswith="Waiting for the chain").exists()


@pytest.mark.parametrize("batch_size", [1, 200])
def test_transitions_across_many_keys_are_all_anchored_by_the_worker(anvil, anchor_contract, anchoring_worker,
                                                                     batch_size):
    worker = anchoring_worker(ANCHOR_BATCH_SIZE=batch_size, ANCHOR_MAX_WAIT_SECONDS=1)
    links = chains(f"many-{batch_size}", keys=50, per_key=4)
    ids = enqueue(links, chunk=25)  # eight commits, each ringing the doorbell
    assert wait_for(all_confirmed(ids), timeout=120), f"not all anchored; see {worker.log}"
    assert_anchored_exactly_once(anvil, anchor_contract, links)
    assert_nonces_without_gaps(anvil)
    sizes = list(AnchorTransaction.objects.values_list("record_count", flat=True))
    assert sum(sizes) == 200 and not AnchorTransaction.objects.exclude(status=TxStatus.CONFIRMED).exists()
    if batch_size == 1:
        assert set(sizes) == {1}
    else:
        assert len(sizes) <= 8 and max(sizes) > 1


def test_a_worker_killed_mid_batch_leaves_every_event_anchored_exactly_once(anvil, anchor_contract,
                                                                            anchoring_worker):
    settings = {"ANCHOR_BATCH_SIZE": 10, "ANCHOR_MAX_WAIT_SECONDS": 0}
    links = chains("killed", keys=150, per_key=4)
    ids = enqueue(links, chunk=600)
    with mining_by_hand(anvil.url) as mine:  # the test mines, so each kill lands with a batch in flight
        for _round in range(3):
            worker = anchoring_worker(**settings)
            sweep.delay()  # what beat does every 15 s: the killed worker's task is not redelivered at once
            target = confirmed(ids) + 60
            kill_with_a_batch_in_flight(worker, anvil.url, mine, lambda t=target: confirmed(ids) >= t)
            assert confirmed(ids) < len(ids)
    worker = anchoring_worker(**settings)
    sweep.delay()
    assert wait_for(all_confirmed(ids), timeout=180), f"not all anchored after the kills; see {worker.log}"
    assert_anchored_exactly_once(anvil, anchor_contract, links)
    assert_nonces_without_gaps(anvil)
    assert not AnchorTransaction.objects.filter(status__in=[TxStatus.REVERTED, TxStatus.DROPPED]).exists()


def test_anchoring_waits_while_the_node_is_down_and_catches_up_when_it_returns(own_anvil, anchoring_worker):
    deployment = deploy()
    worker = anchoring_worker(ANCHOR_BATCH_SIZE=20, ANCHOR_MAX_WAIT_SECONDS=0)
    before = chains("before-outage", keys=20, per_key=3)
    ids_before = enqueue(before)
    assert wait_for(all_confirmed(ids_before), timeout=60), f"see {worker.log}"

    own_anvil.stop()  # SIGTERM: Anvil writes its state file
    during = chains("during-outage", keys=20, per_key=3)
    ids_during = enqueue(during, chunk=20)  # the writes commit while the chain is away
    wait_for(
        lambda: all("Waiting for the chain" in r.last_error for r in AnchorRecord.objects.filter(pk__in=ids_during)),
        timeout=30, what=f"the pending rows to say why they wait (see {worker.log})",
    )
    assert set(AnchorRecord.objects.filter(pk__in=ids_during).values_list("status", flat=True)) == {
        AnchorStatus.PENDING}

    restart(own_anvil)
    sweep.delay()
    assert wait_for(all_confirmed(ids_before + ids_during), timeout=90), f"no catch-up; see {worker.log}"
    assert_anchored_exactly_once(own_anvil, deployment, before + during)
    assert_nonces_without_gaps(own_anvil)


def test_anvil_stopped_in_the_middle_of_anchoring_and_restarted_from_its_state(own_anvil, anchoring_worker):
    deployment = deploy()
    worker = anchoring_worker(ANCHOR_BATCH_SIZE=10, ANCHOR_MAX_WAIT_SECONDS=0)
    links = chains("node-restart", keys=100, per_key=4)
    ids = enqueue(links, chunk=400)
    wait_for(lambda: confirmed(ids) >= 80, timeout=60, what=f"80 records anchored (see {worker.log})")
    stop_mid_run(own_anvil)
    assert confirmed(ids) < len(ids), "the node stopped too late to interrupt anchoring"
    # The worker notices (its run ends, the waiting rows say why); nothing is failed or given up meanwhile.
    wait_for(lambda: waiting_for_the_chain(ids), timeout=30, what=f"the worker to notice the outage ({worker.log})")
    stopped_at = confirmed(ids)
    assert set(AnchorRecord.objects.filter(pk__in=ids).values_list("status", flat=True)) <= {
        AnchorStatus.CONFIRMED, AnchorStatus.SENT, AnchorStatus.PENDING}
    assert not AnchorTransaction.objects.exclude(status__in=[*LIVE_TX_STATUSES, TxStatus.CONFIRMED]).exists()

    restart(own_anvil)
    sweep.delay()
    wait_for(all_confirmed(ids), timeout=120, what=f"the catch-up after the restart (see {worker.log})")
    assert confirmed(ids) > stopped_at
    assert_anchored_exactly_once(own_anvil, deployment, links)
    assert_nonces_without_gaps(own_anvil)
    assert not AnchorTransaction.objects.filter(status__in=[TxStatus.REVERTED, TxStatus.DROPPED]).exists()
