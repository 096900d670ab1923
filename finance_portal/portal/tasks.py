"""Celery tasks of the portal: the worker probe used by the health page and the round-trip test."""

from __future__ import annotations

import socket

from celery import shared_task
from django.utils import timezone

from finance_portal.portal.models import WorkerProbe


@shared_task(name="portal.worker_probe_process", acks_late=True, ignore_result=True)
def worker_probe_process(probe_id: int) -> str:
    """Stamp the probe. Idempotent: a probe already stamped is left as it is."""
    updated = WorkerProbe.objects.filter(pk=probe_id, processed_at__isnull=True).update(
        processed_at=timezone.now(), worker=socket.gethostname()
    )
    return "processed" if updated else "already processed"


@shared_task(name="portal.echo")
def echo(value: str) -> str:
    return value
