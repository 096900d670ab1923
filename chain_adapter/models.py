"""The anchoring outbox: one row per (key, prev, hash) record to put on chain, written in the same database
transaction as the change it records. The outbox is the truth; Celery only rings the doorbell.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class AnchorStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent, waiting for confirmation"
    CONFIRMED = "confirmed", "Anchored"
    FAILED = "failed", "Failed"


class AnchorRecord(models.Model):
    """One link of a key's hash chain, to be anchored with ``anchor(keys, prevs, hashes)``.

    Records of one key are anchored in ``id`` order: the writer holds the lock of the thing the key names
    (e.g. the bill row) when it appends, so ``id`` order is chain order.
    """

    key = models.CharField(max_length=66, db_index=True)
    prev_hash = models.CharField(max_length=66)
    event_hash = models.CharField(max_length=66, unique=True)
    status = models.CharField(max_length=16, choices=AnchorStatus.choices, default=AnchorStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    tx_hash = models.CharField(max_length=66, blank=True)
    block_number = models.BigIntegerField(null=True, blank=True)
    log_index = models.IntegerField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "id"], name="anchor_status_id")]
        constraints = [
            models.CheckConstraint(name="anchor_status_valid", condition=Q(status__in=[s.value for s in AnchorStatus])),
            models.CheckConstraint(
                name="anchor_confirmed_has_block",
                condition=~Q(status=AnchorStatus.CONFIRMED) | Q(block_number__isnull=False),
            ),
            models.UniqueConstraint(fields=["key", "prev_hash"], name="anchor_one_successor_per_link"),
        ]

    def __str__(self) -> str:
        return f"{self.key[:10]}… {self.event_hash[:10]}… ({self.status})"
