"""Reads on the anchoring tables, shared by the transaction manager, the sweeper, admin and other apps' pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from chain_adapter.decisions import LANE_HEX_DIGITS
from chain_adapter.models import (
    LIVE_TX_STATUSES,
    AnchorRecord,
    AnchorStatus,
    AnchorTransaction,
    ContractDeployment,
    TxStatus,
)


def deployment_current(*, chain_id: int) -> ContractDeployment | None:
    """The contract deployment in use on ``chain_id`` (the newest confirmed), or None."""
    return ContractDeployment.objects.filter(chain_id=chain_id, status=TxStatus.CONFIRMED).order_by("-id").first()


def in_lane(records: QuerySet[AnchorRecord], *, lane: int, lanes: int) -> QuerySet[AnchorRecord]:
    """The records of ``records`` whose key belongs to anchor sender ``lane`` of ``lanes``
    (``decisions.lane_of`` in SQL); all of them when there is one sender."""
    if lanes <= 1:
        return records
    expression = RawSQL(f"(('x' || right(key, {LANE_HEX_DIGITS}))::bit({LANE_HEX_DIGITS * 4})::integer %% %s)",
                        [lanes])
    return records.annotate(lane=expression).filter(lane=lane)


def stored_nonce_max(*, deployment: ContractDeployment, sender: str) -> int | None:
    """The highest nonce ``sender`` stored for ``deployment``: its transactions and the deployment's own
    creation transaction (when ``sender`` created it). None when there is none."""
    stored = AnchorTransaction.objects.filter(deployment=deployment, sender=sender).aggregate(n=Max("nonce"))["n"]
    candidates = [n for n in (stored, deployment.nonce if deployment.deployer == sender else None) if n is not None]
    return max(candidates) if candidates else None


def stuck_transaction(*, deployment: ContractDeployment, sender: str) -> AnchorTransaction | None:
    """The lowest-nonce transaction of ``sender`` on ``deployment`` that the node refused (waiting for an
    operator to replace it), or None."""
    return AnchorTransaction.objects.filter(deployment=deployment, sender=sender,
                                            status=TxStatus.STUCK).order_by("nonce").first()


def anchor_records_by_hash(*, event_hashes: list[str]) -> dict[str, AnchorRecord]:
    """Outbox rows by event hash, for pages that show each event's anchoring status."""
    return {r.event_hash: r for r in AnchorRecord.objects.filter(event_hash__in=event_hashes)}


@dataclass(frozen=True)
class AnchoringBacklog:
    pending: int
    sent: int
    failed: int
    oldest_pending_at: datetime | None
    live_transactions: int
    oldest_live_transaction_at: datetime | None
    stuck_transactions: int = 0


def anchoring_backlog() -> AnchoringBacklog:
    """What waits to be anchored: counts by status and the age of the oldest waiting row and transaction."""
    counts = AnchorRecord.objects.aggregate(
        pending=Count("id", filter=Q(status=AnchorStatus.PENDING)),
        sent=Count("id", filter=Q(status=AnchorStatus.SENT)),
        failed=Count("id", filter=Q(status=AnchorStatus.FAILED)),
        oldest=Min("created_at", filter=Q(status=AnchorStatus.PENDING)),
    )
    live = AnchorTransaction.objects.filter(status__in=LIVE_TX_STATUSES).aggregate(
        n=Count("id"), oldest=Min("created_at")
    )
    stuck = AnchorTransaction.objects.filter(status=TxStatus.STUCK).count()
    return AnchoringBacklog(
        stuck_transactions=stuck,
        pending=counts["pending"],
        sent=counts["sent"],
        failed=counts["failed"],
        oldest_pending_at=counts["oldest"],
        live_transactions=live["n"],
        oldest_live_transaction_at=live["oldest"],
    )


def anchoring_overdue(*, max_wait_seconds: float) -> bool:
    """True when a record has been pending, or a transaction live, for longer than ``max_wait_seconds``."""
    cutoff = timezone.now() - timedelta(seconds=max_wait_seconds)
    return (
        AnchorRecord.objects.filter(status=AnchorStatus.PENDING, created_at__lte=cutoff).exists()
        or AnchorTransaction.objects.filter(status__in=LIVE_TX_STATUSES, created_at__lte=cutoff).exists()
    )
