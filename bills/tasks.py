"""Celery tasks of the bills app. Thin: they call the services and return what they did."""

from __future__ import annotations

from celery import shared_task

from bills.services import bills_mark_overdue_and_default


@shared_task(name="bills.mark_overdue", acks_late=True, ignore_result=True)
def mark_overdue() -> dict[str, int]:
    """The daily sweep from Celery beat: overdue past maturity, defaulted past the grace period. Idempotent:
    a bill already marked is skipped."""
    return bills_mark_overdue_and_default()
