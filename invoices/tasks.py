"""Celery tasks of invoices: the bulk import's worker. Thin: it takes the job's id; the service does the work.

The job row is the truth and the task is the doorbell (STYLE habit 4): ``import_job_run`` claims a queued
job (or a running one whose worker went silent), skips the rows an earlier run already handled, and
acknowledges late, so a worker killed mid-import leaves a job that a redelivered task finishes.
"""

from __future__ import annotations

from celery import shared_task

from invoices.import_services import import_job_run


@shared_task(name="invoices.import_run", acks_late=True, ignore_result=True)
def import_run(job_id: str) -> None:
    """Import the rows of the bulk-import job ``job_id`` (nothing if it is finished or taken)."""
    import_job_run(job_id=job_id)
