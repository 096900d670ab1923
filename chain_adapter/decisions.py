"""The transaction manager's decisions, as pure functions: data in, data out.

What goes into the next batch, what a receipt means, what recovery decides for each record, when a fee is
bumped and to what, and what a node's refusal means. Nothing here reads the database, calls the node or the
clock (``now`` is an argument): ``txmanager``, ``txtracker``, ``recovery`` and ``replacement`` read the facts,
ask these functions, and apply the answer. ``tests/chain_adapter/test_decisions.py`` tests them without a node.

The one thing to know: every rule about *which* record or transaction does *what* lives here; the modules
around it only move data between PostgreSQL and the node, and keep chain calls out of database transactions.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chain_adapter.contract import AnchoredLog
from chain_adapter.hashing import ZERO_HASH

GAS_PER_ENTRY_BOUND = 30_000  # a batch entry costs ~25.8k gas at most (a key's first event)
GAS_PER_BATCH_OVERHEAD = 60_000
NOOP_GAS = 21_000  # a 0-value self-transfer
# Nodes accept a replacement of a pending transaction only when both fee caps rise by at least 10 %
# (geth, Erigon, Besu, Nethermind); 12.5 % leaves room for rounding.
FEE_BUMP_NUMERATOR, FEE_BUMP_DENOMINATOR = 9, 8


@dataclass(frozen=True)
class Fees:
    """EIP-1559 fee caps of a transaction, in wei per gas."""

    max_fee_per_gas: int
    max_priority_fee_per_gas: int


@dataclass(frozen=True)
class Link:
    """A record as the decisions see it: its id (chain order within a key) and its link of the hash chain."""

    id: int
    key: str
    prev_hash: str
    event_hash: str


# --- what to batch --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchPlan:
    """The next batch as planned so far. ``unknown``: records whose predecessor the database does not know
    (to check against ``head(key)``); ``tails``/``blocked``: per key, the last hash in the batch, or why
    nothing more of that key may go in."""

    batch: tuple[Link, ...] = ()
    unknown: tuple[Link, ...] = ()
    tails: Mapping[str, str] = field(default_factory=dict)
    blocked: frozenset[str] = frozenset()


@dataclass
class RunReport:
    """What one broadcaster run did. ``work_left``: the caller should ring the doorbell again.
    ``stuck_tx_hash``: anchoring waits for an operator to replace this transaction."""

    acquired: bool = True
    transactions_sent: int = 0
    records_confirmed: int = 0
    records_failed: int = 0
    fee_bumps: int = 0
    reorged: int = 0  # confirmed transactions found out of the chain (a reorganization) and taken back
    work_left: bool = False
    stuck_tx_hash: str = ""

    def merge(self, other: RunReport) -> None:
        """Add ``other`` (another sender's run) to this one: counts add up, any lane's flags count."""
        self.acquired = self.acquired or other.acquired
        for name in ("transactions_sent", "records_confirmed", "records_failed", "fee_bumps", "reorged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.work_left = self.work_left or other.work_left
        self.stuck_tx_hash = self.stuck_tx_hash or other.stuck_tx_hash


LANE_HEX_DIGITS = 7  # a key's last 28 bits choose its lane: non-negative as a PostgreSQL integer too


def lane_of(key: str, lanes: int) -> int:
    """The anchor sender (lane) that anchors every record of ``key``: the key's last 28 bits modulo the number of
    senders. All records of a bill go through one sender's nonce sequence, in order; keys are keccak hashes, so
    lanes are even. ``selectors.in_lane`` is the same rule in SQL."""
    return int(key[-LANE_HEX_DIGITS:], 16) % lanes if lanes > 1 else 0


def predecessor_on_chain(record_status: str, tx_status: str | None) -> bool:
    """Whether a predecessor known to the database is on chain: confirmed, or carried by a mined transaction.
    (The values of ``AnchorStatus`` and ``TxStatus``; this module does not import Django models.)"""
    return record_status == "confirmed" or (record_status == "sent" and tx_status == "mined")


def plan_batch(rows: Iterable[Link], *, cap: int, on_chain: Set[str], predecessors: Mapping[str, bool],
               plan: BatchPlan | None = None) -> BatchPlan:
    """Extend ``plan`` with ``rows``: pending records in id order (per-key chain order).

    Per key, the first pending record goes in when it is the key's first (zero predecessor), when its
    predecessor is on chain (``on_chain``, or ``predecessors[prev] is True``), and later ones when their
    predecessor is earlier in the batch. A key stops at its first record that may not go in. ``predecessors``
    maps the predecessor hashes the database knows to whether they are on chain; a predecessor missing from
    it is unknown: its record goes to ``unknown`` and its key stops.
    """
    plan = plan or BatchPlan()
    batch, unknown = list(plan.batch), list(plan.unknown)
    tails, blocked = dict(plan.tails), set(plan.blocked)
    for record in rows:
        if len(batch) >= cap:
            break
        if record.key in blocked:
            continue
        tail = tails.get(record.key)
        if tail is not None:
            eligible = record.prev_hash == tail
        elif record.prev_hash == ZERO_HASH or record.prev_hash in on_chain:
            eligible = True
        elif record.prev_hash not in predecessors:
            unknown.append(record)
            blocked.add(record.key)
            continue
        else:
            eligible = predecessors[record.prev_hash]
        if not eligible:
            blocked.add(record.key)
            continue
        batch.append(record)
        tails[record.key] = record.event_hash
    return BatchPlan(tuple(batch), tuple(unknown), tails, frozenset(blocked))


def admit_checked(plan: BatchPlan, heads: Mapping[str, str], *, cap: int) -> tuple[list[Link], list[Link]]:
    """Decide the records of ``plan.unknown`` by their key's head on chain.

    Returns (records to add to the batch: their predecessor is the head, while the batch has room;
    records to settle by recovery: their predecessor is not the head).
    """
    room = cap - len(plan.batch)
    admitted: list[Link] = []
    unresolved: list[Link] = []
    for record in plan.unknown:
        if heads[record.key] != record.prev_hash:
            unresolved.append(record)
        elif len(admitted) < room:
            admitted.append(record)
    return admitted, unresolved


def batch_wait_until(created: Sequence[datetime], *, cap: int, max_wait: timedelta,
                     now: datetime, idle: bool = False) -> datetime | None:
    """When a batch of records created at ``created`` should go: None for now (it is full, or its oldest
    record waited ``max_wait``, or the sender is ``idle``), else the time until which it waits for more records.

    ``idle``: none of the sender's transactions waits to be mined. Waiting then gains nothing (Nagle's rule):
    the batch goes into the next block, and what arrives meanwhile fills the batch after it, so batches grow
    with the load (arrivals per block) and a lone transition is not held ``max_wait`` on a quiet platform."""
    if not created or len(created) >= cap or idle:
        return None
    due = min(created) + max_wait
    return due if now < due else None


def batch_cap(*, batch_size: int, block_gas_limit: int) -> int:
    """The batch size, bounded so that a batch uses at most half a block's gas (at least one record)."""
    by_gas = (block_gas_limit // 2 - GAS_PER_BATCH_OVERHEAD) // GAS_PER_ENTRY_BOUND
    return max(1, min(batch_size, by_gas))


def next_nonce(*, stored_max: int | None, chain_pending: int) -> int:
    """The nonce of the next transaction: after the stored ones, or the node's count when the account was
    used elsewhere (the node's count is never trusted alone: signed transactions may not be broadcast yet)."""
    from_db = 0 if stored_max is None else stored_max + 1
    return max(from_db, chain_pending)


# --- what a receipt means -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptReading:
    """``placed``: record id → its ``Anchored`` log in this receipt; ``unexplained``: records the transaction
    carried without a matching log (or all of them, when it reverted)."""

    reverted: bool
    placed: Mapping[int, AnchoredLog]
    unexplained: tuple[Link, ...]


def read_receipt(records: Iterable[Link], *, status: int, logs: Iterable[AnchoredLog]) -> ReceiptReading:
    """What a receipt says about the records its transaction carries: each has its log (same key, prev and
    hash), or is unexplained and goes to recovery. A reverted transaction explains none of them."""
    records = list(records)
    if status != 1:
        return ReceiptReading(True, {}, tuple(records))
    by_hash = {log.event_hash: log for log in logs}
    placed: dict[int, AnchoredLog] = {}
    unexplained: list[Link] = []
    for record in records:
        log = by_hash.get(record.event_hash)
        if log is None or log.key != record.key or log.prev_hash != record.prev_hash:
            unexplained.append(record)
        else:
            placed[record.id] = log
    return ReceiptReading(False, placed, tuple(unexplained))


def deep_enough(*, block_number: int, tip: int, confirmations: int) -> bool:
    """Whether a block is buried under enough blocks to count as confirmed (``tip``: the newest block)."""
    return confirmations <= 1 or tip - block_number + 1 >= confirmations


# --- what recovery decides ------------------------------------------------------------------------------


class Verdict(enum.StrEnum):
    ANCHORED = "anchored"  # its Anchored log is on chain (after its predecessor)
    PENDING = "pending"  # its predecessor is the head, or waits to be anchored itself: send it again
    CONFLICT = "conflict"  # the head is something else: the chain holds another history for the key


@dataclass(frozen=True)
class RecoveryDecision:
    record: Link
    verdict: Verdict
    head: str
    log: AnchoredLog | None = None


def decide_recovery(records: Iterable[Link], *, heads: Mapping[str, str],
                    logs: Mapping[tuple[str, str], AnchoredLog], waiting: Set[str]) -> list[RecoveryDecision]:
    """Decide each record from the chain, in id order, never by resending blindly.

    ``heads``: ``head(key)`` per key; ``logs``: the contract's ``Anchored`` logs by (key, event hash);
    ``waiting``: event hashes of records still pending. A record decided pending counts as waiting for its
    successors in the same call.
    """
    waiting = set(waiting)
    decisions = []
    for record in sorted(records, key=lambda r: r.id):
        log = logs.get((record.key, record.event_hash))
        head = heads[record.key]
        if log is not None and log.prev_hash == record.prev_hash:
            decisions.append(RecoveryDecision(record, Verdict.ANCHORED, head, log))
        elif head == record.prev_hash or record.prev_hash in waiting:
            decisions.append(RecoveryDecision(record, Verdict.PENDING, head))
            waiting.add(record.event_hash)
        else:
            decisions.append(RecoveryDecision(record, Verdict.CONFLICT, head))
    return decisions


# --- fees and replacements ------------------------------------------------------------------------------


def fee_bump_due(*, max_fee_per_gas: int, base_fee: int, waiting_since: datetime, now: datetime,
                 after_seconds: float) -> bool:
    """A transaction is re-signed with higher fees when its fee cap is below the base fee (no block can
    include it) and it has waited ``after_seconds`` since it was signed or first broadcast."""
    return max_fee_per_gas < base_fee and (now - waiting_since).total_seconds() >= after_seconds


def _raised(value: int) -> int:
    return -(-value * FEE_BUMP_NUMERATOR // FEE_BUMP_DENOMINATOR)  # rounded up


def bumped_fees(old: Fees, *, base_fee: int, tip: int) -> Fees:
    """Fees for a replacement of the same nonce: both caps at least 12.5 % above the old ones (nodes refuse a
    replacement below +10 %), and at least what a new transaction would pay now (twice the base fee plus
    the suggested tip)."""
    priority = max(_raised(old.max_priority_fee_per_gas), tip)
    max_fee = max(_raised(old.max_fee_per_gas), 2 * base_fee + priority)
    return Fees(max_fee_per_gas=max_fee, max_priority_fee_per_gas=priority)


def replacement_carries_records(*, record_count: int, estimate_ok: bool, gas: int, block_gas_limit: int) -> bool:
    """A stuck transaction is replaced by the same records when it carries some, the contract would accept
    them now (the estimate passed) and they fit in a block; otherwise by a no-op that spends the nonce."""
    return record_count > 0 and estimate_ok and gas <= block_gas_limit


# --- what a node's refusal means ------------------------------------------------------------------------


class Refusal(enum.StrEnum):
    KNOWN = "known"  # the node has these bytes already: success
    NONCE_USED = "nonce_used"  # mined, or another transaction holds the nonce
    UNDERPRICED = "underpriced"  # the fee cap is below the base fee: wait, or bump the fee
    NO_FUNDS = "no_funds"  # the account cannot pay for gas yet
    TRANSIENT = "transient"  # try again later
    PERMANENT = "permanent"  # these bytes will never be accepted: the transaction is stuck


# Substrings of JSON-RPC error messages (geth, Anvil, Nethermind, Erigon, Besu).
_ALREADY_KNOWN = ("already known", "already imported", "known transaction", "alreadyknown")
_NONCE_USED = ("nonce too low", "replacement transaction underpriced", "nonce has already been used",
               "oldnonce", "transaction with the same hash")
_UNDERPRICED = ("less than block base fee", "fee cap less than", "max fee per gas less than", "feetoolow",
                "fee too low", "transaction underpriced", "gas price too low", "underpriced")
_NO_FUNDS = ("insufficient funds", "insufficient balance")
_TRANSIENT = ("timeout", "timed out", "rate limit", "too many requests", "try again", "temporarily",
              "header not found", "busy", "txpool is full", "pool is full")


def classify_refusal(message: str) -> Refusal:
    """What a node's error message about a transaction or call means (checked in this order)."""
    text = message.lower()
    for kind, needles in ((Refusal.KNOWN, _ALREADY_KNOWN), (Refusal.NONCE_USED, _NONCE_USED),
                          (Refusal.UNDERPRICED, _UNDERPRICED), (Refusal.NO_FUNDS, _NO_FUNDS),
                          (Refusal.TRANSIENT, _TRANSIENT)):
        if any(needle in text for needle in needles):
            return kind
    return Refusal.PERMANENT
