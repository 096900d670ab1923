"""The anchoring outbox and the chain transactions that carry it.

``AnchorRecord``: one row per (key, prev, hash) record to put on chain, written in the same database
transaction as the change it records. The outbox is the truth; Celery only rings the doorbell.
``AnchorTransaction``: one signed chain transaction, stored (raw bytes and hash) before it is broadcast so a
retry re-sends the same bytes. A nonce has one current transaction per sender and deployment; a fee bump or
an operator's replacement of a stuck one adds a new version of the same nonce (``replaces``) and marks the
old one replaced. ``ContractDeployment``: where the ``BillAnchor`` contract lives on each chain, with its
creation transaction (stored before broadcast too). ``AnchorAuditLog``: append-only trail of operator actions.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


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

    # Indexed by the constraints below: (key, prev_hash) serves look-ups by key, and no pattern-ops ("LIKE")
    # index is kept for hashes. Every status change writes each index of the row, twice per record.
    key = models.CharField(_("key"), max_length=66)
    prev_hash = models.CharField(_("previous hash"), max_length=66)
    event_hash = models.CharField(_("event hash"), max_length=66)
    status = models.CharField(
        _("status"), max_length=16, choices=AnchorStatus.choices, default=AnchorStatus.PENDING
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    tx_hash = models.CharField(_("transaction hash"), max_length=66, blank=True)
    block_number = models.BigIntegerField(_("block number"), null=True, blank=True)
    log_index = models.IntegerField(_("log index"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    anchor_tx = models.ForeignKey(
        "AnchorTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="records",
        help_text=_("The transaction that carries (or last carried) this record."),
        verbose_name=_("anchor transaction"),
    )
    attempts = models.PositiveIntegerField(
        _("attempts"), default=0, help_text=_("Transactions this record was signed into.")
    )

    class Meta:
        verbose_name = _("anchor record")
        verbose_name_plural = _("anchor records")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "id"], name="anchor_status_id"),
            # What the broadcasters scan: only the pending rows, whatever the statistics say of the status mix.
            models.Index(fields=["id"], name="anchor_pending_id", condition=Q(status="pending")),
        ]
        constraints = [
            models.CheckConstraint(name="anchor_status_valid", condition=Q(status__in=[s.value for s in AnchorStatus])),
            models.CheckConstraint(
                name="anchor_confirmed_has_block",
                condition=~Q(status=AnchorStatus.CONFIRMED) | Q(block_number__isnull=False),
            ),
            models.UniqueConstraint(fields=["key", "prev_hash"], name="anchor_one_successor_per_link"),
            models.UniqueConstraint(fields=["event_hash"], name="anchor_event_hash_once"),
            models.CheckConstraint(
                name="anchor_sent_has_transaction",
                condition=~Q(status=AnchorStatus.SENT) | Q(anchor_tx__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key[:10]}… {self.event_hash[:10]}… ({self.status})"


class TxStatus(models.TextChoices):
    SIGNED = "signed", "Signed, not broadcast yet"
    SENT = "sent", "Broadcast, waiting to be mined"
    MINED = "mined", "Mined, waiting for confirmations"
    CONFIRMED = "confirmed", "Confirmed"
    REVERTED = "reverted", "Reverted"
    DROPPED = "dropped", "Nonce taken by another transaction"
    STUCK = "stuck", "Refused by the node: an operator must replace it"
    REPLACED = "replaced", "Replaced by another version of its nonce"


LIVE_TX_STATUSES = (TxStatus.SIGNED, TxStatus.SENT, TxStatus.MINED)


class ContractDeployment(models.Model):
    """A deployment of the ``BillAnchor`` contract. The newest *confirmed* row of a chain id is the one in use.

    The row is written with its signed creation transaction (``nonce``, ``raw_tx``, ``tx_hash``; the address
    follows from sender and nonce) before that is broadcast, and confirmed once mined. Rows recorded before
    deployments went through the broadcaster have no nonce or raw transaction. A deployment whose devnet
    forgot it is marked dropped when the new one is confirmed.
    """

    chain_id = models.PositiveBigIntegerField(_("chain ID"))
    address = models.CharField(_("address"), max_length=42)
    deployer = models.CharField(_("deployer"), max_length=42)
    tx_hash = models.CharField(_("transaction hash"), max_length=66)
    nonce = models.PositiveBigIntegerField(_("nonce"), null=True, blank=True)
    raw_tx = models.TextField(
        _("raw transaction"), blank=True, help_text=_("The signed creation transaction, 0x-hex.")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=TxStatus.choices, default=TxStatus.CONFIRMED
    )
    block_number = models.PositiveBigIntegerField(_("block number"), null=True, blank=True)
    runtime_code_hash = models.CharField(
        _("runtime code hash"), max_length=66, help_text=_("keccak256 of the deployed runtime code.")
    )
    compiler_version = models.CharField(_("compiler version"), max_length=80)
    source_sha256 = models.CharField(_("source SHA-256"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("contract deployment")
        verbose_name_plural = _("contract deployments")
        ordering = ["-id"]
        constraints = [
            # One contract in use per address. A reset devnet redeploys at the very address (same sender,
            # same nonce): the vanished row is then marked dropped.
            models.UniqueConstraint(fields=["chain_id", "address"], name="deployment_once_per_chain_address",
                                    condition=Q(status=TxStatus.CONFIRMED)),
            models.CheckConstraint(
                name="deployment_status_valid",
                condition=Q(status__in=[TxStatus.SIGNED, TxStatus.SENT, TxStatus.CONFIRMED, TxStatus.REVERTED,
                                        TxStatus.DROPPED]),
            ),
            models.CheckConstraint(
                name="deployment_confirmed_has_block",
                condition=~Q(status=TxStatus.CONFIRMED) | Q(block_number__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"BillAnchor {self.address} on chain {self.chain_id}"


class TxKind(models.TextChoices):
    ANCHOR = "anchor", "anchor(...) batch"
    NOOP = "noop", "No-op: a 0-value self-transfer that spends the nonce"


class AnchorTransaction(models.Model):
    """One signed transaction of the anchor account: an ``anchor(...)`` batch, or a no-op that spends a nonce.
    Stored (raw bytes, hash, nonce) before its first broadcast.

    Every broadcast of it sends ``raw_tx`` as it is. It is re-signed only as a new version of the same nonce
    (a new row whose ``replaces`` points here, this one marked replaced): a fee bump, or an operator's
    replacement of a stuck transaction. Whichever version is mined counts; the contract's head check keeps
    a record from being anchored twice. Records point at their transaction through ``AnchorRecord.anchor_tx``.
    """

    deployment = models.ForeignKey(
        ContractDeployment, on_delete=models.PROTECT, related_name="transactions", verbose_name=_("deployment")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=TxKind.choices, default=TxKind.ANCHOR)
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by",
        help_text=_("The earlier version of the same nonce that this one replaces (fee bump or operator)."),
        verbose_name=_("replaces"),
    )
    sender = models.CharField(_("sender"), max_length=42)
    nonce = models.PositiveBigIntegerField(_("nonce"))
    raw_tx = models.TextField(
        _("raw transaction"), help_text=_("The signed transaction, 0x-hex; re-sent unchanged on every retry.")
    )
    tx_hash = models.CharField(_("transaction hash"), max_length=66, db_index=True)
    gas_limit = models.PositiveBigIntegerField(_("gas limit"))
    max_fee_per_gas = models.PositiveBigIntegerField(_("max fee per gas"))
    max_priority_fee_per_gas = models.PositiveBigIntegerField(_("max priority fee per gas"))
    record_count = models.PositiveIntegerField(_("record count"))
    status = models.CharField(_("status"), max_length=16, choices=TxStatus.choices, default=TxStatus.SIGNED)
    broadcast_count = models.PositiveIntegerField(_("broadcast count"), default=0)
    first_broadcast_at = models.DateTimeField(_("first broadcast at"), null=True, blank=True)
    last_broadcast_at = models.DateTimeField(_("last broadcast at"), null=True, blank=True)
    block_number = models.PositiveBigIntegerField(_("block number"), null=True, blank=True)
    block_hash = models.CharField(_("block hash"), max_length=66, blank=True)
    gas_used = models.PositiveBigIntegerField(_("gas used"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("anchor transaction")
        verbose_name_plural = _("anchor transactions")
        ordering = ["-id"]
        indexes = [models.Index(fields=["sender", "status"], name="anchor_tx_sender_status")]
        constraints = [
            # Scoped by deployment: a reset devnet replays the very same bytes (same nonce, fees, calldata).
            models.UniqueConstraint(fields=["deployment", "tx_hash"], name="anchor_tx_hash_once_per_deployment"),
            # A nonce has one current version. Scoped by deployment: a devnet reset starts the nonces over.
            models.UniqueConstraint(fields=["deployment", "sender", "nonce"], name="anchor_tx_one_per_nonce",
                                    condition=~Q(status=TxStatus.REPLACED)),
            models.CheckConstraint(name="anchor_tx_status_valid", condition=Q(status__in=[s.value for s in TxStatus])),
            models.CheckConstraint(
                name="anchor_tx_mined_has_block",
                condition=~Q(status__in=[TxStatus.MINED, TxStatus.CONFIRMED, TxStatus.REVERTED])
                | Q(block_number__isnull=False),
            ),
            models.CheckConstraint(
                name="anchor_tx_has_records",
                condition=Q(kind=TxKind.ANCHOR, record_count__gt=0) | Q(kind=TxKind.NOOP, record_count=0),
            ),
        ]

    def __str__(self) -> str:
        return f"nonce {self.nonce} {self.tx_hash[:12]}… ({self.status})"


class AnchorAuditLog(models.Model):
    """Append-only trail of what operators did to anchoring rows: who, when, why, and to what.

    ``retry`` names a failed ``record``; ``replace`` names the stuck ``anchor_tx`` with the old and new
    transaction hashes and the operator's ``reason``.
    """

    record = models.ForeignKey(AnchorRecord, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="audit_log", verbose_name=_("record"))
    anchor_tx = models.ForeignKey(AnchorTransaction, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="audit_log", verbose_name=_("anchor transaction"))
    action = models.CharField(_("action"), max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("actor")
    )
    reason = models.TextField(
        _("reason"), blank=True, help_text=_("Why the operator did it, in their words.")
    )
    old_tx_hash = models.CharField(_("old transaction hash"), max_length=66, blank=True)
    new_tx_hash = models.CharField(_("new transaction hash"), max_length=66, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("anchor audit log entry")
        verbose_name_plural = _("anchor audit log entries")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(name="anchor_audit_names_a_row",
                                   condition=Q(record__isnull=False) | Q(anchor_tx__isnull=False)),
        ]

    def __str__(self) -> str:
        target = f"record {self.record_id}" if self.record_id else f"transaction {self.anchor_tx_id}"
        return f"{self.action} on {target} by {self.actor_id}"
