"""New versions of a nonce: the fee bump of a transaction priced below a risen base fee, and an operator's
replacement of a transaction the node refused (``stuck``).

A stored transaction is never re-signed in place. A new version of the same nonce is signed and stored beside
it (``replaces`` points at the old one, which is marked replaced, its records moved over) in one database
transaction, before anything is broadcast; the broadcaster then sends it. Whichever version the chain mines
counts (``txtracker`` looks for a receipt of every version of a nonce), and the contract's head check keeps a
record from being anchored twice.

The one thing to know: the caller holds the broadcaster lock, so no other process signs for this account
meanwhile; every node call here happens before the database transaction opens.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F

from chain_adapter.client import ChainClient
from chain_adapter.contract import anchor_calldata, payload_of
from chain_adapter.decisions import NOOP_GAS, Fees, bumped_fees, replacement_carries_records
from chain_adapter.errors import AnchorReplaceRefused, PermanentChainError
from chain_adapter.models import (
    AnchorAuditLog,
    AnchorRecord,
    AnchorStatus,
    AnchorTransaction,
    TxKind,
    TxStatus,
)
from chain_adapter.outbox import ring_doorbell_on_commit
from chain_adapter.recovery import ChainView, apply_recovery, read_chain

logger = logging.getLogger(__name__)


def _fees_of(tx: AnchorTransaction) -> Fees:
    return Fees(max_fee_per_gas=tx.max_fee_per_gas, max_priority_fee_per_gas=tx.max_priority_fee_per_gas)


def store_version(client: ChainClient, old: AnchorTransaction, *, to: str, data: str, gas: int, fees: Fees,
                  kind: str, record_count: int, move_records: bool, note: str) -> AnchorTransaction:
    """Sign (locally: no node call) a new version of ``old``'s nonce and store it; ``old`` becomes replaced.

    Preconditions: the caller holds the broadcaster lock and an open database transaction, with ``old``'s
    row locked. ``move_records``: the records ``old`` carries (sent) now point at the new version.
    """
    signed = client.sign(to=to, data=data, nonce=old.nonce, gas=gas, fees=fees)
    old.status = TxStatus.REPLACED
    old.error = (f"{old.error} " if old.error else "") + f"Replaced by {signed.tx_hash}: {note}"
    old.save(update_fields=["status", "error"])
    new = AnchorTransaction.objects.create(
        deployment=old.deployment, sender=old.sender, nonce=old.nonce, raw_tx=signed.raw, tx_hash=signed.tx_hash,
        gas_limit=gas, max_fee_per_gas=fees.max_fee_per_gas, max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
        record_count=record_count, kind=kind, replaces=old,
    )
    if move_records:
        AnchorRecord.objects.filter(anchor_tx=old, status=AnchorStatus.SENT).update(
            anchor_tx=new, attempts=F("attempts") + 1
        )
    return new


def bump_fee(client: ChainClient, tx: AnchorTransaction, *, base_fee: int, tip: int) -> AnchorTransaction | None:
    """Store a version of ``tx`` with the same payload and higher fees (``decisions.bumped_fees``); None when
    ``tx`` is no longer waiting to be mined. Precondition: the caller holds the broadcaster lock and no
    database transaction is open. Nothing is broadcast here."""
    payload = payload_of(tx.raw_tx)
    fees = bumped_fees(_fees_of(tx), base_fee=base_fee, tip=tip)
    with transaction.atomic():
        locked = AnchorTransaction.objects.select_for_update().filter(pk=tx.pk).first()
        if locked is None or locked.status not in (TxStatus.SIGNED, TxStatus.SENT):
            return None
        new = store_version(
            client, locked, to=payload.to or client.address, data=payload.data, gas=payload.gas, fees=fees,
            kind=locked.kind, record_count=locked.record_count, move_records=True,
            note=f"fee bump: its fee cap {tx.max_fee_per_gas} was below the base fee {base_fee}.",
        )
    logger.info("nonce %s: fee bumped from %s to %s (%s → %s)", tx.nonce, tx.max_fee_per_gas,
                fees.max_fee_per_gas, tx.tx_hash, new.tx_hash)
    return new


def replace_stuck(client: ChainClient, stuck: AnchorTransaction, *, actor: AbstractBaseUser, reason: str,
                  confirmations: int) -> AnchorTransaction:
    """Replace the stuck transaction ``stuck`` with a new version of its nonce, audited.

    The same records, re-signed, when the contract would accept them now and they fit in a block; else a
    no-op (a 0-value self-transfer) that spends the nonce, and the records are settled from the chain
    (anchored already, back to the outbox, or failed). When the nonce is used on chain already, ``stuck``
    goes back to the broadcaster, which finds its receipt or drops it. The broadcaster sends the new version.
    Preconditions: the caller holds the broadcaster lock of ``stuck.sender``; no database transaction is open.
    """
    deployment = stuck.deployment
    records = list(stuck.records.filter(status=AnchorStatus.SENT).order_by("id"))
    # What the node says now: every call before the database transaction.
    base_fee, tip = client.fee_market()
    fees = bumped_fees(_fees_of(stuck), base_fee=base_fee, tip=tip)  # outbids it, should a node hold it
    block_gas_limit = int(client.latest_block().get("gasLimit") or 0)
    nonce_used = client.nonce("latest") > stuck.nonce
    data = anchor_calldata([r.key for r in records], [r.prev_hash for r in records], [r.event_hash for r in records])
    gas, estimate_ok = 0, False
    if records and not nonce_used:
        try:
            gas, estimate_ok = client.estimate_gas(to=deployment.address, data=data), True
        except PermanentChainError as err:  # the payload reverts now, or cannot be estimated
            logger.info("stuck transaction %s: its records are not anchorable as they are (%s)", stuck.tx_hash, err)
    same = replacement_carries_records(record_count=len(records), estimate_ok=estimate_ok, gas=gas,
                                       block_gas_limit=block_gas_limit)
    view: ChainView | None = None
    if not same and not nonce_used:
        view = read_chain(client, deployment, records, confirmations=confirmations)
    with transaction.atomic():
        locked = AnchorTransaction.objects.select_for_update().filter(pk=stuck.pk).first()
        if locked is None or locked.status != TxStatus.STUCK:
            raise AnchorReplaceRefused(f"Transaction {stuck.tx_hash} is no longer stuck: nothing was replaced.")
        detail: dict[str, object] = {"nonce": locked.nonce, "node_reason": locked.error,
                                     "records": [r.pk for r in records]}
        if nonce_used:
            locked.status = TxStatus.SENT
            locked.error = f"{locked.error} Nonce {locked.nonce} is used on chain already: handed back to the broadcaster."
            locked.save(update_fields=["status", "error"])
            new, detail["mode"] = locked, "nonce_used"
        elif same:
            new = store_version(client, locked, to=deployment.address, data=data, gas=gas, fees=fees,
                                kind=TxKind.ANCHOR, record_count=len(records), move_records=True,
                                note="the same records, re-signed by an operator.")
            detail["mode"] = "same_records"
        else:
            new = store_version(client, locked, to=client.address, data="0x", gas=NOOP_GAS, fees=fees,
                                kind=TxKind.NOOP, record_count=0, move_records=False,
                                note="a no-op that spends the nonce, signed by an operator.")
            assert view is not None
            outcome = apply_recovery(
                records, view, deployment=deployment, confirmations=confirmations,
                reason=f"Queued again: transaction {locked.tx_hash} (nonce {locked.nonce}) was refused by the "
                       "node and replaced by a no-op",
            )
            detail.update(mode="noop", confirmed=outcome.confirmed, failed=outcome.failed)
        AnchorAuditLog.objects.create(
            anchor_tx=locked, action="replace", actor_id=actor.pk, reason=reason, old_tx_hash=locked.tx_hash,
            new_tx_hash=new.tx_hash if new.pk != locked.pk else "", detail=detail,
        )
        ring_doorbell_on_commit()
    logger.warning("stuck transaction %s (nonce %s) replaced (%s) by %s", stuck.tx_hash, stuck.nonce,
                   detail["mode"], new.tx_hash)
    return new
