"""Operational records of the portal itself."""

from __future__ import annotations

from django.db import models


class WorkerProbe(models.Model):
    """A round trip through Redis and a Celery worker: created by a request, stamped by the worker."""

    requested_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        state = f"processed by {self.worker}" if self.processed_at else "waiting"
        return f"probe {self.pk} ({state})"
