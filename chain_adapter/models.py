"""The anchoring outbox and the chain transactions that carry it.

``AnchorRecord``: one row per (key, prev, hash) record to put on chain, written in the same database
transaction as the change it records. The outbox is the truth; Celery only rings the doorbell.
``AnchorTransaction``: one signed chain transaction, stored (raw bytes and hash) before it is broadcast so a
retry re-sends the same bytes; its nonce is unique per sender and deployment. ``ContractDeployment``: where the
``BillAnchor`` contract lives on each chain. ``AnchorAuditLog``: append-only trail of operator actions.
"""

from __future__ import annotations

from django.conf import settings
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
    anchor_tx = models.ForeignKey(
        "AnchorTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="records",
        help_text="The transaction that carries (or last carried) this record.",
    )
    attempts = models.PositiveIntegerField(default=0, help_text="Transactions this record was signed into.")

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
            models.CheckConstraint(
                name="anchor_sent_has_transaction",
                condition=~Q(status=AnchorStatus.SENT) | Q(anchor_tx__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key[:10]}… {self.event_hash[:10]}… ({self.status})"


class ContractDeployment(models.Model):
    """A deployment of the ``BillAnchor`` contract. The newest row of a chain id is the one in use."""

    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)
    deployer = models.CharField(max_length=42)
    tx_hash = models.CharField(max_length=66)
    block_number = models.PositiveBigIntegerField()
    runtime_code_hash = models.CharField(max_length=66, help_text="keccak256 of the deployed runtime code.")
    compiler_version = models.CharField(max_length=80)
    source_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="deployment_once_per_chain_address"),
        ]

    def __str__(self) -> str:
        return f"BillAnchor {self.address} on chain {self.chain_id}"


class TxStatus(models.TextChoices):
    SIGNED = "signed", "Signed, not broadcast yet"
    SENT = "sent", "Broadcast, waiting to be mined"
    MINED = "mined", "Mined, waiting for confirmations"
    CONFIRMED = "confirmed", "Confirmed"
    REVERTED = "reverted", "Reverted"
    DROPPED = "dropped", "Nonce taken by another transaction"


LIVE_TX_STATUSES = (TxStatus.SIGNED, TxStatus.SENT, TxStatus.MINED)


class AnchorTransaction(models.Model):
    """One signed ``anchor(...)`` transaction. Stored (raw bytes, hash, nonce) before its first broadcast.

    Every broadcast of it sends ``raw_tx`` as it is: it is never re-signed, so it can never be anchored twice
    under two hashes. Records point at it through ``AnchorRecord.anchor_tx``.
    """

    deployment = models.ForeignKey(ContractDeployment, on_delete=models.PROTECT, related_name="transactions")
    sender = models.CharField(max_length=42)
    nonce = models.PositiveBigIntegerField()
    raw_tx = models.TextField(help_text="The signed transaction, 0x-hex; re-sent unchanged on every retry.")
    tx_hash = models.CharField(max_length=66, unique=True)
    gas_limit = models.PositiveBigIntegerField()
    max_fee_per_gas = models.PositiveBigIntegerField()
    max_priority_fee_per_gas = models.PositiveBigIntegerField()
    record_count = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=TxStatus.choices, default=TxStatus.SIGNED)
    broadcast_count = models.PositiveIntegerField(default=0)
    first_broadcast_at = models.DateTimeField(null=True, blank=True)
    last_broadcast_at = models.DateTimeField(null=True, blank=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    block_hash = models.CharField(max_length=66, blank=True)
    gas_used = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["sender", "status"], name="anchor_tx_sender_status")]
        constraints = [
            # A nonce is spent once. Scoped by deployment: a devnet reset starts the account's nonces over.
            models.UniqueConstraint(fields=["deployment", "sender", "nonce"], name="anchor_tx_one_per_nonce"),
            models.CheckConstraint(name="anchor_tx_status_valid", condition=Q(status__in=[s.value for s in TxStatus])),
            models.CheckConstraint(
                name="anchor_tx_mined_has_block",
                condition=~Q(status__in=[TxStatus.MINED, TxStatus.CONFIRMED, TxStatus.REVERTED])
                | Q(block_number__isnull=False),
            ),
            models.CheckConstraint(name="anchor_tx_has_records", condition=Q(record_count__gt=0)),
        ]

    def __str__(self) -> str:
        return f"nonce {self.nonce} {self.tx_hash[:12]}… ({self.status})"


class AnchorAuditLog(models.Model):
    """Append-only trail of what operators did to anchoring rows (e.g. a retry of a failed record)."""

    record = models.ForeignKey(AnchorRecord, on_delete=models.PROTECT, related_name="audit_log")
    action = models.CharField(max_length=32)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.action} on record {self.record_id} by {self.actor_id}"
