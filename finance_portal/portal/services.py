"""Operational services of the portal."""

from __future__ import annotations

from django.db import transaction

from finance_portal.portal.models import WorkerProbe
from finance_portal.portal.tasks import worker_probe_process


def worker_probe_request() -> WorkerProbe:
    """Record a probe and ring the worker once the row is committed (never before: it could not see it)."""
    with transaction.atomic():
        probe = WorkerProbe.objects.create()
        transaction.on_commit(lambda: worker_probe_process.delay(probe.pk))
    return probe
