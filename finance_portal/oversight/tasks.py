"""Celery tasks of oversight. All idempotent, ids only, ``acks_late``.

- ``oversight.sweep``: every rule over the platform, on beat every 10 minutes (``oversight-sweep``).
- ``oversight.evaluate_pending``: the bill-scoped rules of every bill whose events committed since it last
  ran (``hooks.bill_event_appended`` queues one while none waits).
- ``oversight.evaluate_bill``: the bill-scoped rules of one bill (what the hook queued before
  ``evaluate_pending``; kept for messages queued then).
- ``oversight.reconcile``: bills against the chain, stored as a ``ReconciliationRun``; on beat every
  ``OVERSIGHT_RECONCILE_SECONDS`` (``oversight-reconcile``) for every bill, and after each confirmed anchoring
  batch for the bills it touched (``hooks.anchors_confirmed``).
"""

from __future__ import annotations

from celery import shared_task

from finance_portal.oversight import hooks
from finance_portal.oversight.models import ReconciliationTrigger
from finance_portal.oversight.selectors import bill_ids_of_keys
from finance_portal.oversight.services import oversight_evaluate_bill, oversight_sweep, reconciliation_run

EVALUATE_BATCH = 100


@shared_task(name="oversight.sweep", acks_late=True, ignore_result=True)
def sweep() -> dict[str, object]:
    result = oversight_sweep()
    return {"created": result.created, "updated": result.updated, "by_rule": result.by_rule}


@shared_task(name="oversight.evaluate_bill", acks_late=True, ignore_result=True)
def evaluate_bill(bill_id: str, event_type: str = "") -> dict[str, object]:
    """``event_type``: the event that rang (for the worker's log); the rules read the bill as it is now."""
    result = oversight_evaluate_bill(bill_id=bill_id)
    return {"bill": bill_id, "event": event_type, "created": result.created, "updated": result.updated,
            "by_rule": result.by_rule}


@shared_task(name="oversight.evaluate_pending", acks_late=True, ignore_result=True)
def evaluate_pending() -> dict[str, object]:
    """The bill-scoped rules of every waiting bill, a hundred at a time. A failure puts the bills not yet
    evaluated back and raises (the next commit or the sweep runs them)."""
    hooks.evaluation_taken()  # before taking the set: a bill added from now on queues a message again
    evaluated, created = 0, 0
    while batch := hooks.take_pending(EVALUATE_BATCH):
        for i, bill_id in enumerate(batch):
            try:
                created += oversight_evaluate_bill(bill_id=bill_id).created
            except Exception:
                hooks.put_back(batch[i:])
                raise
        evaluated += len(batch)
    return {"bills": evaluated, "created": created}


@shared_task(name="oversight.reconcile", acks_late=True, ignore_result=True)
def reconcile(trigger: str = ReconciliationTrigger.SCHEDULE, keys: list[str] | None = None) -> dict[str, object]:
    """Every bill (``keys`` None), or the bills whose keys were just anchored; nothing when no key is a bill's."""
    bill_ids = None if keys is None else bill_ids_of_keys(keys)
    if bill_ids is not None and not bill_ids:
        return {"run": None, "bills": 0}
    run = reconciliation_run(trigger=trigger, bill_ids=bill_ids)
    return {"run": run.pk, "bills": run.bills_checked, "mismatches": run.mismatches, "error": run.error}
