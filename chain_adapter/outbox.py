"""Writing to the anchoring outbox. Callers in other apps use ``anchor_enqueue`` and nothing else.

The outbox row is the truth; the Celery task queued after commit is only a doorbell. A lost doorbell (Redis
down at commit time, a worker killed) costs latency, never an anchor: the beat sweeper rings again.

Doorbells coalesce (``finance_portal.doorbell``): while one waits in the queue, not yet taken by a worker, a
commit adds none. The flag ``DOORBELL_QUEUED`` says one waits; ``anchor_pending`` clears it as it starts,
before it reads the outbox, so a commit that saw the flag is read by that task. Without it every transition
queued a Celery message (about a tenth of a transition's CPU in the web process), and a worker that fell
behind (the node down a minute) found thousands of doorbells that each woke it for nothing.
"""

from __future__ import annotations

from django.db import connection, transaction

from chain_adapter.hashing import is_hash
from chain_adapter.models import AnchorRecord
from finance_portal import doorbell

DOORBELL_QUEUED = "chain_adapter:doorbell-queued"
DOORBELL_QUEUED_SECONDS = 2  # a doorbell lost from the queue silences the others this long at most


def anchor_enqueue(*, key: str, prev_hash: str, event_hash: str) -> AnchorRecord:
    """Register a record for anchoring, inside the caller's transaction.

    Precondition: the caller holds the lock of whatever ``key`` names, so records of one key are appended in
    chain order. The anchoring task is queued only once the transaction commits (once per transaction, however
    many records it appends).
    """
    for name, value in (("key", key), ("prev_hash", prev_hash), ("event_hash", event_hash)):
        if not is_hash(value):
            raise ValueError(f"{name} must be 0x + 64 lowercase hex digits, got {value!r}")
    record = AnchorRecord.objects.create(key=key, prev_hash=prev_hash, event_hash=event_hash)
    ring_doorbell_on_commit()
    return record


def ring_doorbell_on_commit() -> None:
    """Queue ``chain_adapter.anchor_pending`` when the current transaction commits (now, in autocommit).

    Registered at most once per transaction. A failure to queue (broker down) is logged, not raised: the
    transaction has committed already and the sweeper will ring again.
    """
    if connection.in_atomic_block and any(item[1] is _ring_doorbell for item in connection.run_on_commit):
        return
    transaction.on_commit(_ring_doorbell, robust=True)


def _ring_doorbell() -> None:
    # Imported here: tasks -> txmanager -> txtracker -> replacement import this module.
    from chain_adapter.tasks import anchor_pending

    doorbell.ring(DOORBELL_QUEUED, anchor_pending.delay, seconds=DOORBELL_QUEUED_SECONDS)


def doorbell_taken() -> None:
    """Called by ``anchor_pending`` as it starts, before it reads the outbox: from now on a commit rings again."""
    doorbell.taken(DOORBELL_QUEUED)
