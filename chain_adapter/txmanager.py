"""The transaction manager: the single broadcaster that moves outbox records onto the chain.

``run_once()`` is what the Celery doorbell (``chain_adapter.anchor_pending``) calls. It takes a PostgreSQL
advisory lock derived from (chain id, sender) on a connection of its own, so exactly one process assigns
the anchor account's nonces; a second caller returns at once. Holding the lock, it loops:

1. advance the live transactions in nonce order: broadcast what is signed but not sent, re-send the *same
   bytes* of what the node forgot, record receipts (tx hash, block, log index per record) and confirmations;
2. build the next batch from the pending records in id order (per-key chain order), keeping per key only the
   records whose predecessor is on chain already, or earlier in the same batch; a record whose predecessor
   the database does not know is checked against ``head(key)`` first;
3. estimate gas (a batch the contract would refuse is not sent: recovery decides each record from the chain),
   assign the next nonce, sign, and STORE the raw transaction and its hash with the records it carries,
   commit, and only THEN broadcast.

The one thing to know: because step 3 commits before it broadcasts, a worker killed at any point leaves
either nothing (the batch is still pending) or a stored transaction whose bytes the next run re-sends; a
nonce is never skipped and a batch is never signed twice. Should a duplicate ever reach the chain, the
contract's head check reverts it, and recovery reads ``head(key)`` and the ``Anchored`` logs to tell
"anchored already" from "still pending" from "the chain holds another history" (failed, shown in admin).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import F, Max
from django.utils import timezone
from eth_hash.auto import keccak

from chain_adapter.client import ChainClient, Receipt
from chain_adapter.contract import AnchoredLog, anchor_calldata
from chain_adapter.errors import (
    ContractReverted,
    NonceConsumed,
    NotDeployed,
    PermanentChainError,
    TransientChainError,
)
from chain_adapter.hashing import ZERO_HASH
from chain_adapter.models import (
    LIVE_TX_STATUSES,
    AnchorRecord,
    AnchorStatus,
    AnchorTransaction,
    ContractDeployment,
    TxStatus,
)
from chain_adapter.selectors import deployment_current

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.05  # receipt polling; web3's default 0.1 s halves throughput
REBROADCAST_AFTER = 3.0  # seconds without a receipt before the same bytes are sent again
DEFAULT_BUDGET_SECONDS = 60.0  # one run holds the lock this long at most, then rings the doorbell again
DEFAULT_MAX_IN_FLIGHT = 8  # signed transactions waiting to be mined at once
GAS_PER_ENTRY_BOUND = 30_000  # a batch entry costs ~25.8k gas at most (a key's first event)
GAS_PER_BATCH_OVERHEAD = 60_000
_RECORD_FIELDS = ["status", "last_error", "tx_hash", "block_number", "log_index", "confirmed_at", "anchor_tx"]
_BROADCAST_FIELDS = ["status", "broadcast_count", "first_broadcast_at", "last_broadcast_at"]
_RECEIPT_FIELDS = ["block_number", "block_hash", "gas_used", "confirmed_at", "error", *_BROADCAST_FIELDS]


@dataclass
class RunReport:
    """What one ``run_once`` did. ``work_left``: the caller should ring the doorbell again."""

    acquired: bool = True
    transactions_sent: int = 0
    records_confirmed: int = 0
    records_failed: int = 0
    work_left: bool = False


@dataclass(frozen=True)
class _Selection:
    sent: AnchorTransaction | None = None
    wait_until: datetime | None = None  # a partial batch waits for more records until then
    changed: bool = False  # recovery settled records without sending


def lock_key(chain_id: int, sender: str) -> int:
    """The advisory lock id of the broadcaster for ``sender`` on ``chain_id`` (a signed 64-bit integer)."""
    digest = keccak(f"chain_adapter.broadcaster:{chain_id}:{sender.lower()}".encode())
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def broadcaster_lock(chain_id: int, sender: str) -> Iterator[bool]:
    """Try to become the broadcaster; yields whether the lock was taken.

    The lock is a session-level ``pg_try_advisory_lock`` on a connection opened for it alone, so it outlives
    the short transactions of the run, and it is released when that connection closes, including when the
    process is killed (PostgreSQL ends the session).
    """
    conn = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_key(chain_id, sender)])
            acquired = bool(cursor.fetchone()[0])
        yield acquired
    finally:
        conn.close()


def run_once(*, client: ChainClient | None = None, budget_seconds: float | None = None) -> RunReport:
    """Anchor what waits in the outbox, as the single broadcaster of the anchor account.

    Returns at once (``acquired=False``) when another process holds the broadcaster lock. Otherwise runs
    until nothing is pending or in flight, or ``budget_seconds`` passed (then ``work_left``). Raises
    ``TransientChainError`` (node unreachable: rows stay pending, retry later) or ``PermanentChainError``
    (wrong chain, refused key, no deployment, a transaction the node refuses).
    """
    client = client or ChainClient.from_settings()
    budget = DEFAULT_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    with broadcaster_lock(client.expected_chain_id, client.address) as acquired:
        if not acquired:
            return RunReport(acquired=False)
        try:
            chain_id = client.connect()
            deployment = deployment_current(chain_id=chain_id)
            if deployment is None:
                raise NotDeployed(
                    f"No BillAnchor deployment is recorded for chain {chain_id}: run manage.py deploy_contract."
                )
            broadcaster = Broadcaster(client, deployment)
            report = broadcaster.run(budget)
        except TransientChainError as err:
            note_waiting(str(err))
            raise
    # A record committed while the lock was being given up found it busy and went away: look once more.
    if not report.work_left and AnchorRecord.objects.filter(
        status=AnchorStatus.PENDING, id__gt=broadcaster.max_seen_id
    ).exists():
        report.work_left = True
    return report


def note_waiting(reason: str) -> None:
    """Say on the pending rows why anchoring is stalled (shown in admin; they stay pending).

    Precondition: the caller holds the broadcaster lock (no other process locks these rows meanwhile).
    """
    message = f"Waiting for the chain: {reason}"[:2000]
    AnchorRecord.objects.filter(status=AnchorStatus.PENDING).exclude(last_error=message).update(last_error=message)


def _place_records(log_indexes: dict[int, int], *, status: str, confirmed_at: datetime | None, tx_hash: str,
                   block_number: int) -> None:
    """Record where the records ``{id: log index}`` were anchored, in one UPDATE.

    Plain SQL with arrays: Django's ``Case(When(...))`` for a log index per row costs seconds per thousand rows.
    """
    table = AnchorRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS r SET status = %s, confirmed_at = %s, tx_hash = %s, block_number = %s, "
            "log_index = v.log_index, last_error = '' "
            "FROM unnest(%s::bigint[], %s::integer[]) AS v(id, log_index) WHERE r.id = v.id",
            [status, confirmed_at, tx_hash, block_number, list(log_indexes), list(log_indexes.values())],
        )


class Broadcaster:
    """One run of the broadcaster. Precondition: the caller holds ``broadcaster_lock`` for this account."""

    def __init__(self, client: ChainClient, deployment: ContractDeployment) -> None:
        self.client = client
        self.deployment = deployment
        self.contract = deployment.address
        self.sender = client.address
        self.batch_size = int(settings.ANCHOR_BATCH_SIZE)
        self.max_wait = timedelta(seconds=float(settings.ANCHOR_MAX_WAIT_SECONDS))
        self.confirmations = int(settings.ANCHOR_CONFIRMATIONS)
        self.max_in_flight = int(getattr(settings, "ANCHOR_MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT))
        self.report = RunReport()
        self.max_seen_id = 0
        self._next_nonce: int | None = None
        self._batch_cap: int | None = None
        # As the only broadcaster, this run knows what it changes: the live transactions (loaded once, then
        # kept here) and the event hashes it saw mined (predecessors that need no database look-up).
        self._live_txs: list[AnchorTransaction] = []
        self._on_chain: set[str] = set()

    # --- the loop -------------------------------------------------------------------------------------

    def run(self, budget: float) -> RunReport:
        deadline = time.monotonic() + budget
        self._sync_nonce()
        while True:
            progressed, live = self._advance_live()
            selection = _Selection()
            if live < self.max_in_flight:
                selection = self._send_next_batch()
                if selection.sent is not None:
                    progressed = True
                    if selection.sent.status in LIVE_TX_STATUSES:
                        self._live_txs.append(selection.sent)
                        live += 1
                progressed = progressed or selection.changed
            if live == 0 and selection.sent is None and selection.wait_until is None and not selection.changed:
                return self.report
            if time.monotonic() >= deadline:
                self.report.work_left = True
                return self.report
            if not progressed:
                pause = POLL_INTERVAL
                if live == 0 and selection.wait_until is not None:
                    pause = min(max((selection.wait_until - timezone.now()).total_seconds(), 0.0), 0.25)
                time.sleep(pause)

    # --- live transactions ----------------------------------------------------------------------------

    def _load_live(self) -> None:
        self._live_txs = list(
            AnchorTransaction.objects.filter(
                deployment=self.deployment, sender=self.sender, status__in=LIVE_TX_STATUSES
            ).order_by("nonce")
        )

    def _advance_live(self) -> tuple[bool, int]:
        """Advance every live transaction one step. Returns (anything changed, how many are still live)."""
        progressed = False
        for tx in list(self._live_txs):
            before = (tx.status, tx.broadcast_count)
            self._advance(tx)
            progressed = progressed or (tx.status, tx.broadcast_count) != before
        self._live_txs = [tx for tx in self._live_txs if tx.status in LIVE_TX_STATUSES]
        return progressed, len(self._live_txs)

    def _advance(self, tx: AnchorTransaction) -> bool:
        """Move ``tx`` forward as far as the chain allows now. Returns True once it is final."""
        if tx.status == TxStatus.SIGNED:
            self._broadcast(tx)
        if tx.status == TxStatus.SENT:
            receipt = self.client.receipt(tx.tx_hash)
            if receipt is not None:
                self._on_receipt(tx, receipt)
            elif tx.last_broadcast_at is None or (
                timezone.now() - tx.last_broadcast_at
            ).total_seconds() >= REBROADCAST_AFTER:
                self._broadcast(tx)  # the node may have lost it (restart): the same bytes again
        if tx.status == TxStatus.MINED:
            self._check_confirmations(tx)
        return tx.status not in LIVE_TX_STATUSES

    def _broadcast(self, tx: AnchorTransaction, *, save: bool = True) -> None:
        """Send the stored bytes of ``tx``; never re-signs. ``save=False`` leaves writing the broadcast
        fields to the caller (who records the receipt in the same write)."""
        try:
            self.client.broadcast(tx.raw_tx)
        except NonceConsumed as err:
            self._on_nonce_consumed(tx, str(err))
            return
        except PermanentChainError as err:
            tx.error = str(err)[:2000]
            tx.save(update_fields=["error"])
            AnchorRecord.objects.filter(anchor_tx=tx, status=AnchorStatus.SENT).update(
                last_error=f"The node refuses transaction {tx.tx_hash}: {err}"[:2000]
            )
            raise
        now = timezone.now()
        tx.broadcast_count += 1
        tx.first_broadcast_at = tx.first_broadcast_at or now
        tx.last_broadcast_at = now
        if tx.status == TxStatus.SIGNED:
            tx.status = TxStatus.SENT
        if save:
            tx.save(update_fields=_BROADCAST_FIELDS)

    def _on_nonce_consumed(self, tx: AnchorTransaction, reason: str) -> None:
        """The node says the nonce is used: by this very transaction (find its receipt) or by another."""
        for attempt in range(3):
            receipt = self.client.receipt(tx.tx_hash)
            if receipt is not None:
                if tx.status == TxStatus.SIGNED:
                    tx.status = TxStatus.SENT
                    tx.save(update_fields=["status"])
                self._on_receipt(tx, receipt)
                return
            if attempt < 2:
                time.sleep(POLL_INTERVAL)
        if self.client.nonce("latest") > tx.nonce:
            self._next_nonce = None  # someone else spends this account's nonces: ask the chain again
            with transaction.atomic():
                tx.status = TxStatus.DROPPED
                tx.error = f"Nonce {tx.nonce} was used by another transaction ({reason})."
                tx.save(update_fields=["status", "error"])
                self._recover(list(tx.records.filter(status=AnchorStatus.SENT)),
                              reason=f"transaction {tx.tx_hash} was dropped: its nonce went to another transaction")
        else:
            # Another transaction with this nonce waits in the node's pool; ours stays stored and is re-sent.
            tx.error = reason[:2000]
            tx.save(update_fields=["error"])

    def _on_receipt(self, tx: AnchorTransaction, receipt: Receipt,
                    records: list[AnchorRecord] | None = None) -> None:
        """Record where ``tx`` was mined, per record; confirm now if deep enough. A revert goes to recovery.

        ``records``: the records ``tx`` carries, when the caller has them at hand (else they are read).
        """
        with transaction.atomic():
            tx.block_number = receipt.block_number
            tx.block_hash = receipt.block_hash
            tx.gas_used = receipt.gas_used
            if records is None:
                records = list(tx.records.filter(status=AnchorStatus.SENT))
            if receipt.status != 1:
                tx.status = TxStatus.REVERTED
                tx.error = f"Reverted in block {receipt.block_number}."
                tx.save(update_fields=_RECEIPT_FIELDS)
                self._recover(records, reason=f"transaction {tx.tx_hash} reverted")
                return
            logs = {log.event_hash: log for log in receipt.anchored(self.contract)}
            deep = self._deep_enough(receipt.block_number)
            now = timezone.now()
            placed: dict[int, int] = {}
            unexplained = []
            for record in records:
                log = logs.get(record.event_hash)
                if log is None or log.key != record.key or log.prev_hash != record.prev_hash:
                    unexplained.append(record)
                else:
                    placed[record.pk] = log.log_index
                    self._on_chain.add(record.event_hash)
            tx.status = TxStatus.CONFIRMED if deep else TxStatus.MINED
            tx.confirmed_at = now if deep else None
            tx.save(update_fields=_RECEIPT_FIELDS)
            if placed:
                _place_records(placed, status=AnchorStatus.CONFIRMED if deep else AnchorStatus.SENT,
                               confirmed_at=now if deep else None, tx_hash=tx.tx_hash,
                               block_number=receipt.block_number)
            if deep:
                self.report.records_confirmed += len(placed)
            if unexplained:
                self._recover(unexplained, reason=f"transaction {tx.tx_hash} has no Anchored log for it")

    def _check_confirmations(self, tx: AnchorTransaction) -> None:
        assert tx.block_number is not None
        if not self._deep_enough(tx.block_number):
            return
        receipt = self.client.receipt(tx.tx_hash)
        if receipt is None:  # a reorganization took it out of the chain: wait for it to be mined again
            tx.status = TxStatus.SENT
            tx.save(update_fields=["status"])
            return
        if receipt.block_hash != tx.block_hash:
            tx.status = TxStatus.SENT
            self._on_receipt(tx, receipt)  # placed afresh in its new block
            return
        now = timezone.now()
        with transaction.atomic():
            tx.status = TxStatus.CONFIRMED
            tx.confirmed_at = now
            tx.save(update_fields=["status", "confirmed_at"])
            count = tx.records.filter(status=AnchorStatus.SENT).update(status=AnchorStatus.CONFIRMED, confirmed_at=now)
        self.report.records_confirmed += count

    def _deep_enough(self, block_number: int) -> bool:
        if self.confirmations <= 1:
            return True
        return self.client.block_number() - block_number + 1 >= self.confirmations

    @staticmethod
    def _place(record: AnchorRecord, log: AnchoredLog) -> None:
        record.tx_hash = log.tx_hash
        record.block_number = log.block_number
        record.log_index = log.log_index

    # --- recovery -------------------------------------------------------------------------------------

    def _recover(self, records: list[AnchorRecord], *, reason: str) -> None:
        """Decide each record from the chain, not by resending: anchored already (its ``Anchored`` log is
        there), still pending (its predecessor is the key's head, or itself waits to be anchored), or failed
        (the key's head is something else: the chain holds another history). Caller is in a transaction."""
        if not records:
            return
        keys = sorted({r.key for r in records})
        heads = self.client.heads(self.contract, keys)
        logs = {(log.key, log.event_hash): log for log in self.client.anchored_logs(
            self.contract, keys=keys, from_block=self.deployment.block_number)}
        waiting = set(
            AnchorRecord.objects.filter(key__in=keys, status=AnchorStatus.PENDING).values_list("event_hash", flat=True)
        )
        ours = {t.tx_hash: t for t in AnchorTransaction.objects.filter(
            deployment=self.deployment, tx_hash__in={log.tx_hash for log in logs.values()})}
        now = timezone.now()
        for record in sorted(records, key=lambda r: r.id):
            log = logs.get((record.key, record.event_hash))
            head = heads[record.key]
            if log is not None and log.prev_hash == record.prev_hash:
                self._place(record, log)
                self._on_chain.add(record.event_hash)
                carrier = ours.get(log.tx_hash)
                if carrier is not None and carrier.status in LIVE_TX_STATUSES and not self._deep_enough(log.block_number):
                    record.status, record.anchor_tx = AnchorStatus.SENT, carrier
                else:
                    record.status, record.confirmed_at = AnchorStatus.CONFIRMED, now
                    record.anchor_tx = carrier or record.anchor_tx
                    self.report.records_confirmed += 1
                record.last_error = ""
            elif head == record.prev_hash or record.prev_hash in waiting:
                record.status = AnchorStatus.PENDING
                record.last_error = f"{reason}; still pending, it will be sent again."[:2000]
                waiting.add(record.event_hash)
            else:
                record.status = AnchorStatus.FAILED
                record.last_error = (
                    f"{reason}. On chain, the head of key {record.key} is {head}: neither this record's "
                    f"predecessor {record.prev_hash} nor a record waiting to be anchored. The chain holds "
                    "another history for this key; retry once that is resolved."
                )
                self.report.records_failed += 1
                logger.error("anchor record %s failed: %s", record.id, record.last_error)
        AnchorRecord.objects.bulk_update(records, _RECORD_FIELDS)

    # --- new batches ----------------------------------------------------------------------------------

    def _sync_nonce(self) -> None:
        """Cross-check the stored nonces with the node once per run; re-send what the node forgot."""
        pending = self.client.nonce("pending")
        self._load_live()
        for tx in self._live_txs:
            if tx.status in (TxStatus.SIGNED, TxStatus.SENT) and tx.nonce >= pending:
                self._broadcast(tx)
        self._next_nonce = None

    def _take_nonce(self) -> int:
        if self._next_nonce is None:
            stored = AnchorTransaction.objects.filter(deployment=self.deployment, sender=self.sender).aggregate(
                n=Max("nonce"))["n"]
            from_db = 0 if stored is None else stored + 1
            from_chain = self.client.nonce("pending")
            if from_chain > from_db:
                logger.info("nonce: the chain is at %s, the database at %s (the account was used elsewhere)",
                            from_chain, from_db)
            self._next_nonce = max(from_db, from_chain)
        nonce = self._next_nonce
        self._next_nonce += 1
        return nonce

    def _cap(self) -> int:
        """The batch size, bounded so that a batch uses at most half a block's gas."""
        if self._batch_cap is None:
            gas_limit = int(self.client.latest_block().get("gasLimit") or 30_000_000)
            by_gas = max(1, (gas_limit // 2 - GAS_PER_BATCH_OVERHEAD) // GAS_PER_ENTRY_BOUND)
            self._batch_cap = max(1, min(self.batch_size, by_gas))
        return self._batch_cap

    def _send_next_batch(self) -> _Selection:
        cap = self._cap()
        with transaction.atomic():
            batch, unknown = self._select(cap)
            changed = False
            if unknown:
                heads = self.client.heads(self.contract, [r.key for r in unknown])
                unresolved = [r for r in unknown if heads[r.key] != r.prev_hash]
                for record in unknown:
                    if heads[record.key] == record.prev_hash and len(batch) < cap:
                        batch.append(record)
                self._recover(unresolved, reason="checked against the chain before sending")
                changed = bool(unresolved)
            if not batch:
                return _Selection(changed=changed)
            if len(batch) < cap:
                due = min(r.created_at for r in batch) + self.max_wait
                if timezone.now() < due:
                    return _Selection(wait_until=due, changed=changed)
            batch.sort(key=lambda r: r.id)
            data = anchor_calldata([r.key for r in batch], [r.prev_hash for r in batch],
                                   [r.event_hash for r in batch])
            try:
                gas = self.client.estimate_gas(to=self.contract, data=data)
            except ContractReverted as err:
                return self._refused(batch, err)
            fees = self.client.fees()
            nonce = self._take_nonce()
            try:
                signed = self.client.sign(to=self.contract, data=data, nonce=nonce, gas=gas, fees=fees)
                tx = AnchorTransaction.objects.create(
                    deployment=self.deployment, sender=self.sender, nonce=nonce, raw_tx=signed.raw,
                    tx_hash=signed.tx_hash, gas_limit=gas, max_fee_per_gas=fees.max_fee_per_gas,
                    max_priority_fee_per_gas=fees.max_priority_fee_per_gas, record_count=len(batch),
                )
                AnchorRecord.objects.filter(pk__in=[r.pk for r in batch]).update(
                    status=AnchorStatus.SENT, anchor_tx=tx, attempts=F("attempts") + 1, last_error=""
                )
                for record in batch:
                    record.status, record.anchor_tx, record.last_error = AnchorStatus.SENT, tx, ""
                    record.attempts += 1
            except BaseException:
                self._next_nonce = None
                raise
        # Committed: from here on, a crash leaves a stored transaction that the next run re-sends.
        self.report.transactions_sent += 1
        self._broadcast(tx, save=False)
        if tx.status == TxStatus.SENT:
            receipt = self.client.receipt(tx.tx_hash)
            if receipt is not None:
                self._on_receipt(tx, receipt, records=batch)
            else:
                tx.save(update_fields=_BROADCAST_FIELDS)
        return _Selection(sent=tx)

    def _refused(self, batch: list[AnchorRecord], err: ContractReverted) -> _Selection:
        """The contract would revert the batch: settle each record from the chain instead of sending it."""
        if err.error_name not in ("HeadMismatch", "InvalidEventHash"):
            raise PermanentChainError(f"The contract refuses to anchor: {err}") from err
        before = {r.pk: r.status for r in batch}
        self._recover(batch, reason=f"the contract would refuse the batch ({err.error_name})")
        if err.error_name == "InvalidEventHash":
            index = int(err.error_args.get("index", -1))  # type: ignore[call-overload]
            if 0 <= index < len(batch) and batch[index].status == AnchorStatus.PENDING:
                bad = batch[index]
                bad.status = AnchorStatus.FAILED
                bad.last_error = "The contract refuses this record: its hash is zero or equals its predecessor."
                bad.save(update_fields=["status", "last_error"])
                self.report.records_failed += 1
        if all(r.status == before[r.pk] for r in batch):
            raise PermanentChainError(f"The contract refuses a batch that agrees with the chain heads: {err}")
        return _Selection(changed=True)

    def _select(self, cap: int) -> tuple[list[AnchorRecord], list[AnchorRecord]]:
        """Pending records in id order that can go into the next batch, locked (skip locked).

        Per key: the first pending record goes in when its predecessor is on chain (confirmed, or in a mined
        transaction) or it is the key's first; later ones when their predecessor is earlier in this batch.
        Returns (batch, records whose predecessor the database does not know: to check on chain).
        """
        batch: list[AnchorRecord] = []
        unknown: list[AnchorRecord] = []
        tails: dict[str, str] = {}
        blocked: set[str] = set()
        scan = max(cap * 2, 32)
        last_id = 0
        while len(batch) < cap:
            rows = list(
                AnchorRecord.objects.select_for_update(skip_locked=True)
                .filter(status=AnchorStatus.PENDING, id__gt=last_id)
                .order_by("id")[:scan]
            )
            if not rows:
                break
            last_id = rows[-1].id
            self.max_seen_id = max(self.max_seen_id, last_id)
            wanted = {r.prev_hash for r in rows
                      if r.prev_hash != ZERO_HASH and r.key not in tails and r.prev_hash not in self._on_chain}
            predecessors = {
                p["event_hash"]: p
                for p in AnchorRecord.objects.filter(event_hash__in=wanted).values(
                    "event_hash", "status", "anchor_tx__status"
                )
            } if wanted else {}
            for record in rows:
                if record.key in blocked:
                    continue
                tail = tails.get(record.key)
                if tail is not None:
                    eligible = record.prev_hash == tail
                elif record.prev_hash == ZERO_HASH or record.prev_hash in self._on_chain:
                    eligible = True
                else:
                    before = predecessors.get(record.prev_hash)
                    if before is None:
                        unknown.append(record)
                        blocked.add(record.key)
                        continue
                    eligible = before["status"] == AnchorStatus.CONFIRMED or (
                        before["status"] == AnchorStatus.SENT and before["anchor_tx__status"] == TxStatus.MINED
                    )
                if not eligible:
                    blocked.add(record.key)
                    continue
                batch.append(record)
                tails[record.key] = record.event_hash
                if len(batch) == cap:
                    break
            if len(rows) < scan:
                break
        return batch, unknown
