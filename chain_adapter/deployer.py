"""Deploying the ``BillAnchor`` contract as a transaction of the broadcaster.

A deployment is sent by the anchor account like any anchor batch, so it follows the broadcaster's rules:
the caller holds the broadcaster lock (a running broadcaster finishes its run first); the live transactions
of the contract in use are driven to their receipts; the nonce is the next of the stored sequence,
cross-checked with the node (never the node's pending count beside a running broadcaster); the signed
creation transaction is stored in a ``ContractDeployment`` row before it is broadcast; and its receipt is
awaited with no database transaction open. The one thing to know: a crash leaves that row signed or sent,
and the next call re-sends the same bytes instead of signing a second deployment.
"""

from __future__ import annotations

import logging

from django.db import transaction

from chain_adapter.client import ChainClient
from chain_adapter.conf import sender_count
from chain_adapter.contract import Artifact, add_anchorer_calldata, create_address
from chain_adapter.decisions import next_nonce
from chain_adapter.errors import NonceConsumed, PermanentChainError, TransientChainError
from chain_adapter.locks import broadcaster_lock
from chain_adapter.models import (
    LIVE_TX_STATUSES,
    AnchorRecord,
    AnchorStatus,
    AnchorTransaction,
    ContractDeployment,
    TxStatus,
)
from chain_adapter.outbox import ring_doorbell_on_commit
from chain_adapter.selectors import stored_nonce_max
from chain_adapter.txmanager import Broadcaster

logger = logging.getLogger(__name__)

RECEIPT_TIMEOUT_SECONDS = 60.0
DRAIN_TIMEOUT_SECONDS = 60.0


def deploy(client: ChainClient, artifact: Artifact, *, previous: ContractDeployment | None, drain_previous: bool,
           requeue_previous: bool, timeout: float = RECEIPT_TIMEOUT_SECONDS) -> tuple[ContractDeployment, int]:
    """Deploy ``artifact`` from the client's account; returns (the confirmed deployment, records queued again).

    ``previous``: the deployment in use. ``drain_previous``: it is alive, so its live transactions are mined
    first and the new nonce follows its stored sequence. ``requeue_previous``: its chain forgot it (a reset
    devnet), so what it anchored is queued again once the new one is confirmed.
    Preconditions: the caller holds the broadcaster lock of the account; no database transaction is open.
    """
    chain_id = client.connect()
    row = ContractDeployment.objects.filter(
        chain_id=chain_id, deployer=client.address, status__in=[TxStatus.SIGNED, TxStatus.SENT]
    ).order_by("-id").first()
    if row is not None and row.nonce is not None and row.nonce > client.nonce("pending"):
        _drop(row, "Its nonce is beyond the account's count on chain (the chain was reset).")
        row = None
    if row is None:
        stored = None
        if previous is not None and drain_previous:
            Broadcaster(client, previous).drain(timeout=DRAIN_TIMEOUT_SECONDS)
            stored = stored_nonce_max(deployment=previous, sender=client.address)
        nonce = next_nonce(stored_max=stored, chain_pending=client.nonce("pending"))
        gas = client.estimate_gas(to=None, data=artifact.bytecode)
        fees = client.fees()
        with transaction.atomic():
            signed = client.sign(to=None, data=artifact.bytecode, nonce=nonce, gas=gas, fees=fees)
            row = ContractDeployment.objects.create(
                chain_id=chain_id, address=create_address(client.address, nonce), deployer=client.address,
                tx_hash=signed.tx_hash, nonce=nonce, raw_tx=signed.raw, status=TxStatus.SIGNED,
                runtime_code_hash=artifact.runtime_code_hash, compiler_version=artifact.compiler_version,
                source_sha256=artifact.source_sha256,
            )
    # Stored: from here on a crash leaves bytes that the next call re-sends.
    try:
        client.broadcast(row.raw_tx)
    except NonceConsumed as err:
        if client.receipt(row.tx_hash) is None:
            _drop(row, str(err))
            raise TransientChainError(
                f"The deployment's nonce {row.nonce} was used by another transaction; deploy again.") from err
    if row.status == TxStatus.SIGNED:
        row.status = TxStatus.SENT
        row.save(update_fields=["status"])
    receipt = client.wait_for_receipt(row.tx_hash, timeout=timeout)
    if receipt is None:
        raise TransientChainError(f"The deployment {row.tx_hash} was not mined within {timeout:.0f} s; deploy "
                                  "again to keep waiting (the same bytes are sent).")
    if receipt.status != 1 or not receipt.contract_address:
        row.status, row.block_number = TxStatus.REVERTED, receipt.block_number
        row.save(update_fields=["status", "block_number"])
        raise PermanentChainError(f"The deployment {row.tx_hash} reverted.")
    requeued = 0
    with transaction.atomic():
        if requeue_previous and previous is not None:
            requeued = requeue_vanished(previous)
        row.status, row.block_number, row.address = TxStatus.CONFIRMED, receipt.block_number, receipt.contract_address
        row.save(update_fields=["status", "block_number", "address"])
    return row, requeued


def _drop(row: ContractDeployment, reason: str) -> None:
    logger.warning("deployment transaction %s dropped: %s", row.tx_hash, reason)
    row.status = TxStatus.DROPPED
    row.save(update_fields=["status"])


def requeue_vanished(old: ContractDeployment) -> int:
    """The devnet forgot ``old``: it is marked dropped, its live and stuck transactions too, and what it
    anchored is queued again. Runs in the caller's transaction."""
    old.status = TxStatus.DROPPED
    old.save(update_fields=["status"])
    AnchorTransaction.objects.filter(deployment=old, status__in=[*LIVE_TX_STATUSES, TxStatus.STUCK]).update(
        status=TxStatus.DROPPED, error="The devnet was reset: this transaction's chain no longer exists."
    )
    count = AnchorRecord.objects.filter(
        status__in=[AnchorStatus.SENT, AnchorStatus.CONFIRMED], anchor_tx__deployment=old
    ).update(
        status=AnchorStatus.PENDING, tx_hash="", block_number=None, log_index=None, confirmed_at=None,
        anchor_tx=None, last_error="Queued again: the devnet holding its anchor was reset.",
    )
    if count:
        ring_doorbell_on_commit()
    return count


def register_senders(client: ChainClient, deployment: ContractDeployment, *, lock_wait_seconds: float) -> list[str]:
    """Make every configured anchor sender (``ANCHOR_SENDERS`` > 1) an anchorer of ``deployment``: the owner
    (``client``, sender 0) calls ``addAnchorer`` for each one missing, under its broadcaster lock, after its live
    transactions are mined, with the next nonce of its sequence. Returns the addresses added.
    Precondition: no database transaction is open.
    """
    senders = [ChainClient.from_settings(lane).address for lane in range(1, sender_count())]
    missing = [a for a in senders if not client.is_anchorer(deployment.address, a)]
    if not missing:
        return []
    with broadcaster_lock(client.connect(), client.address, wait_seconds=lock_wait_seconds) as acquired:
        if not acquired:
            raise TransientChainError(f"The broadcaster of {client.address} held its lock: register the senders later.")
        Broadcaster(client, deployment).drain(timeout=DRAIN_TIMEOUT_SECONDS)
        for address in missing:
            data = add_anchorer_calldata(address)
            nonce = next_nonce(stored_max=stored_nonce_max(deployment=deployment, sender=client.address),
                               chain_pending=client.nonce("pending"))
            signed = client.sign(to=deployment.address, data=data, nonce=nonce,
                                 gas=client.estimate_gas(to=deployment.address, data=data), fees=client.fees())
            client.broadcast(signed.raw)
            receipt = client.wait_for_receipt(signed.tx_hash, timeout=RECEIPT_TIMEOUT_SECONDS)
            if receipt is None or receipt.status != 1:
                raise TransientChainError(f"addAnchorer({address}) was not mined: run deploy_contract again.")
            logger.info("anchor sender %s registered as an anchorer of %s", address, deployment.address)
    return missing
