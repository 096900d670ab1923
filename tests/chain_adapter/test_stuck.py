"""A transaction the node refuses for good is marked stuck (with the node's reason) instead of blocking every
later anchor; a platform admin replaces it through the audited admin action (a new version of its nonce:
the same records, or a no-op), and anchoring resumes. All on a real Anvil; every Anchored log is counted."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from chain_adapter import txmanager
from chain_adapter.client import ChainClient
from chain_adapter.contract import payload_of
from chain_adapter.devnet import DEV_ACCOUNTS, rpc_call
from chain_adapter.errors import (
    AnchoringNotPermitted,
    AnchorReplaceRefused,
    ContractReverted,
    PermanentChainError,
    TransientChainError,
)
from chain_adapter.models import (
    AnchorAuditLog,
    AnchorRecord,
    AnchorStatus,
    AnchorTransaction,
    TxKind,
    TxStatus,
)
from chain_adapter.services import anchor_transaction_replace
from tests.chain_adapter.helpers import (
    BroadcastDrops,
    NoRpcInTransaction,
    anchored_logs,
    assert_anchored_exactly_once,
    assert_nonces_without_gaps,
    b32,
    chains,
    client_for,
    enqueue,
    send,
)
from tests.conftest import login

pytestmark = [pytest.mark.chain, pytest.mark.django_db, pytest.mark.usefixtures("rpc_outside_transactions")]

CHANGELIST = "/admin/chain_adapter/anchortransaction/"


def user(username: str):  # type: ignore[no-untyped-def]
    return get_user_model().objects.get(username=username)


@pytest.fixture
def block_gas_limit(anvil):  # type: ignore[no-untyped-def]
    """``set(limit)`` changes Anvil's block gas limit (a block is mined with it); the limit before the test
    is restored at the end (the node is shared by the session)."""
    original = int(str(rpc_call(anvil.url, "eth_getBlockByNumber", ["latest", False])["gasLimit"]), 16)  # type: ignore[index]

    def set_limit(limit: int) -> None:
        rpc_call(anvil.url, "evm_setBlockGasLimit", [hex(limit)])
        rpc_call(anvil.url, "evm_mine")

    yield set_limit
    set_limit(original)


def stored_but_not_sent(anvil) -> AnchorTransaction:  # type: ignore[no-untyped-def]
    """Run the broadcaster until it has stored a batch, as if its worker died before the broadcast."""
    with pytest.raises(TransientChainError):
        txmanager.run_once(client=BroadcastDrops(anvil.url, delivered=False))
    return AnchorTransaction.objects.get(status=TxStatus.SIGNED)


def test_a_refused_transaction_is_stuck_and_an_admin_replaces_it_by_a_noop_then_anchoring_resumes(
        anvil, anchor_contract, batch, block_gas_limit, demo_orgs):
    batch(10)
    owner, other = client_for(anvil.url), client_for(anvil.url, account=1)
    send(owner, anchor_contract.address, "addAnchorer", [other.address])
    links = chains("stuck-noop", keys=2, per_key=2)
    enqueue(links)
    stuck = stored_but_not_sent(anvil)
    assert stuck.record_count == 4
    # The chain lowers its block gas limit below the stored transaction's: the node will never accept it.
    block_gas_limit(stuck.gas_limit - 1)
    # Meanwhile another anchorer puts the first record on chain: the stored payload would now revert too.
    key, prev, event = links[0]
    send(other, anchor_contract.address, "anchor", [[b32(key)], [b32(prev)], [b32(event)]])
    later = chains("after-stuck", keys=2, per_key=2)
    enqueue(later)

    report = txmanager.run_once()
    stuck.refresh_from_db()
    assert stuck.status == TxStatus.STUCK and "gas_limit > env.block.gas_limit" in stuck.error
    assert report.stuck_tx_hash == stuck.tx_hash and report.transactions_sent == 0
    assert AnchorTransaction.objects.count() == 1  # nothing is signed behind a stuck nonce
    assert owner.nonce("latest") == stuck.nonce
    for record in AnchorRecord.objects.filter(anchor_tx=stuck):
        assert record.status == AnchorStatus.SENT and "is stuck" in record.last_error
    for record in AnchorRecord.objects.filter(status=AnchorStatus.PENDING):
        assert record.last_error.startswith("Waiting for an operator") and stuck.tx_hash in record.last_error
    assert txmanager.run_once().stuck_tx_hash == stuck.tx_hash  # it does not go away by itself

    admin = login(Client(), "admin")
    listed = admin.get(CHANGELIST + "?status__exact=stuck").content.decode()
    assert stuck.tx_hash in listed and "gas_limit &gt; env.block.gas_limit" in listed
    asked = admin.post(CHANGELIST, {"action": "replace_stuck", "_selected_action": [stuck.pk]})
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()
    assert AnchorTransaction.objects.count() == 1  # nothing happens before the admin says why
    done = admin.post(CHANGELIST, {"action": "replace_stuck", "_selected_action": [stuck.pk], "apply": "1",
                                   "reason": "The block gas limit fell below the batch."}, follow=True)
    assert "replaced by no-op" in done.content.decode()

    stuck.refresh_from_db()
    noop = AnchorTransaction.objects.get(replaces=stuck)
    assert stuck.status == TxStatus.REPLACED and "gas_limit" in stuck.error  # the node's reason is kept
    assert (noop.kind, noop.nonce, noop.record_count, noop.status) == (TxKind.NOOP, stuck.nonce, 0, TxStatus.SIGNED)
    payload = payload_of(noop.raw_tx)
    assert (payload.to, payload.value, payload.data) == (owner.address, 0, "0x")
    audit = AnchorAuditLog.objects.get(anchor_tx=stuck)
    assert (audit.action, audit.actor, audit.reason) == ("replace", user("admin"), "The block gas limit fell below the batch.")
    assert (audit.old_tx_hash, audit.new_tx_hash) == (stuck.tx_hash, noop.tx_hash) and audit.created_at
    assert audit.detail["mode"] == "noop" and "gas_limit" in audit.detail["node_reason"]
    first = AnchorRecord.objects.get(event_hash=event)
    assert first.status == AnchorStatus.CONFIRMED and first.tx_hash != stuck.tx_hash  # anchored by the other
    requeued = AnchorRecord.objects.filter(anchor_tx=stuck).exclude(pk=first.pk)
    assert {(r.status, r.last_error.startswith("Queued again")) for r in requeued} == {(AnchorStatus.PENDING, True)}

    report = txmanager.run_once()
    noop.refresh_from_db()
    assert noop.status == TxStatus.CONFIRMED and not report.stuck_tx_hash
    assert owner.receipt(noop.tx_hash).status == 1 and owner.receipt(stuck.tx_hash) is None
    logs = anchored_logs(anvil, anchor_contract)
    assert len(logs) == len(links) + len(later)  # one Anchored log per record: none anchored twice
    assert_anchored_exactly_once(anvil, anchor_contract, links + later)
    assert_nonces_without_gaps(anvil)


def test_a_stuck_transaction_whose_records_are_still_anchorable_is_replaced_by_the_same_records(
        anvil, anchor_contract, batch, block_gas_limit, demo_orgs):
    batch(10)
    links = chains("stuck-same", keys=3, per_key=1)
    enqueue(links)
    stuck = stored_but_not_sent(anvil)
    block_gas_limit(stuck.gas_limit - 1)
    assert txmanager.run_once().stuck_tx_hash == stuck.tx_hash
    block_gas_limit(30_000_000)  # the chain changed its mind; the records fit again

    new = anchor_transaction_replace(transaction_id=stuck.pk, actor=user("admin"), reason="gas limit restored")
    assert (new.kind, new.nonce, new.record_count, new.replaces) == (TxKind.ANCHOR, stuck.nonce, 3, stuck)
    assert payload_of(new.raw_tx).data == payload_of(stuck.raw_tx).data
    assert new.max_fee_per_gas * 10 >= stuck.max_fee_per_gas * 11  # outbids it, should a node hold it
    assert set(AnchorRecord.objects.values_list("status", "anchor_tx")) == {(AnchorStatus.SENT, new.pk)}
    assert AnchorAuditLog.objects.get(anchor_tx=stuck).detail["mode"] == "same_records"

    txmanager.run_once()
    new.refresh_from_db()
    assert new.status == TxStatus.CONFIRMED
    assert len(anchored_logs(anvil, anchor_contract)) == len(links)
    assert_anchored_exactly_once(anvil, anchor_contract, links)
    assert_nonces_without_gaps(anvil)
    assert AnchorRecord.objects.get(event_hash=links[0][2]).attempts == 2  # signed twice, anchored once


class RefusesRevertingPayloads(NoRpcInTransaction):
    """A node that simulates a transaction before admitting it and refuses one that would revert (as
    Hardhat's automine or some sequencers do; Anvil would mine it with status 0)."""

    def broadcast(self, raw: str) -> None:
        payload = payload_of(raw)
        if payload.to and payload.data != "0x":
            try:
                self.estimate_gas(to=payload.to, data=payload.data)
            except ContractReverted as err:
                raise PermanentChainError(f"eth_sendRawTransaction: execution reverted: {err.error_name}") from err
        super().broadcast(raw)


def test_a_node_that_refuses_a_reverting_payload_leaves_it_stuck_until_replaced(
        anvil, anchor_contract, batch, demo_orgs, monkeypatch):
    batch(10)
    owner, other = client_for(anvil.url), client_for(anvil.url, account=1)
    send(owner, anchor_contract.address, "addAnchorer", [other.address])
    links = chains("stuck-revert", keys=1, per_key=3)
    enqueue(links)
    stuck = stored_but_not_sent(anvil)
    key, prev, event = links[0]
    send(other, anchor_contract.address, "anchor", [[b32(key)], [b32(prev)], [b32(event)]])
    monkeypatch.setattr(ChainClient, "from_settings",
                        classmethod(lambda cls: RefusesRevertingPayloads(rpc_url=anvil.url, chain_id=31337,
                                                                         private_key=DEV_ACCOUNTS[0][1])))

    assert txmanager.run_once().stuck_tx_hash == stuck.tx_hash
    stuck.refresh_from_db()
    assert stuck.status == TxStatus.STUCK and "execution reverted: HeadMismatch" in stuck.error
    new = anchor_transaction_replace(transaction_id=stuck.pk, actor=user("admin"), reason="payload reverts")
    assert new.kind == TxKind.NOOP  # the records are not anchorable as they were signed
    txmanager.run_once()
    assert len(anchored_logs(anvil, anchor_contract)) == len(links)
    assert_anchored_exactly_once(anvil, anchor_contract, links)
    assert_nonces_without_gaps(anvil)


def test_only_platform_staff_replace_only_stuck_transactions_and_say_why(anvil, anchor_contract, batch, demo_orgs):
    batch(10)
    enqueue(chains("stuck-refusals", keys=1, per_key=1))
    tx = stored_but_not_sent(anvil)
    with pytest.raises(AnchorReplaceRefused, match="Only stuck transactions"):
        anchor_transaction_replace(transaction_id=tx.pk, actor=user("admin"), reason="why not")
    AnchorTransaction.objects.filter(pk=tx.pk).update(status=TxStatus.STUCK, error="refused (test)")
    for username in ("supplier", "financier", "regulator"):
        with pytest.raises(AnchoringNotPermitted):
            anchor_transaction_replace(transaction_id=tx.pk, actor=user(username), reason="why not")
    with pytest.raises(AnchorReplaceRefused, match="Say why"):
        anchor_transaction_replace(transaction_id=tx.pk, actor=user("admin"), reason="  ")
    tx.refresh_from_db()
    assert tx.status == TxStatus.STUCK and not AnchorAuditLog.objects.exists()
    assert AnchorTransaction.objects.count() == 1
