"""What oversight is told by the apps below it, through settings (DESIGN §2: they never import oversight).

``BILL_EVENT_HOOKS`` names ``bill_event_appended`` (called by ``bills.services.core.append_event``) and
``ANCHOR_CONFIRMED_HOOKS`` names ``anchors_confirmed`` (called by ``chain_adapter.txtracker`` when a batch of
anchors is confirmed). Both are called inside the caller's transaction and only queue a task once it commits:
a rolled-back event or confirmation queues nothing. A lost task loses nothing either: the sweep and the
scheduled reconciliation run on beat (Celery is the doorbell, the database the truth).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction


class _Evaluate:
    """The on-commit callback that queues ``oversight.evaluate_bill`` for one bill (once per transaction)."""

    def __init__(self, bill_id: str, event_type: str) -> None:
        self.bill_id = bill_id
        self.event_type = event_type

    def __call__(self) -> None:
        from finance_portal.oversight.tasks import evaluate_bill  # tasks import services, which import bills

        evaluate_bill.delay(self.bill_id, self.event_type)


def bill_event_appended(*, bill_id: Any, event_type: str) -> None:
    """Queue the bill-scoped rules for ``bill_id`` when the current transaction commits. Several events of one
    bill in one transaction (a split, an issue and its receipt) queue one task; a failure to queue (broker
    down) is logged, never raised into the bill service."""
    key = str(bill_id)
    if connection.in_atomic_block:
        for item in connection.run_on_commit:
            callback = item[1]
            if isinstance(callback, _Evaluate) and callback.bill_id == key:
                callback.event_type = event_type
                return
    transaction.on_commit(_Evaluate(key, event_type), robust=True)


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
