"""The transaction manager: the single broadcaster that moves outbox records onto the chain.

``run_once()`` is what the Celery doorbell (``chain_adapter.anchor_pending``) calls. It takes a PostgreSQL
advisory lock derived from (chain id, sender) on a connection of its own (``locks.broadcaster_lock``), so
exactly one process assigns the anchor account's nonces; a second caller returns at once. Holding the lock,
it loops:

1. advance the live transactions in nonce order (``txtracker``): broadcast what is signed but not sent,
   re-send the *same bytes* of what the node forgot, record receipts (of whichever version of a nonce was
   mined) and confirmations, bump the fee of what waits below a risen base fee, mark what the node refuses
   for good as ``stuck``;
2. plan the next batch from the pending records in id order (``decisions.plan_batch``): per key only the
   records whose predecessor is on chain already, or earlier in the same batch; a record whose predecessor
   the database does not know is checked against ``head(key)`` first;
3. estimate gas (a batch the contract would refuse is not sent: recovery decides each record from the chain),
   then, in one database transaction, lock the batch's rows, assign the next nonce, sign locally, and STORE
   the raw transaction and its hash with the records it carries; commit, and only THEN broadcast.

The one thing to know: no node call happens while a database transaction is open, and because step 3
commits before it broadcasts, a worker killed at any point leaves either nothing (the batch is still
pending) or a stored transaction whose bytes the next run re-sends; a nonce is never skipped and a batch is
re-signed only as a new version of its nonce (fee bump, operator's replacement). Should a duplicate ever
reach the chain, the contract's head check reverts it, and recovery (``recovery``) tells "anchored already"
from "still pending" from "the chain holds another history" (failed, shown in admin). While a transaction is
stuck, no new batch is signed: an operator replaces it in admin (``services.anchor_transaction_replace``).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from chain_adapter.client import ChainClient
from chain_adapter.conf import anchoring_settings, sender_count
from chain_adapter.contract import anchor_calldata
from chain_adapter.decisions import (
    BatchPlan,
    admit_checked,
    batch_cap,
    batch_wait_until,
    next_nonce,
)
from chain_adapter.errors import ContractReverted, NotDeployed, PermanentChainError, TransientChainError
from chain_adapter.locks import broadcaster_lock, broadcaster_lock_name, lock_id
from chain_adapter.models import (
    LIVE_TX_STATUSES,
    AnchorRecord,
    AnchorStatus,
    AnchorTransaction,
    ContractDeployment,
    TxStatus,
)
from chain_adapter.planning import plan_pending
from chain_adapter.selectors import deployment_current, in_lane, stored_nonce_max
from chain_adapter.txtracker import POLL_INTERVAL, RunReport, Tracker

__all__ = ["Broadcaster", "RunReport", "broadcaster_lock", "lock_key", "note_waiting", "run_lanes", "run_once"]

logger = logging.getLogger(__name__)

DEFAULT_BUDGET_SECONDS = 60.0  # one run holds the lock this long at most, then rings the doorbell again
REPLAN_AFTER_SECONDS = 1.0  # plan at least this often, whatever this run saw change


@dataclass(frozen=True)
class _Selection:
    sent: AnchorTransaction | None = None
    wait_until: datetime | None = None  # a partial batch waits for more records until then
    changed: bool = False  # recovery settled records without sending


def lock_key(chain_id: int, sender: str) -> int:
    """The advisory lock id of the broadcaster for ``sender`` on ``chain_id`` (a signed 64-bit integer)."""
    return lock_id(broadcaster_lock_name(chain_id, sender))


def run_once(*, client: ChainClient | None = None, budget_seconds: float | None = None, lane: int = 0,
             lanes: int | None = None) -> RunReport:
    """Anchor what waits in the outbox for anchor sender ``lane`` of ``lanes`` (default: the configured count),
    as the single broadcaster of that account.

    Returns at once (``acquired=False``) when another process holds the broadcaster lock. Otherwise runs
    until nothing is pending or in flight, or ``budget_seconds`` passed (then ``work_left``), or a stuck
    transaction blocks the account (then ``stuck_tx_hash``; the pending rows say so). Raises
    ``TransientChainError`` (node unreachable: rows stay pending, retry later) or ``PermanentChainError``
    (wrong chain, refused key, no deployment, a sender that is not an anchorer, a batch the contract refuses
    for a reason of its own).
    """
    lanes = sender_count() if lanes is None else lanes
    client = client or (ChainClient.from_settings(lane) if lane else ChainClient.from_settings())
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
            if lane and not client.is_anchorer(deployment.address, client.address):
                raise PermanentChainError(
                    f"Anchor sender {lane} ({client.address}) is not an anchorer of {deployment.address}: run "
                    "manage.py deploy_contract, which registers every configured sender."
                )
            broadcaster = Broadcaster(client, deployment, lane=lane, lanes=lanes)
            report = broadcaster.run(budget)
        except TransientChainError as err:
            note_waiting(str(err), lane=lane, lanes=lanes)
            raise
        if report.stuck_tx_hash and broadcaster.stuck is not None:
            stuck = broadcaster.stuck
            logger.warning("anchoring waits for an operator: transaction %s (nonce %s) is stuck", stuck.tx_hash,
                           stuck.nonce)
            note_waiting(f"transaction {stuck.tx_hash} (nonce {stuck.nonce}) is stuck: {stuck.error}. A platform "
                         "admin must replace it (admin: Anchor transactions).", prefix="Waiting for an operator",
                         lane=lane, lanes=lanes)
    # A record committed while the lock was being given up found it busy and went away: look once more.
    if not report.work_left and not report.stuck_tx_hash and broadcaster.pending().filter(
        id__gt=broadcaster.max_seen_id
    ).exists():
        report.work_left = True
    return report


def run_lanes(*, budget_seconds: float | None = None) -> RunReport:
    """Run the broadcaster of every anchor sender (``ANCHOR_SENDERS``) at once, a thread each, and sum their
    reports. One sender: ``run_once`` itself. Each thread holds its own sender's lock and database connection;
    a sender whose lock another process holds returns at once. The first chain error is raised once every
    thread has ended (the others' progress is kept)."""
    lanes = sender_count()
    if lanes == 1:
        return run_once(budget_seconds=budget_seconds)

    def one(lane: int) -> RunReport:
        try:
            return run_once(budget_seconds=budget_seconds, lane=lane, lanes=lanes)
        finally:
            connections.close_all()  # this thread's connections

    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="anchor-lane") as pool:
        futures = [pool.submit(one, lane) for lane in range(lanes)]
    total = RunReport(acquired=False)
    for future in futures:
        total.merge(future.result())  # re-raises the first lane's error
    return total


def note_waiting(reason: str, *, prefix: str = "Waiting for the chain", lane: int = 0, lanes: int = 1) -> None:
    """Say on the pending rows of sender ``lane`` why anchoring is stalled (shown in admin; they stay pending).

    Precondition: the caller holds that sender's broadcaster lock (no other process locks these rows meanwhile).
    """
    message = f"{prefix}: {reason}"[:2000]
    in_lane(AnchorRecord.objects.filter(status=AnchorStatus.PENDING), lane=lane, lanes=lanes).exclude(
        last_error=message).update(last_error=message)


class Broadcaster(Tracker):
    """One run of the broadcaster: the live transactions (``Tracker``) and new batches.

    Precondition: the caller holds ``broadcaster_lock`` for this account.
    """

    def __init__(self, client: ChainClient, deployment: ContractDeployment, *, lane: int = 0, lanes: int = 1) -> None:
        super().__init__(client, deployment)
        self.lane, self.lanes = lane, lanes
        conf = anchoring_settings()
        self.batch_size = conf.batch_size
        self.max_wait = timedelta(seconds=conf.max_wait_seconds)
        self.max_in_flight = conf.max_in_flight
        self.max_seen_id = 0
        self._chain_pending = 0
        self._batch_cap: int | None = None
        self._replan, self._planned_at, self._on_chain_seen = True, 0.0, 0

    # --- the loops ------------------------------------------------------------------------------------

    def run(self, budget: float) -> RunReport:
        deadline = time.monotonic() + budget
        self.sync_nonce()
        while True:
            progressed, live = self.advance_live()
            selection = _Selection()
            if self.stuck is None and live < self.max_in_flight and self._plan_due():
                selection = self._send_next_batch()
                self._after_plan(selection)
                if selection.sent is not None:
                    progressed = True
                    if selection.sent.status in LIVE_TX_STATUSES:
                        self.live.append(selection.sent)
                        live += 1
                progressed = progressed or selection.changed
            if self.blocked_by_stuck():
                assert self.stuck is not None
                self.report.stuck_tx_hash = self.stuck.tx_hash
                return self.report
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

    def drain(self, *, timeout: float) -> None:
        """Advance the live transactions until none is left, without signing new batches (before a contract
        deployment takes the next nonce). Raises ``PermanentChainError`` when one is stuck, and
        ``TransientChainError`` when some are still unmined after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        self.sync_nonce()
        while True:
            _progressed, live = self.advance_live()
            if self.stuck is not None:
                raise PermanentChainError(
                    f"Transaction {self.stuck.tx_hash} (nonce {self.stuck.nonce}) is stuck ({self.stuck.error}): "
                    "replace it in admin first."
                )
            if live == 0:
                return
            if time.monotonic() >= deadline:
                raise TransientChainError(f"{live} anchoring transaction(s) still wait to be mined; try again later.")
            time.sleep(POLL_INTERVAL)

    def _plan_due(self) -> bool:
        """Whether planning may find something new: the last plan sent, waited or changed something, a record
        of this run reached the chain since (a successor may go now), a record was added, or a second passed
        (a change made elsewhere). Planning blindly every loop re-reads the records waiting for their
        predecessors: with several senders polling, that cost more than the anchoring."""
        if self._replan or len(self.on_chain) != self._on_chain_seen:
            return True
        if time.monotonic() - self._planned_at >= REPLAN_AFTER_SECONDS:
            return True
        return AnchorRecord.objects.filter(status=AnchorStatus.PENDING, id__gt=self.max_seen_id).exists()

    def _after_plan(self, selection: _Selection) -> None:
        self._planned_at, self._on_chain_seen = time.monotonic(), len(self.on_chain)
        self._replan = selection.sent is not None or selection.wait_until is not None or selection.changed

    # --- nonces ---------------------------------------------------------------------------------------

    def sync_nonce(self) -> None:
        """Cross-check the stored nonces with the node once per run; take back what a reorganization removed
        (``recheck_confirmed``) and re-send what the node forgot."""
        self.recheck_confirmed()
        pending = self.client.nonce("pending")
        self.load_live()
        for index, tx in enumerate(list(self.live)):
            if tx.status in (TxStatus.SIGNED, TxStatus.SENT) and tx.nonce >= pending:
                self.live[index] = self.broadcast(tx)
        self._next_nonce = None
        self._chain_pending = pending

    def _take_nonce(self) -> int:
        """The next nonce: the stored sequence, cross-checked with the node's count read before the database
        transaction this runs in."""
        if self._next_nonce is None:
            stored = stored_nonce_max(deployment=self.deployment, sender=self.sender)
            self._next_nonce = next_nonce(stored_max=stored, chain_pending=self._chain_pending)
            if self._next_nonce > (0 if stored is None else stored + 1):
                logger.info("nonce: the chain is at %s, the database at %s (the account was used elsewhere)",
                            self._chain_pending, stored)
        nonce = self._next_nonce
        self._next_nonce += 1
        return nonce

    # --- new batches ----------------------------------------------------------------------------------

    def _cap(self) -> int:
        if self._batch_cap is None:
            gas_limit = int(self.client.latest_block().get("gasLimit") or 30_000_000)
            self._batch_cap = batch_cap(batch_size=self.batch_size, block_gas_limit=gas_limit)
        return self._batch_cap

    def _plan(self, cap: int) -> tuple[BatchPlan, dict[int, AnchorRecord]]:
        plan, rows, seen = plan_pending(cap=cap, lane=self.lane, lanes=self.lanes, on_chain=self.on_chain)
        self.max_seen_id = max(self.max_seen_id, seen)
        return plan, rows

    def pending(self) -> QuerySet[AnchorRecord]:
        """The pending records this sender anchors (its lane's keys)."""
        return in_lane(AnchorRecord.objects.filter(status=AnchorStatus.PENDING), lane=self.lane, lanes=self.lanes)

    def _send_next_batch(self) -> _Selection:
        cap = self._cap()
        plan, rows = self._plan(cap)
        links = list(plan.batch)
        changed = False
        if plan.unknown:
            heads = self.client.heads(self.contract, [link.key for link in plan.unknown])
            admitted, unresolved = admit_checked(plan, heads, cap=cap)
            links += admitted
            if unresolved:
                self.recover([rows[link.id] for link in unresolved], reason="checked against the chain before sending")
                changed = True
        if not links:
            return _Selection(changed=changed)
        batch = sorted((rows[link.id] for link in links), key=lambda r: r.pk)
        idle = not any(tx.status in (TxStatus.SIGNED, TxStatus.SENT) for tx in self.live)
        wait = batch_wait_until([r.created_at for r in batch], cap=cap, max_wait=self.max_wait, now=timezone.now(),
                                idle=idle)
        if wait is not None:
            return _Selection(wait_until=wait, changed=changed)
        data = anchor_calldata([r.key for r in batch], [r.prev_hash for r in batch], [r.event_hash for r in batch])
        try:
            gas = self.client.estimate_gas(to=self.contract, data=data)
        except ContractReverted as err:
            return self._refused(batch, err)
        fees = self.client.fees()
        if self._next_nonce is None:
            self._chain_pending = self.client.nonce("pending")
        # Sign and store, with no node call: the transaction exists in the database before it exists anywhere.
        with transaction.atomic():
            ids = [r.pk for r in batch]
            locked = AnchorRecord.objects.select_for_update(skip_locked=True).filter(pk__in=ids,
                                                                                    status=AnchorStatus.PENDING)
            if len(list(locked.values_list("pk", flat=True))) != len(ids):
                return _Selection(changed=True)  # something else took a record meanwhile: plan again
            nonce = self._take_nonce()
            try:
                signed = self.client.sign(to=self.contract, data=data, nonce=nonce, gas=gas, fees=fees)
                tx = AnchorTransaction.objects.create(
                    deployment=self.deployment, sender=self.sender, nonce=nonce, raw_tx=signed.raw,
                    tx_hash=signed.tx_hash, gas_limit=gas, max_fee_per_gas=fees.max_fee_per_gas,
                    max_priority_fee_per_gas=fees.max_priority_fee_per_gas, record_count=len(batch),
                )
                AnchorRecord.objects.filter(pk__in=ids).update(
                    status=AnchorStatus.SENT, anchor_tx=tx, attempts=F("attempts") + 1, last_error=""
                )
            except BaseException:
                self._next_nonce = None
                raise
        for record in batch:
            record.status, record.anchor_tx, record.last_error = AnchorStatus.SENT, tx, ""
            record.attempts += 1
        # Committed: from here on, a crash leaves a stored transaction that the next run re-sends.
        self.report.transactions_sent += 1
        tx = self.broadcast(tx, save=False)
        if tx.status == TxStatus.SENT:
            receipt = self.client.receipt(tx.tx_hash)
            if receipt is not None:
                self.on_receipt(tx, receipt, records=batch)
            else:
                tx.save(update_fields=["status", "broadcast_count", "first_broadcast_at", "last_broadcast_at",
                                       "error"])
        return _Selection(sent=tx)

    def _refused(self, batch: list[AnchorRecord], err: ContractReverted) -> _Selection:
        """The contract would revert the batch: settle each record from the chain instead of sending it."""
        if err.error_name not in ("HeadMismatch", "InvalidEventHash"):
            raise PermanentChainError(f"The contract refuses to anchor: {err}") from err
        before = {r.pk: r.status for r in batch}
        self.recover(batch, reason=f"the contract would refuse the batch ({err.error_name})")
        if err.error_name == "InvalidEventHash":
            index = int(str(err.error_args.get("index", -1)))
            if 0 <= index < len(batch) and batch[index].status == AnchorStatus.PENDING:
                bad = batch[index]
                bad.status = AnchorStatus.FAILED
                bad.last_error = "The contract refuses this record: its hash is zero or equals its predecessor."
                bad.save(update_fields=["status", "last_error"])
                self.report.records_failed += 1
        if all(r.status == before[r.pk] for r in batch):
            raise PermanentChainError(f"The contract refuses a batch that agrees with the chain heads: {err}")
        return _Selection(changed=True)
