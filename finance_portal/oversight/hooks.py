"""What oversight is told by the apps below it, through settings (DESIGN §2: they never import oversight).

``BILL_EVENT_HOOKS`` names ``bill_event_appended`` (called by ``bills.services.core.append_event``) and
``ANCHOR_CONFIRMED_HOOKS`` names ``anchors_confirmed`` (called by ``chain_adapter.txtracker`` when a batch of
anchors is confirmed). Both are called inside the caller's transaction and only queue work once it commits:
a rolled-back event or confirmation queues nothing. A lost task loses nothing either: the sweep and the
scheduled reconciliation run on beat (Celery is the doorbell, the database the truth).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from finance_portal import doorbell

# The bills whose events committed and whose rules have not run since: a Redis set, and a flag that says an
# ``oversight.evaluate_pending`` message waits in the queue, untaken. A commit adds its bills to the set and
# queues a message only when none waits, so a busy platform sends the worker a few messages a second, each
# for every bill that waits, instead of one per event (a Celery message cost about a tenth of a transition's
# CPU in the web process). The task clears the flag before it takes the set, so a bill added after that is
# either taken by this run or rings again. A lost message silences the others for QUEUED_SECONDS at most; the
# sweep on beat runs every rule over every bill anyway.
PENDING = "oversight:bills-to-evaluate"
QUEUED = "oversight:evaluation-queued"
QUEUED_SECONDS = 2

_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    return _clients[url]


def _pending_key() -> str:
    return cache.make_key(PENDING)  # the cache's prefix: one set per deployment (and per test run)


class _Evaluate:
    """The on-commit callback that adds one bill to the waiting ones (once per bill and transaction)."""

    def __init__(self, bill_id: str) -> None:
        self.bill_id = bill_id

    def __call__(self) -> None:
        queue_evaluations([self.bill_id])


def bill_event_appended(*, bill_id: Any, event_type: str) -> None:
    """Queue the bill-scoped rules for ``bill_id`` when the current transaction commits. Several events of one
    bill in one transaction (a split, an issue and its receipt) queue it once; a failure to queue (Redis down)
    is logged, never raised into the bill service."""
    key = str(bill_id)
    if connection.in_atomic_block:
        for item in connection.run_on_commit:
            callback = item[1]
            if isinstance(callback, _Evaluate) and callback.bill_id == key:
                return
    transaction.on_commit(_Evaluate(key), robust=True)


def queue_evaluations(bill_ids: Iterable[str]) -> None:
    """Add ``bill_ids`` to the bills waiting for their rules, and queue ``oversight.evaluate_pending`` unless
    one waits already."""
    from finance_portal.oversight.tasks import evaluate_pending  # tasks import services, which import bills

    ids = sorted(bill_ids)
    if not ids:
        return
    _redis().sadd(_pending_key(), *ids)
    doorbell.ring(QUEUED, evaluate_pending.delay, seconds=QUEUED_SECONDS)  # none if one waits: it takes these too


def evaluation_taken() -> None:
    """Called by ``evaluate_pending`` before it takes the set: from now on a commit queues a message again."""
    doorbell.taken(QUEUED)


def take_pending(count: int) -> list[str]:
    """Up to ``count`` waiting bills, removed from the set."""
    taken: Any = _redis().spop(_pending_key(), count)
    return sorted(value.decode() if isinstance(value, bytes) else str(value) for value in (taken or []))


def put_back(bill_ids: Sequence[str]) -> None:
    """Return bills taken but not evaluated (the evaluation of one of them failed)."""
    if bill_ids:
        _redis().sadd(_pending_key(), *bill_ids)


def forget_pending() -> None:
    """Drop every waiting bill and the flag (tests start from nothing; the sweep covers what is dropped)."""
    _redis().delete(_pending_key())
    cache.delete(QUEUED)


def anchors_confirmed(*, keys: Iterable[str]) -> None:
    """Queue a reconciliation (trigger ``anchoring_batch``) of the bills behind ``keys`` once the confirmation
    commits. Keys of other things anchored (credit reports) match no bill and are ignored by the task."""
    wanted = sorted(set(keys))
    if not wanted:
        return

    def queue() -> None:
        from finance_portal.oversight.tasks import reconcile

        reconcile.delay(trigger="anchoring_batch", keys=wanted)

    transaction.on_commit(queue, robust=True)
