"""Recovery: settling records from what the chain says instead of resending them.

After a revert, a transaction whose nonce went to another, an estimate the contract refuses, or an operator's
replacement of a stuck transaction by a no-op, each record is decided by ``decisions.decide_recovery`` from
``head(key)`` and the contract's ``Anchored`` logs: anchored already (placed where its log is), pending again
(sent in a later batch), or in conflict with another history on chain (failed, the head named, for admin).

The one thing to know: ``read_chain`` talks to the node and runs with no database transaction open;
``apply_recovery`` only touches the database and may run inside the caller's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.utils import timezone

from chain_adapter.client import ChainClient
from chain_adapter.contract import AnchoredLog
from chain_adapter.decisions import Link, Verdict, decide_recovery, deep_enough
from chain_adapter.models import (
    LIVE_TX_STATUSES,
    AnchorRecord,
    AnchorStatus,
    AnchorTransaction,
    ContractDeployment,
)

logger = logging.getLogger(__name__)

RECORD_FIELDS = ["status", "last_error", "tx_hash", "block_number", "log_index", "confirmed_at", "anchor_tx"]


@dataclass(frozen=True)
class ChainView:
    """What the chain says about some keys: their heads, their ``Anchored`` logs, and the newest block."""

    heads: Mapping[str, str]
    logs: Mapping[tuple[str, str], AnchoredLog]
    tip: int


@dataclass
class RecoveryOutcome:
    confirmed: int = 0
    failed: int = 0
    on_chain: set[str] = field(default_factory=set)  # event hashes found anchored


def link_of(record: AnchorRecord) -> Link:
    return Link(id=record.pk, key=record.key, prev_hash=record.prev_hash, event_hash=record.event_hash)


def read_chain(client: ChainClient, deployment: ContractDeployment, records: Sequence[AnchorRecord], *,
               confirmations: int) -> ChainView:
    """Read the heads and ``Anchored`` logs of the records' keys. Precondition: no database transaction is
    open (this waits on the node)."""
    keys = sorted({r.key for r in records})
    if not keys:
        return ChainView({}, {}, 0)
    heads = client.heads(deployment.address, keys)
    logs = {(log.key, log.event_hash): log for log in client.anchored_logs(
        deployment.address, keys=keys, from_block=deployment.block_number or 0)}
    tip = client.block_number() if confirmations > 1 and logs else 0
    return ChainView(heads, logs, tip)


def apply_recovery(records: Sequence[AnchorRecord], view: ChainView, *, deployment: ContractDeployment,
                   reason: str, confirmations: int) -> RecoveryOutcome:
    """Write what ``decide_recovery`` decides for each record (read with ``read_chain`` before). Only the
    database: callable inside a transaction. Records found anchored point at their carrier when it is ours."""
    outcome = RecoveryOutcome()
    if not records:
        return outcome
    keys = sorted({r.key for r in records})
    waiting = set(
        AnchorRecord.objects.filter(key__in=keys, status=AnchorStatus.PENDING).values_list("event_hash", flat=True)
    )
    ours = {t.tx_hash: t for t in AnchorTransaction.objects.filter(
        deployment=deployment, tx_hash__in={log.tx_hash for log in view.logs.values()})}
    by_id = {r.pk: r for r in records}
    now = timezone.now()
    for decision in decide_recovery([link_of(r) for r in records], heads=view.heads, logs=view.logs,
                                    waiting=waiting):
        record = by_id[decision.record.id]
        if decision.verdict == Verdict.ANCHORED:
            log = decision.log
            assert log is not None
            record.tx_hash, record.block_number, record.log_index = log.tx_hash, log.block_number, log.log_index
            outcome.on_chain.add(record.event_hash)
            carrier = ours.get(log.tx_hash)
            deep = deep_enough(block_number=log.block_number, tip=view.tip, confirmations=confirmations)
            if carrier is not None and carrier.status in LIVE_TX_STATUSES and not deep:
                record.status, record.anchor_tx = AnchorStatus.SENT, carrier
            else:
                record.status, record.confirmed_at = AnchorStatus.CONFIRMED, now
                record.anchor_tx = carrier or record.anchor_tx
                outcome.confirmed += 1
            record.last_error = ""
        elif decision.verdict == Verdict.PENDING:
            record.status = AnchorStatus.PENDING
            record.last_error = f"{reason}; still pending, it will be sent again."[:2000]
        else:
            record.status = AnchorStatus.FAILED
            record.last_error = (
                f"{reason}. On chain, the head of key {record.key} is {decision.head}: neither this record's "
                f"predecessor {record.prev_hash} nor a record waiting to be anchored. The chain holds "
                "another history for this key; retry once that is resolved."
            )
            outcome.failed += 1
            logger.error("anchor record %s failed: %s", record.pk, record.last_error)
    AnchorRecord.objects.bulk_update(records, RECORD_FIELDS)
    return outcome
