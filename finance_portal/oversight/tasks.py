"""Celery task of oversight: the sweep, on beat every 10 minutes (``oversight-sweep``). Idempotent."""

from __future__ import annotations

from celery import shared_task

from finance_portal.oversight.services import oversight_sweep


@shared_task(name="oversight.sweep", acks_late=True)
def sweep() -> dict[str, object]:
    result = oversight_sweep()
    return {"created": result.created, "updated": result.updated, "by_rule": result.by_rule}
