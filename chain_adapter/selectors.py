"""Reads on the anchoring tables, shared by the transaction manager, the sweeper, admin and other apps' pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from chain_adapter.models import (
    LIVE_TX_STATUSES,
    AnchorRecord,
    AnchorStatus,
    AnchorTransaction,
    ContractDeployment,
)


def deployment_current(*, chain_id: int) -> ContractDeployment | None:
    """The contract deployment in use on ``chain_id`` (the newest recorded), or None."""
    return ContractDeployment.objects.filter(chain_id=chain_id).order_by("-id").first()


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
    return AnchoringBacklog(
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
