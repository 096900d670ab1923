"""The broadcaster's live transactions: sending the stored bytes, finding receipts, confirming, bumping the
fee of a transaction priced below a risen base fee, and marking one the node refuses for good as stuck.

``Tracker``: the half of a broadcaster run that looks after signed, stored transactions (``txmanager.Broadcaster``
adds new batches); the caller holds the account's broadcaster lock. No node call happens while a database
transaction is open; the writes that follow go in short transactions of their own; rules: ``decisions``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from chain_adapter.client import ChainClient, Receipt
from chain_adapter.conf import anchoring_settings
from chain_adapter.decisions import RunReport, deep_enough, fee_bump_due, read_receipt
from chain_adapter.errors import NonceConsumed, PermanentChainError, TransientChainError, Underpriced
from chain_adapter.models import (
    LIVE_TX_STATUSES,
    AnchorRecord,
    AnchorStatus,
    AnchorTransaction,
    ContractDeployment,
    TxStatus,
)
from chain_adapter.recovery import ChainView, apply_recovery, link_of, read_chain
from chain_adapter.replacement import bump_fee
from chain_adapter.selectors import stuck_transaction

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.05  # receipt polling; web3's default 0.1 s halves throughput
REBROADCAST_AFTER = 3.0  # seconds without a receipt before the same bytes are sent again
FEE_MARKET_CACHE_SECONDS = 1.0
_BROADCAST_FIELDS = ["status", "broadcast_count", "first_broadcast_at", "last_broadcast_at", "error"]
_RECEIPT_FIELDS = ["block_number", "block_hash", "gas_used", "confirmed_at", *_BROADCAST_FIELDS]


def place_records(log_indexes: dict[int, int], *, tx: AnchorTransaction, status: str,
                  confirmed_at: datetime | None, block_number: int) -> None:
    """Record that the records ``{id: log index}`` were anchored by ``tx``, in one UPDATE. Plain SQL with arrays:
    Django's ``Case(When(...))`` for a log index per row costs seconds per thousand rows."""
    table = AnchorRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS r SET status = %s, confirmed_at = %s, tx_hash = %s, block_number = %s, "
            "anchor_tx_id = %s, log_index = v.log_index, last_error = '' "
            "FROM unnest(%s::bigint[], %s::integer[]) AS v(id, log_index) WHERE r.id = v.id",
            [status, confirmed_at, tx.tx_hash, block_number, tx.pk, list(log_indexes), list(log_indexes.values())],
        )


def announce_confirmed(keys: Iterable[str]) -> None:
    """Tell the hooks named in ``settings.ANCHOR_CONFIRMED_HOOKS`` (dotted paths of ``hook(*, keys)``) which
    keys just had records confirmed. Called inside the confirming transaction: a hook defers its work with
    ``transaction.on_commit``. chain_adapter does not know what the keys name (bills, credit reports)."""
    wanted = sorted(set(keys))
    if not wanted:
        return
    for path in getattr(settings, "ANCHOR_CONFIRMED_HOOKS", ()):
        import_string(path)(keys=wanted)


class Tracker:
    """The live transactions of one account on one deployment, during one run (under the broadcaster lock)."""

    def __init__(self, client: ChainClient, deployment: ContractDeployment) -> None:
        conf = anchoring_settings()
        self.client = client
        self.deployment = deployment
        self.contract = deployment.address
        self.sender = client.address
        self.confirmations = conf.confirmations
        self.fee_bump_after = conf.fee_bump_after_seconds
        self.reorg_window = conf.reorg_window_blocks
        self.report = RunReport()
        # As the only broadcaster, this run knows what it changes: the live transactions (loaded once, then
        # kept here) and the event hashes it saw mined (predecessors that need no database look-up).
        self.live: list[AnchorTransaction] = []
        self.on_chain: set[str] = set()
        self.stuck: AnchorTransaction | None = None
        self._next_nonce: int | None = None  # reset when the account's nonces were used elsewhere
        self._earlier: dict[int, list[AnchorTransaction]] = {}
        self._fee_market: tuple[float, tuple[int, int]] | None = None

    # --- the set of live transactions -----------------------------------------------------------------

    def load_live(self) -> None:
        self.live = list(AnchorTransaction.objects.filter(
            deployment=self.deployment, sender=self.sender, status__in=LIVE_TX_STATUSES).order_by("nonce"))
        self.stuck = stuck_transaction(deployment=self.deployment, sender=self.sender)

    def advance_live(self) -> tuple[bool, int]:
        """Advance every live transaction one step. Returns (anything changed, how many are still live). One call
        says which nonces are mined: receipts are asked only below it, not for every live transaction each loop."""
        progressed = False
        current = []
        mined_below = self.client.nonce("latest") if any(tx.status == TxStatus.SENT for tx in self.live) else None
        for tx in list(self.live):
            before = (tx.pk, tx.status, tx.broadcast_count)
            tx = self.advance(tx, mined_below=mined_below)
            progressed = progressed or (tx.pk, tx.status, tx.broadcast_count) != before
            current.append(tx)
        self.live = [tx for tx in current if tx.status in LIVE_TX_STATUSES]
        return progressed, len(self.live)

    def blocked_by_stuck(self) -> bool:
        """True when nothing can move: a transaction is stuck and every live one has a later nonce."""
        return self.stuck is not None and all(tx.nonce > self.stuck.nonce for tx in self.live)

    def advance(self, tx: AnchorTransaction, *, mined_below: int | None = None) -> AnchorTransaction:
        """Move ``tx`` forward as far as the chain allows now; returns the current version of its nonce.
        ``mined_below``: the account's mined count if read (no receipt is asked for a nonce not mined yet)."""
        if tx.status == TxStatus.SIGNED:
            tx = self.broadcast(tx)
        if tx.status == TxStatus.SENT:
            maybe_mined = mined_below is None or tx.nonce < mined_below
            found = self.find_receipt(tx) if maybe_mined else None
            if found is not None:
                tx = self.on_found(tx, *found)
            else:
                bumped = self.maybe_bump(tx)
                if bumped is not None:
                    tx = bumped
                elif tx.last_broadcast_at is None or (
                    timezone.now() - tx.last_broadcast_at
                ).total_seconds() >= REBROADCAST_AFTER:
                    tx = self.broadcast(tx)  # the node may have lost it (restart): the same bytes again
        if tx.status == TxStatus.MINED:
            self.check_confirmations(tx)
        return tx

    # --- sending --------------------------------------------------------------------------------------

    def broadcast(self, tx: AnchorTransaction, *, save: bool = True) -> AnchorTransaction:
        """Send the stored bytes of ``tx``; never re-signs. ``save=False`` leaves writing the broadcast fields
        to the caller (who records the receipt in the same write). Returns the current version of the nonce.

        A refusal for good marks ``tx`` stuck; an underpriced one counts as an attempt (the fee bump follows).
        """
        note = ""
        try:
            self.client.broadcast(tx.raw_tx)
        except NonceConsumed as err:
            return self.on_nonce_consumed(tx, str(err))
        except Underpriced as err:
            note = str(err)[:2000]
        except TransientChainError:
            raise
        except PermanentChainError as err:
            self.mark_stuck(tx, str(err))
            return tx
        now = timezone.now()
        tx.broadcast_count += 1
        tx.first_broadcast_at = tx.first_broadcast_at or now
        tx.last_broadcast_at = now
        tx.error = note or tx.error
        if tx.status == TxStatus.SIGNED:
            tx.status = TxStatus.SENT
        if save:
            tx.save(update_fields=_BROADCAST_FIELDS)
        return tx

    def mark_stuck(self, tx: AnchorTransaction, reason: str) -> None:
        """The node refuses ``tx`` for good: mark it stuck with the node's reason, and say so on its records.
        Nothing of this account moves past its nonce until an operator replaces it."""
        with transaction.atomic():
            tx.status = TxStatus.STUCK
            tx.error = reason[:2000]
            tx.save(update_fields=["status", "error"])
            AnchorRecord.objects.filter(anchor_tx=tx, status=AnchorStatus.SENT).update(last_error=(
                f"Transaction {tx.tx_hash} (nonce {tx.nonce}) is stuck: the node refuses it ({reason}). A platform "
                "admin must replace it (admin: Anchor transactions, action \"Replace the selected stuck "
                "transactions\")."
            )[:2000])
        if self.stuck is None or tx.nonce < self.stuck.nonce:
            self.stuck = tx
        logger.error("anchor transaction %s (nonce %s) is stuck: %s", tx.tx_hash, tx.nonce, reason)

    def maybe_bump(self, tx: AnchorTransaction) -> AnchorTransaction | None:
        """Re-sign ``tx`` with higher fees when ``decisions.fee_bump_due`` says so; the new version is stored
        before it is broadcast. Returns it, or None."""
        now = timezone.now()
        since = tx.first_broadcast_at or tx.created_at
        if (now - since).total_seconds() < self.fee_bump_after:
            return None
        if self.stuck is not None and tx.nonce > self.stuck.nonce:
            return None  # it waits behind the stuck nonce, not for a lower base fee
        base_fee, tip = self.fee_market()
        if not fee_bump_due(max_fee_per_gas=tx.max_fee_per_gas, base_fee=base_fee, waiting_since=since, now=now,
                            after_seconds=self.fee_bump_after):
            return None
        new = bump_fee(self.client, tx, base_fee=base_fee, tip=tip)
        if new is None:
            return None
        self._earlier.pop(tx.pk, None)
        self.report.fee_bumps += 1
        return self.broadcast(new)

    def fee_market(self) -> tuple[int, int]:
        now = time.monotonic()
        if self._fee_market is None or now - self._fee_market[0] >= FEE_MARKET_CACHE_SECONDS:
            self._fee_market = (now, self.client.fee_market())
        return self._fee_market[1]

    # --- receipts -------------------------------------------------------------------------------------

    def earlier_versions(self, tx: AnchorTransaction) -> list[AnchorTransaction]:
        """The replaced versions of ``tx``'s nonce (fee bumps, an operator's replacement): any may be mined."""
        if tx.pk not in self._earlier:
            self._earlier[tx.pk] = list(AnchorTransaction.objects.filter(
                deployment=self.deployment, sender=self.sender, nonce=tx.nonce, status=TxStatus.REPLACED,
            ).exclude(pk=tx.pk).order_by("-id"))
        return self._earlier[tx.pk]

    def find_receipt(self, tx: AnchorTransaction) -> tuple[AnchorTransaction, Receipt] | None:
        """The receipt of whichever version of ``tx``'s nonce was mined, with that version; or None."""
        receipt = self.client.receipt(tx.tx_hash)
        if receipt is not None:
            return tx, receipt
        for version in self.earlier_versions(tx):
            receipt = self.client.receipt(version.tx_hash)
            if receipt is not None:
                return version, receipt
        return None

    def on_found(self, current: AnchorTransaction, mined: AnchorTransaction, receipt: Receipt) -> AnchorTransaction:
        """Record the receipt of ``mined``. When it is an earlier version than ``current``, that one was mined
        instead: it takes the nonce back, ``current`` becomes replaced, and the records follow the mined one."""
        if mined.pk != current.pk:
            with transaction.atomic():
                current.status = TxStatus.REPLACED
                current.error = f"Its nonce went to {mined.tx_hash}, an earlier version mined first."
                current.save(update_fields=["status", "error"])
                mined.status = TxStatus.SENT
                mined.save(update_fields=["status"])
                AnchorRecord.objects.filter(anchor_tx=current, status=AnchorStatus.SENT).update(anchor_tx=mined)
            self._earlier.pop(current.pk, None)
            logger.info("nonce %s: the earlier version %s was mined, not %s", mined.nonce, mined.tx_hash,
                        current.tx_hash)
        if mined.status == TxStatus.SIGNED:
            mined.status = TxStatus.SENT
        self.on_receipt(mined, receipt)
        return mined

    def on_nonce_consumed(self, tx: AnchorTransaction, reason: str) -> AnchorTransaction:
        """The node says the nonce is used: by a version of this transaction (find its receipt) or by another."""
        for attempt in range(3):
            found = self.find_receipt(tx)
            if found is not None:
                return self.on_found(tx, *found)
            if attempt < 2:
                time.sleep(POLL_INTERVAL)
        if self.client.nonce("latest") > tx.nonce:
            self._next_nonce = None  # someone else spends this account's nonces: ask the chain again
            records = list(tx.records.filter(status=AnchorStatus.SENT))
            view = read_chain(self.client, self.deployment, records, confirmations=self.confirmations)
            with transaction.atomic():
                tx.status = TxStatus.DROPPED
                tx.error = f"Nonce {tx.nonce} was used by another transaction ({reason})."[:2000]
                tx.save(update_fields=["status", "error"])
                self.apply_recovery(records, view,
                                    reason=f"transaction {tx.tx_hash} was dropped: its nonce went to another transaction")
        else:
            # Another transaction with this nonce waits in the node's pool; ours stays stored and is re-sent.
            tx.error = reason[:2000]
            tx.save(update_fields=["error"])
        return tx

    def on_receipt(self, tx: AnchorTransaction, receipt: Receipt, records: list[AnchorRecord] | None = None) -> None:
        """Record where ``tx`` was mined, per record; confirm now if deep enough. A revert, or a record without
        its log, goes to recovery. ``records``: the records ``tx`` carries, when the caller has them at hand."""
        if records is None:
            records = list(tx.records.filter(status=AnchorStatus.SENT))
        reading = read_receipt([link_of(r) for r in records], status=receipt.status,
                               logs=receipt.anchored(self.contract))
        deep = self.deep_enough(receipt.block_number)
        by_id = {r.pk: r for r in records}
        unexplained = [by_id[link.id] for link in reading.unexplained]
        view = read_chain(self.client, self.deployment, unexplained, confirmations=self.confirmations) \
            if unexplained else None
        with transaction.atomic():
            tx.block_number = receipt.block_number
            tx.block_hash = receipt.block_hash
            tx.gas_used = receipt.gas_used
            if reading.reverted:
                tx.status = TxStatus.REVERTED
                tx.error = f"Reverted in block {receipt.block_number}."
            else:
                tx.status = TxStatus.CONFIRMED if deep else TxStatus.MINED
                tx.confirmed_at = timezone.now() if deep else None
            tx.save(update_fields=_RECEIPT_FIELDS)
            if reading.placed:
                place_records({pk: log.log_index for pk, log in reading.placed.items()}, tx=tx,
                              status=AnchorStatus.CONFIRMED if deep else AnchorStatus.SENT,
                              confirmed_at=tx.confirmed_at, block_number=receipt.block_number)
                self.on_chain.update(log.event_hash for log in reading.placed.values())
                if deep:
                    self.report.records_confirmed += len(reading.placed)
                    announce_confirmed(by_id[pk].key for pk in reading.placed)
            if view is not None:
                what = "reverted" if reading.reverted else "has no Anchored log for it"
                self.apply_recovery(unexplained, view, reason=f"transaction {tx.tx_hash} {what}")

    def check_confirmations(self, tx: AnchorTransaction) -> None:
        assert tx.block_number is not None
        if not self.deep_enough(tx.block_number):
            return
        receipt = self.client.receipt(tx.tx_hash)
        if receipt is None:  # a reorganization took it out of the chain: wait for it to be mined again
            tx.status = TxStatus.SENT
            tx.save(update_fields=["status"])
            return
        if receipt.block_hash != tx.block_hash:
            tx.status = TxStatus.SENT
            self.on_receipt(tx, receipt)  # placed afresh in its new block
            return
        now = timezone.now()
        with transaction.atomic():
            tx.status = TxStatus.CONFIRMED
            tx.confirmed_at = now
            tx.save(update_fields=["status", "confirmed_at"])
            keys = list(tx.records.filter(status=AnchorStatus.SENT).values_list("key", flat=True))
            count = tx.records.filter(status=AnchorStatus.SENT).update(status=AnchorStatus.CONFIRMED, confirmed_at=now)
            announce_confirmed(keys)
        self.report.records_confirmed += count

    def deep_enough(self, block_number: int) -> bool:
        if self.confirmations <= 1:
            return True
        return deep_enough(block_number=block_number, tip=self.client.block_number(),
                           confirmations=self.confirmations)

    # --- reorganizations -------------------------------------------------------------------------------

    def recheck_confirmed(self) -> int:
        """Re-check this account's confirmed transactions of the last ``ANCHOR_REORG_WINDOW_BLOCKS`` blocks
        against the node's chain, one block hash per block. One whose block was replaced (a reorganization
        deeper than ``ANCHOR_CONFIRMATIONS``) goes back to sent with its records: placed afresh where it was
        mined again, or else re-sent as the same bytes (its nonce is free again) by this run. The contract's
        head check keeps a record from being anchored twice. Returns how many transactions went back.

        Precondition: no database transaction is open (this reads the node)."""
        if self.reorg_window <= 0:
            return 0
        tip = self.client.block_number()
        recent = list(AnchorTransaction.objects.filter(
            deployment=self.deployment, sender=self.sender, status=TxStatus.CONFIRMED,
            block_number__gt=tip - self.reorg_window).exclude(block_hash="").order_by("nonce"))
        if not recent:
            return 0
        hashes = {number: self.client.block_hash(number) for number in sorted({int(tx.block_number or 0)
                                                                                for tx in recent})}
        moved = [tx for tx in recent if hashes[int(tx.block_number or 0)] != tx.block_hash]
        if moved and not self.client.code_at(self.contract):
            return 0  # not a reorganization: the node forgot the contract (a reset devnet; deploy_contract's case)
        for tx in moved:
            receipt = self.client.receipt(tx.tx_hash)
            left = tx.block_number
            with transaction.atomic():
                tx.status, tx.confirmed_at, tx.last_broadcast_at = TxStatus.SENT, None, None
                tx.block_number, tx.block_hash, tx.gas_used = None, "", None
                tx.error = f"Block {left} left the chain (a reorganization): sent again."
                tx.save(update_fields=["status", "confirmed_at", "last_broadcast_at", "block_number", "block_hash",
                                       "gas_used", "error"])
                AnchorRecord.objects.filter(anchor_tx=tx, status=AnchorStatus.CONFIRMED).update(
                    status=AnchorStatus.SENT, block_number=None, log_index=None, confirmed_at=None,
                    last_error=f"Its transaction {tx.tx_hash} left the chain in a reorganization (block {left}).")
            logger.warning("anchor transaction %s (nonce %s) left the chain with block %s (reorganization)",
                           tx.tx_hash, tx.nonce, left)
            if receipt is not None:
                self.on_receipt(tx, receipt)  # mined again in another block: placed there
        self.report.reorged += len(moved)
        return len(moved)

    # --- recovery -------------------------------------------------------------------------------------

    def recover(self, records: list[AnchorRecord], *, reason: str) -> None:
        """Settle ``records`` from the chain (``recovery``): read the chain first, then write, in a transaction."""
        if not records:
            return
        view = read_chain(self.client, self.deployment, records, confirmations=self.confirmations)
        with transaction.atomic():
            self.apply_recovery(records, view, reason=reason)

    def apply_recovery(self, records: list[AnchorRecord], view: ChainView, *, reason: str) -> None:
        outcome = apply_recovery(records, view, deployment=self.deployment, reason=reason,
                                 confirmations=self.confirmations)
        self.on_chain |= outcome.on_chain
        self.report.records_confirmed += outcome.confirmed
        self.report.records_failed += outcome.failed
        announce_confirmed(r.key for r in records if r.status == AnchorStatus.CONFIRMED)
