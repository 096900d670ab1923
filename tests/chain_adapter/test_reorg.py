"""Reorganizations deeper than ``ANCHOR_CONFIRMATIONS`` (``anvil_reorg``): the broadcaster re-checks the confirmed
transactions of the last ``ANCHOR_REORG_WINDOW_BLOCKS`` blocks at the start of each run; what left the chain
goes back to sent and is anchored again (the same bytes, its nonce free again) or placed afresh where it was
mined again, exactly once either way."""

import pytest

from chain_adapter import txmanager
from chain_adapter.devnet import rpc_call
from chain_adapter.models import AnchorRecord, AnchorStatus, AnchorTransaction, TxStatus
from tests.chain_adapter.conftest import deploy, restart
from tests.chain_adapter.helpers import (
    anchored_logs,
    assert_anchored_exactly_once,
    assert_nonces_without_gaps,
    chains,
    enqueue,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db, pytest.mark.usefixtures("rpc_outside_transactions")]


def test_transactions_lost_in_a_reorg_are_anchored_again_once(own_anvil, batch):
    deployment = deploy()
    batch(1)
    links = chains("reorg", keys=3, per_key=3)
    enqueue(links)
    assert txmanager.run_once().records_confirmed == 9
    last = list(AnchorTransaction.objects.order_by("-nonce")[:3])
    rpc_call(own_anvil.url, "anvil_reorg", [3, []])  # the last 3 blocks replaced by empty ones
    assert len(anchored_logs(own_anvil, deployment)) == 6
    # Nothing in the database changed yet: the records say confirmed.
    assert AnchorRecord.objects.filter(status=AnchorStatus.CONFIRMED).count() == 9

    report = txmanager.run_once()
    assert report.reorged == 3 and report.records_confirmed == 3
    for tx in last:
        again = AnchorTransaction.objects.get(pk=tx.pk)
        assert again.status == TxStatus.CONFIRMED and again.block_hash != tx.block_hash
        assert again.tx_hash == tx.tx_hash  # the same bytes, sent again
    assert_anchored_exactly_once(own_anvil, deployment, links)
    assert_nonces_without_gaps(own_anvil)
    assert txmanager.run_once().reorged == 0  # nothing more to take back


def test_a_transaction_mined_again_in_the_new_branch_is_placed_there(own_anvil, batch):
    deployment = deploy()
    batch(2)
    links = chains("reorg-kept", keys=2, per_key=2)
    enqueue(links)
    txmanager.run_once()
    txs = list(AnchorTransaction.objects.order_by("nonce"))
    assert len(txs) == 2
    # A reorg of depth 2 (both blocks) whose new branch holds both transactions again, in other blocks.
    rpc_call(own_anvil.url, "anvil_reorg", [2, [[txs[0].raw_tx, 0], [txs[1].raw_tx, 0]]])
    report = txmanager.run_once()
    assert report.reorged == 2 and report.transactions_sent == 0
    for tx in txs:
        again = AnchorTransaction.objects.get(pk=tx.pk)
        assert again.status == TxStatus.CONFIRMED and again.broadcast_count == 1  # placed, not sent again
        assert again.block_hash != tx.block_hash
    assert_anchored_exactly_once(own_anvil, deployment, links)
    assert_nonces_without_gaps(own_anvil)


def test_a_reorg_window_of_zero_turns_the_recheck_off(own_anvil, batch, settings):
    deploy()
    batch(1)
    settings.ANCHOR_REORG_WINDOW_BLOCKS = 0
    enqueue(chains("no-window", keys=1, per_key=2))
    txmanager.run_once()
    rpc_call(own_anvil.url, "anvil_reorg", [1, []])
    assert txmanager.run_once().reorged == 0
    assert AnchorRecord.objects.filter(status=AnchorStatus.CONFIRMED).count() == 2


def test_a_reset_devnet_is_not_taken_for_a_reorganization(own_anvil, batch):
    deploy()
    batch(1)
    enqueue(chains("reset-not-reorg", keys=1, per_key=2))
    txmanager.run_once()
    own_anvil.stop()
    assert own_anvil.state_file is not None
    own_anvil.state_file.unlink()  # a fresh chain: every block differs, and the contract is gone
    restart(own_anvil)
    assert txmanager.run_once().reorged == 0  # deploy_contract's business, not the broadcaster's
    assert set(AnchorTransaction.objects.values_list("status", flat=True)) == {TxStatus.CONFIRMED}
