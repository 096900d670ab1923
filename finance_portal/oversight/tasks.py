"""Celery tasks of oversight. All idempotent, ids only, ``acks_late``.

- ``oversight.sweep``: every rule over the platform, on beat every 10 minutes (``oversight-sweep``).
- ``oversight.evaluate_bill``: the bill-scoped rules after one of the bill's events commits
  (``hooks.bill_event_appended``).
- ``oversight.reconcile``: bills against the chain, stored as a ``ReconciliationRun``; on beat every
  ``OVERSIGHT_RECONCILE_SECONDS`` (``oversight-reconcile``) for every bill, and after each confirmed anchoring
  batch for the bills it touched (``hooks.anchors_confirmed``).
"""

from __future__ import annotations

from celery import shared_task

from finance_portal.oversight.models import ReconciliationTrigger
from finance_portal.oversight.selectors import bill_ids_of_keys
from finance_portal.oversight.services import oversight_evaluate_bill, oversight_sweep, reconciliation_run


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


@shared_task(name="oversight.reconcile", acks_late=True, ignore_result=True)
def reconcile(trigger: str = ReconciliationTrigger.SCHEDULE, keys: list[str] | None = None) -> dict[str, object]:
    """Every bill (``keys`` None), or the bills whose keys were just anchored; nothing when no key is a bill's."""
    bill_ids = None if keys is None else bill_ids_of_keys(keys)
    if bill_ids is not None and not bill_ids:
        return {"run": None, "bills": 0}
    run = reconciliation_run(trigger=trigger, bill_ids=bill_ids)
    return {"run": run.pk, "bills": run.bills_checked, "mismatches": run.mismatches, "error": run.error}
