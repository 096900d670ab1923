"""Fee bumps on a real Anvil with mining under the test's control: a transaction priced below a risen base
fee stays pending, is re-signed after ``ANCHOR_FEE_BUMP_AFTER_SECONDS`` with the same nonce and payload and
higher fees (stored before it is broadcast), and whichever version is mined counts. Every Anchored log is
counted: no record is anchored twice."""

import pytest

from chain_adapter import txmanager
from chain_adapter.contract import payload_of
from chain_adapter.devnet import DEV_ACCOUNTS, rpc_call
from chain_adapter.errors import TransientChainError, Underpriced
from chain_adapter.models import AnchorRecord, AnchorStatus, AnchorTransaction, TxStatus
from tests.chain_adapter.helpers import (
    BroadcastDrops,
    NoRpcInTransaction,
    anchored_logs,
    assert_anchored_exactly_once,
    assert_nonces_without_gaps,
    chains,
    client_for,
    enqueue,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db, pytest.mark.usefixtures("rpc_outside_transactions")]

BUMP_AFTER = 0.3


class StoredBeforeBroadcast(NoRpcInTransaction):
    """Fails the test when it broadcasts bytes that are not stored in the database yet."""

    def broadcast(self, raw: str) -> None:
        assert AnchorTransaction.objects.filter(raw_tx=raw).exists(), "broadcast before it was stored"
        super().broadcast(raw)


@pytest.fixture
def manual_mining(anvil, batch, settings):  # type: ignore[no-untyped-def]
    """Anvil mines only on ``evm_mine``; automining is restored at the end (the node is shared)."""
    batch(10)
    settings.ANCHOR_FEE_BUMP_AFTER_SECONDS = BUMP_AFTER
    rpc_call(anvil.url, "evm_setAutomine", [False])
    yield
    rpc_call(anvil.url, "evm_setAutomine", [True])
    rpc_call(anvil.url, "evm_mine")


def priced_out(anvil, tx: AnchorTransaction) -> None:  # type: ignore[no-untyped-def]
    """Raise the base fee above what ``tx`` offers and mine blocks without it: it stays unmined (Anvil even
    drops it from its pool, and refuses its bytes as underpriced), its nonce unused."""
    assert_pending(anvil, tx.tx_hash)
    rpc_call(anvil.url, "anvil_setNextBlockBaseFeePerGas", [hex(tx.max_fee_per_gas * 3)])
    rpc_call(anvil.url, "evm_mine")
    rpc_call(anvil.url, "evm_mine")
    node = client_for(anvil.url)
    assert node.receipt(tx.tx_hash) is None and node.nonce("latest") == tx.nonce
    assert int(node.latest_block()["baseFeePerGas"]) > tx.max_fee_per_gas
    with pytest.raises(Underpriced):
        node.broadcast(tx.raw_tx)


def assert_pending(anvil, tx_hash: str) -> None:  # type: ignore[no-untyped-def]
    """The node holds ``tx_hash`` in its pool, not in a block."""
    found = rpc_call(anvil.url, "eth_getTransactionByHash", [tx_hash])
    assert isinstance(found, dict) and found["blockNumber"] is None, found


def test_a_transaction_below_a_risen_base_fee_is_bumped_and_the_new_version_mined(anvil, anchor_contract,
                                                                                  manual_mining):
    links = chains("bump", keys=3, per_key=2)
    enqueue(links)
    node = client_for(anvil.url)
    report = txmanager.run_once(budget_seconds=BUMP_AFTER * 2)
    assert report.work_left and report.transactions_sent == 1 and report.fee_bumps == 0  # priced right
    first = AnchorTransaction.objects.get()
    assert first.status == TxStatus.SENT and first.record_count == 6
    priced_out(anvil, first)

    client = StoredBeforeBroadcast(rpc_url=anvil.url, chain_id=31337, private_key=DEV_ACCOUNTS[0][1])
    report = txmanager.run_once(client=client, budget_seconds=BUMP_AFTER * 3)
    assert report.fee_bumps == 1 and report.work_left
    first.refresh_from_db()
    bumped = AnchorTransaction.objects.get(replaces=first)
    assert first.status == TxStatus.REPLACED and bumped.status == TxStatus.SENT
    assert bumped.nonce == first.nonce and bumped.record_count == first.record_count
    old, new = payload_of(first.raw_tx), payload_of(bumped.raw_tx)
    assert (new.to, new.data, new.value, new.gas) == (old.to, old.data, old.value, old.gas)
    assert bumped.max_fee_per_gas * 10 >= first.max_fee_per_gas * 11
    assert bumped.max_priority_fee_per_gas * 10 >= first.max_priority_fee_per_gas * 11
    assert bumped.max_fee_per_gas > int(node.latest_block()["baseFeePerGas"])
    assert set(AnchorRecord.objects.values_list("status", "anchor_tx")) == {(AnchorStatus.SENT, bumped.pk)}
    assert node.nonce("latest") == first.nonce  # not mined yet: the new version waits in the pool
    assert_pending(anvil, bumped.tx_hash)

    rpc_call(anvil.url, "evm_mine")
    assert node.receipt(bumped.tx_hash).status == 1 and node.receipt(first.tx_hash) is None
    assert node.nonce("latest") == first.nonce + 1
    txmanager.run_once(budget_seconds=5)
    bumped.refresh_from_db()
    assert bumped.status == TxStatus.CONFIRMED
    assert set(AnchorRecord.objects.values_list("tx_hash", flat=True)) == {bumped.tx_hash}
    assert len(anchored_logs(anvil, anchor_contract)) == len(links)
    assert_anchored_exactly_once(anvil, anchor_contract, links)
    assert_nonces_without_gaps(anvil)


def test_when_the_old_version_is_mined_after_all_it_is_recognised(anvil, anchor_contract, manual_mining):
    links = chains("bump-old", keys=2, per_key=2)
    enqueue(links)
    txmanager.run_once(budget_seconds=BUMP_AFTER * 2)
    first = AnchorTransaction.objects.get()
    priced_out(anvil, first)
    # The bump is stored, but its broadcast is lost (the worker dies before the node gets it).
    with pytest.raises(TransientChainError):
        txmanager.run_once(client=BroadcastDrops(anvil.url, delivered=False, spare=[first.raw_tx]), budget_seconds=5)
    bumped = AnchorTransaction.objects.get(replaces=first)
    assert bumped.status == TxStatus.SIGNED and first.nonce == bumped.nonce

    # The base fee falls back, and a peer that still held the old bytes gets them mined.
    rpc_call(anvil.url, "anvil_setNextBlockBaseFeePerGas", [hex(1)])
    node = client_for(anvil.url)
    node.broadcast(first.raw_tx)
    rpc_call(anvil.url, "evm_mine")
    assert node.receipt(first.tx_hash).status == 1 and node.nonce("latest") == first.nonce + 1
    txmanager.run_once(budget_seconds=5)
    first.refresh_from_db()
    bumped.refresh_from_db()
    assert first.status == TxStatus.CONFIRMED and bumped.status == TxStatus.REPLACED
    assert first.tx_hash in bumped.error
    assert set(AnchorRecord.objects.values_list("status", "tx_hash", "anchor_tx")) == {
        (AnchorStatus.CONFIRMED, first.tx_hash, first.pk)}
    assert len(anchored_logs(anvil, anchor_contract)) == len(links)
    assert_anchored_exactly_once(anvil, anchor_contract, links)
    assert_nonces_without_gaps(anvil)
