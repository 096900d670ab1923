"""The transaction manager in-process (``run_once``) on a real Anvil: batching, per-key order, nonces,
crash points between signing and broadcasting, and recovery decided from the chain. Every client the code
makes fails the test if it calls the node inside a database transaction (``rpc_outside_transactions``)."""

import time

import pytest

from chain_adapter import txmanager
from chain_adapter.client import ChainClient
from chain_adapter.devnet import DEV_ACCOUNTS, free_port, rpc_call
from chain_adapter.errors import TransientChainError
from chain_adapter.hashing import ZERO_HASH, keccak256_hex, record_key
from chain_adapter.models import AnchorRecord, AnchorStatus, AnchorTransaction, TxStatus
from tests.chain_adapter.helpers import (
    BroadcastDrops,
    anchored_logs,
    assert_anchored_exactly_once,
    assert_nonces_without_gaps,
    b32,
    chains,
    client_for,
    enqueue,
    mining_by_hand,
    send,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db, pytest.mark.usefixtures("rpc_outside_transactions")]


def test_batch_size_one_sends_one_transaction_per_record(anvil, anchor_contract, batch):
    batch(1)
    links = chains("one", keys=4, per_key=3)
    enqueue(links)
    report = txmanager.run_once()
    assert report.transactions_sent == 12 and report.records_confirmed == 12 and not report.work_left
    assert AnchorTransaction.objects.filter(status=TxStatus.CONFIRMED, record_count=1).count() == 12
    assert_anchored_exactly_once(anvil, anchor_contract, links)
    assert_nonces_without_gaps()


def test_batch_size_200_anchors_whole_chains_in_one_transaction(anvil, anchor_contract, batch):
    batch(200)
    links = chains("two-hundred", keys=40, per_key=5)
    enqueue(links)
    report = txmanager.run_once()
    assert report.transactions_sent == 1
    tx = AnchorTransaction.objects.get()
    assert tx.record_count == 200 and tx.status == TxStatus.CONFIRMED
    assert tx.gas_used / 200 < 13_000  # 40 first events (~25.8k) and 160 later ones (~9.1k)
    assert_anchored_exactly_once(anvil, anchor_contract, links)


def test_an_idle_sender_sends_a_partial_batch_at_once(anvil, anchor_contract, batch):
    batch(50, max_wait=30)  # nothing unmined: waiting 30 s for a fuller batch would gain nothing
    links = chains("idle", keys=3, per_key=1)
    enqueue(links)
    started = time.monotonic()
    report = txmanager.run_once()
    assert report.records_confirmed == 3 and report.transactions_sent == 1 and not report.work_left
    assert time.monotonic() - started < 10
    assert_anchored_exactly_once(anvil, anchor_contract, links)


def test_batches_keep_each_keys_order_across_transactions(anvil, anchor_contract, batch):
    batch(7)
    links = chains("order", keys=3, per_key=10, interleave=False)
    enqueue(links)
    txmanager.run_once()
    assert AnchorTransaction.objects.count() == 5  # 30 records, 7 per transaction
    assert_anchored_exactly_once(anvil, anchor_contract, links)
    for key in {k for k, _p, _e in links}:
        placed = list(AnchorRecord.objects.filter(key=key).order_by("id").values_list("block_number", "log_index"))
        assert placed == sorted(placed)


def test_a_partial_batch_waits_up_to_the_maximum_wait_while_a_batch_is_unmined(anvil, anchor_contract, batch):
    batch(200, max_wait=1)
    with mining_by_hand(anvil.url) as mine:
        enqueue(chains("partial-first", keys=5, per_key=1))
        report = txmanager.run_once(budget_seconds=0.3)  # idle sender: the first goes at once, and stays unmined
        assert report.transactions_sent == 1 and report.work_left
        enqueue(chains("partial-second", keys=5, per_key=1))
        started = time.monotonic()
        report = txmanager.run_once(budget_seconds=1.6)  # one unmined: the second waits for more, up to 1 s
        assert report.transactions_sent == 1
        second = AnchorTransaction.objects.order_by("-nonce").first()
        assert second is not None and second.record_count == 5
        waited = second.created_at.timestamp() - AnchorRecord.objects.order_by("-id").first().created_at.timestamp()
        assert 0.8 <= waited, waited
        assert time.monotonic() - started >= 0.8
        mine()
    assert txmanager.run_once().records_confirmed == 10


def test_a_partial_batch_goes_at_once_without_a_maximum_wait(anvil, anchor_contract, batch):
    batch(200, max_wait=0)
    enqueue(chains("at-once", keys=5, per_key=1))
    started = time.monotonic()
    txmanager.run_once()
    assert time.monotonic() - started < 0.8
    assert AnchorTransaction.objects.get().record_count == 5


def test_a_transaction_stored_but_never_broadcast_is_resent_unchanged(anvil, anchor_contract, batch):
    batch(10)
    links = chains("not-sent", keys=5, per_key=2)
    enqueue(links)
    with pytest.raises(TransientChainError):
        txmanager.run_once(client=BroadcastDrops(anvil.url, delivered=False))
    stored = AnchorTransaction.objects.get()
    assert stored.status == TxStatus.SIGNED and stored.raw_tx.startswith("0x02")
    assert AnchorRecord.objects.filter(status=AnchorStatus.SENT, anchor_tx=stored).count() == 10
    assert anchored_logs(anvil, anchor_contract) == []

    txmanager.run_once()
    stored.refresh_from_db()
    assert AnchorTransaction.objects.get() == stored  # no second transaction, no new signature
    assert stored.status == TxStatus.CONFIRMED and stored.broadcast_count == 1
    assert_anchored_exactly_once(anvil, anchor_contract, links)


def test_a_transaction_the_node_got_before_the_crash_is_recognised_not_resent(anvil, anchor_contract, batch):
    batch(10)
    links = chains("got-it", keys=5, per_key=2)
    enqueue(links)
    with pytest.raises(TransientChainError):
        txmanager.run_once(client=BroadcastDrops(anvil.url, delivered=True))
    stored = AnchorTransaction.objects.get()
    assert stored.status == TxStatus.SIGNED
    assert len(anchored_logs(anvil, anchor_contract)) == 10  # on chain, though the database does not know

    txmanager.run_once()
    stored.refresh_from_db()
    assert stored.status == TxStatus.CONFIRMED and AnchorTransaction.objects.count() == 1
    assert_anchored_exactly_once(anvil, anchor_contract, links)


def test_a_reverted_transaction_is_settled_from_the_chain_not_resent_blindly(anvil, anchor_contract, batch):
    batch(10)
    owner, other = client_for(anvil.url), client_for(anvil.url, account=1)
    send(owner, anchor_contract.address, "addAnchorer", [other.address])
    links = chains("reverted", keys=4, per_key=1)
    enqueue(links)
    with pytest.raises(TransientChainError):
        txmanager.run_once(client=BroadcastDrops(anvil.url, delivered=False))
    stored = AnchorTransaction.objects.get()
    # Meanwhile another anchorer puts the first record on chain: the stored transaction will revert.
    key, prev, event = links[0]
    send(other, anchor_contract.address, "anchor", [[b32(key)], [b32(prev)], [b32(event)]])

    txmanager.run_once()
    stored.refresh_from_db()
    assert stored.status == TxStatus.REVERTED
    first = AnchorRecord.objects.get(event_hash=event)
    assert first.status == AnchorStatus.CONFIRMED and first.anchor_tx == stored  # recognised as anchored
    assert first.tx_hash != stored.tx_hash
    resent = AnchorTransaction.objects.get(status=TxStatus.CONFIRMED)
    assert resent.record_count == 3  # only the others went again
    assert_anchored_exactly_once(anvil, anchor_contract, links)
    assert_nonces_without_gaps()


def test_a_nonce_taken_by_another_transaction_drops_ours_and_requeues_its_records(anvil, anchor_contract, batch):
    batch(10)
    links = chains("dropped", keys=3, per_key=2)
    enqueue(links)
    with pytest.raises(TransientChainError):
        txmanager.run_once(client=BroadcastDrops(anvil.url, delivered=False))
    stored = AnchorTransaction.objects.get()
    owner = client_for(anvil.url)
    assert owner.nonce() == stored.nonce
    send(owner, anchor_contract.address, "addAnchorer", [DEV_ACCOUNTS[2][0]])  # spends that very nonce

    txmanager.run_once()
    stored.refresh_from_db()
    assert stored.status == TxStatus.DROPPED and "another transaction" in stored.error
    replacement = AnchorTransaction.objects.get(status=TxStatus.CONFIRMED)
    assert replacement.nonce == stored.nonce + 1
    assert_anchored_exactly_once(anvil, anchor_contract, links)


def test_an_event_anchored_behind_the_managers_back_is_recognised(anvil, anchor_contract, batch):
    batch(10)
    links = chains("behind", keys=1, per_key=3)
    enqueue(links)
    key, prev, event = links[0]
    receipt = send(client_for(anvil.url), anchor_contract.address, "anchor", [[b32(key)], [b32(prev)], [b32(event)]])

    report = txmanager.run_once()
    first = AnchorRecord.objects.get(event_hash=event)
    assert first.status == AnchorStatus.CONFIRMED and first.tx_hash == receipt.tx_hash
    assert report.records_confirmed == 3
    assert_anchored_exactly_once(anvil, anchor_contract, links)


def test_a_conflicting_history_on_chain_fails_the_record_and_holds_its_successors(anvil, anchor_contract, batch):
    batch(10)
    links = chains("conflict", keys=1, per_key=3)
    bystanders = chains("bystander", keys=3, per_key=1)
    enqueue(links + bystanders)
    key = links[0][0]
    forged = keccak256_hex("someone else's history")
    send(client_for(anvil.url), anchor_contract.address, "anchor", [[b32(key)], [b32(ZERO_HASH)], [b32(forged)]])

    report = txmanager.run_once()
    first = AnchorRecord.objects.get(event_hash=links[0][2])
    assert first.status == AnchorStatus.FAILED and report.records_failed == 1
    assert forged in first.last_error and "another history" in first.last_error
    assert set(AnchorRecord.objects.filter(key=key).exclude(pk=first.pk).values_list("status", flat=True)) == {
        AnchorStatus.PENDING}
    assert AnchorRecord.objects.filter(status=AnchorStatus.CONFIRMED).count() == 3  # the bystanders
    # Running again changes nothing: the successors wait behind the failed record.
    assert txmanager.run_once().transactions_sent == 0


def test_a_record_whose_predecessor_is_unknown_to_the_database_is_checked_on_chain(anvil, anchor_contract, batch):
    batch(10)
    key = record_key("unknown-predecessor")
    first, second = keccak256_hex("u-1"), keccak256_hex("u-2")
    send(client_for(anvil.url), anchor_contract.address, "anchor", [[b32(key)], [b32(ZERO_HASH)], [b32(first)]])
    enqueue([(key, first, second)])
    txmanager.run_once()
    assert AnchorRecord.objects.get().status == AnchorStatus.CONFIRMED
    assert client_for(anvil.url).head(anchor_contract.address, key) == second


def test_a_second_broadcaster_stands_aside_while_the_lock_is_held(anvil, anchor_contract, batch):
    batch(10)
    enqueue(chains("locked", keys=2, per_key=1))
    client = client_for(anvil.url)
    with txmanager.broadcaster_lock(31337, client.address) as acquired:
        assert acquired
        report = txmanager.run_once()
        assert not report.acquired
        assert AnchorRecord.objects.filter(status=AnchorStatus.PENDING).count() == 2
    assert txmanager.run_once().records_confirmed == 2


def test_an_unreachable_node_leaves_the_records_pending_with_the_reason(anvil, anchor_contract, batch):
    batch(10)
    enqueue(chains("unreachable", keys=2, per_key=1))
    down = ChainClient(rpc_url=f"http://127.0.0.1:{free_port()}", chain_id=31337,
                       private_key=DEV_ACCOUNTS[0][1], timeout=1)
    with pytest.raises(TransientChainError):
        txmanager.run_once(client=down)
    for record in AnchorRecord.objects.all():
        assert record.status == AnchorStatus.PENDING
        assert record.last_error.startswith("Waiting for the chain:") and "unreachable" in record.last_error
    txmanager.run_once()
    assert set(AnchorRecord.objects.values_list("status", "last_error")) == {(AnchorStatus.CONFIRMED, "")}


def test_records_are_confirmed_only_after_the_configured_confirmations(anvil, anchor_contract, batch):
    batch(10, confirmations=3)
    links = chains("deep", keys=2, per_key=1)
    enqueue(links)
    report = txmanager.run_once(budget_seconds=0.3)
    assert report.work_left
    tx = AnchorTransaction.objects.get()
    assert tx.status == TxStatus.MINED
    assert set(AnchorRecord.objects.values_list("status", flat=True)) == {AnchorStatus.SENT}
    assert all(r.block_number == tx.block_number for r in AnchorRecord.objects.all())
    rpc_call(anvil.url, "evm_mine")
    rpc_call(anvil.url, "evm_mine")
    txmanager.run_once(budget_seconds=2)
    tx.refresh_from_db()
    assert tx.status == TxStatus.CONFIRMED
    assert_anchored_exactly_once(anvil, anchor_contract, links)


def test_the_guard_fails_a_node_call_made_inside_a_database_transaction(anvil):
    from django.db import transaction

    from tests.chain_adapter.helpers import NoRpcInTransaction

    client = ChainClient.from_settings()
    assert isinstance(client, NoRpcInTransaction)
    client.connect()
    with pytest.raises(AssertionError, match="eth_blockNumber called inside a database transaction"):
        with transaction.atomic():
            client.block_number()
    NoRpcInTransaction.calls_in_transaction.clear()  # seen: the fixture would fail this test otherwise
