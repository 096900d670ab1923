"""Operational records of the portal itself."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerProbe(models.Model):
    """A round trip through Redis and a Celery worker: created by a request, stamped by the worker."""

    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    worker = models.CharField(_("worker"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("worker probe")
        verbose_name_plural = _("worker probes")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        state = f"processed by {self.worker}" if self.processed_at else "waiting"
        return f"probe {self.pk} ({state})"
