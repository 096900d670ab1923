"""Writing to the anchoring outbox. Callers in other apps use ``anchor_enqueue`` and nothing else."""

from __future__ import annotations

from django.db import transaction

from chain_adapter.hashing import is_hash
from chain_adapter.models import AnchorRecord


def anchor_enqueue(*, key: str, prev_hash: str, event_hash: str) -> AnchorRecord:
    """Register a record for anchoring, inside the caller's transaction.

    Precondition: the caller holds the lock of whatever ``key`` names, so records of one key are appended in
    chain order. The anchoring task is queued only once the transaction commits.
    """
    for name, value in (("key", key), ("prev_hash", prev_hash), ("event_hash", event_hash)):
        if not is_hash(value):
            raise ValueError(f"{name} must be 0x + 64 lowercase hex digits, got {value!r}")
    record = AnchorRecord.objects.create(key=key, prev_hash=prev_hash, event_hash=event_hash)
    transaction.on_commit(_ring_doorbell)
    return record


def _ring_doorbell() -> None:
    from chain_adapter.tasks import anchor_pending

    anchor_pending.delay()
