"""The digital bill (数字债权凭证), its append-only event log, invoice allocations, purchases and visibility.

A newcomer must know one thing: rows here change only through ``bills.services``, which lock the bill,
check the rule, change the state and append a ``BillEvent`` whose hash is chained to the previous one and
anchored on chain. ``BillEvent`` refuses updates and deletes in the ORM and, through a trigger, in SQL.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from chain_adapter.hashing import record_key


class BillState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted to the debtor")
    ACCEPTED = "accepted", _("Accepted by the debtor")
    PENDING_RECEIPT = "pending_receipt", _("Waiting for the receiver's signature")
    LISTED = "listed", _("Listed on the marketplace")
    FINANCED = "financed", _("Financed")
    SPLIT = "split", _("Split into parts")
    SETTLED = "settled", _("Settled")
    OVERDUE = "overdue", _("Overdue")
    DEFAULTED = "defaulted", _("Defaulted")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    FROZEN = "frozen", _("Frozen")


# A bill in one of these states no longer uses its invoices: the allocations are released.
RELEASED_STATES = frozenset({BillState.REJECTED, BillState.CANCELLED})
# Which states may move where, and who moves them, is the rule book's (``bills.rules.TRANSITIONS``).


class EventType(models.TextChoices):
    CREATE = "create", _("Created")
    ISSUE = "issue", _("Issued by the debtor")
    SUBMIT = "submit", _("Submitted")
    ACCEPT = "accept", _("Accepted")
    REJECT = "reject", _("Rejected")
    CANCEL = "cancel", _("Cancelled")
    TRANSFER = "transfer", _("Transfer offered")
    RECEIVE = "receive", _("Transfer received")
    REFUSE = "refuse", _("Transfer refused")
    SPLIT = "split", _("Split")
    SPLIT_FROM = "split_from", _("Created by a split")
    LIST = "list", _("Listed")
    UNLIST = "unlist", _("Unlisted")
    BUY = "buy", _("Bought")
    SETTLE = "settle", _("Settled")
    OVERDUE = "overdue", _("Marked overdue")
    DEFAULT = "default", _("Marked defaulted")
    FREEZE = "freeze", _("Frozen")
    UNFREEZE = "unfreeze", _("Unfrozen")
    LAPSE = "lapse", _("Lapsed unsigned at maturity")


class ParticipantRole(models.TextChoices):
    CREDITOR = "creditor", _("Creditor")
    DEBTOR = "debtor", _("Debtor")
    HOLDER = "holder", _("Holder")
    PAST_HOLDER = "past_holder", _("Past holder")
    PENDING_RECEIVER = "pending_receiver", _("Pending receiver")


class BillNumberCounter(models.Model):
    """The last human bill number given out in a year; the row is locked while a number is taken."""

    year = models.PositiveIntegerField(_("year"), primary_key=True)
    last = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("bill number counter")
        verbose_name_plural = _("bill number counters")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Bill(models.Model):
    id = models.UUIDField(_("ID"), primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(_("number"), max_length=20, unique=True)
    state = models.CharField(_("state"), max_length=20, choices=BillState.choices, default=BillState.DRAFT)
    creditor = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="bills_as_creditor",
        verbose_name=_("creditor")
    )
    debtor = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="bills_as_debtor", verbose_name=_("debtor")
    )
    holder = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="bills_held", verbose_name=_("holder")
    )
    pending_holder = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("pending holder")
    )
    # Incremented at every change of holder; a bill is financed at most once per value (BillPurchase).
    holder_seq = models.PositiveIntegerField(_("holder sequence"), default=1)
    face = models.DecimalField(_("face value"), max_digits=20, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    issue_date = models.DateField(_("issue date"))
    maturity_date = models.DateField(_("maturity date"))
    asking_rate = models.DecimalField(_("asking rate"), max_digits=9, decimal_places=6, null=True, blank=True)
    # Where a transfer's refusal returns the bill to, and where an unfreeze returns it to.
    state_before_transfer = models.CharField(_("state before transfer"), max_length=20, blank=True)
    state_before_freeze = models.CharField(_("state before freeze"), max_length=20, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent bill")
    )
    root = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="descendants", verbose_name=_("root bill")
    )
    reference = models.CharField(
        _("reference"), max_length=64, blank=True, help_text=_("The creditor's own reference (PO, contract)")
    )
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["state", "maturity_date"], name="bill_state_maturity"),
            models.Index(fields=["maturity_date"], name="bill_maturity"),
            models.Index(fields=["-created_at", "id"], name="bill_created"),
            # The work queues: one party's bills in one state, newest first (a dashboard reads 5 of them; without
            # these the planner walked bill_created backwards through every bill when the party had none).
            models.Index(fields=["creditor", "state", "-created_at", "id"], name="bill_creditor_state"),
            models.Index(fields=["debtor", "state", "-created_at", "id"], name="bill_debtor_state"),
            models.Index(fields=["holder", "state", "-created_at", "id"], name="bill_holder_state"),
            # The market: listed bills by maturity with their holder, so the marketplace's count and the financier
            # dashboard's "on the market, not yours" count are index-only scans of the listed bills (20 ms for
            # 25,000 listings of 100,000 bills through the heap before).
            models.Index(fields=["maturity_date", "holder"], condition=Q(state="listed"), name="bill_listed_maturity"),
        ]
        constraints = [
            models.CheckConstraint(name="bill_face_positive", condition=Q(face__gt=0)),
            models.CheckConstraint(name="bill_state_valid", condition=Q(state__in=[s.value for s in BillState])),
            models.CheckConstraint(name="bill_currency_iso", condition=Q(currency__regex=r"^[A-Z]{3}$")),
            models.CheckConstraint(name="bill_matures_after_issue", condition=Q(maturity_date__gt=F("issue_date"))),
            models.CheckConstraint(name="bill_debtor_is_not_creditor", condition=~Q(debtor=F("creditor"))),
            models.CheckConstraint(
                name="bill_pending_only_when_pending",
                condition=(Q(state=BillState.PENDING_RECEIPT) & Q(pending_holder__isnull=False))
                | (~Q(state=BillState.PENDING_RECEIPT) & Q(pending_holder__isnull=True))
                | (Q(state=BillState.FROZEN) & Q(state_before_freeze=BillState.PENDING_RECEIPT)),
            ),
            models.CheckConstraint(
                name="bill_listed_has_rate",
                condition=~Q(state=BillState.LISTED) | Q(asking_rate__gt=0, asking_rate__lt=1),
            ),
            models.CheckConstraint(
                name="bill_child_has_root", condition=Q(parent__isnull=True) | Q(root__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def bill_key(self) -> str:
        """The bill's key on chain: keccak256 of its id as a lowercase hyphenated UUID string."""
        return record_key(str(self.id))

    @property
    def allocation_root_id(self) -> uuid.UUID:
        """The bill that carries the invoice allocations of this one (itself unless it is a split part)."""
        return self.root_id or self.id


class BillAllocation(models.Model):
    """The part of an invoice that backs a bill. Only root bills (not split parts) carry allocations."""

    bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("bill")
    )
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="bill_allocations", verbose_name=_("invoice")
    )
    amount = models.DecimalField(_("amount"), max_digits=20, decimal_places=2)

    class Meta:
        verbose_name = _("bill allocation")
        verbose_name_plural = _("bill allocations")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(name="allocation_amount_positive", condition=Q(amount__gt=0)),
            models.UniqueConstraint(fields=["bill", "invoice"], name="allocation_once_per_bill"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} → {self.bill_id}: {self.amount}"


class BillParticipant(models.Model):
    """Who may see a bill, maintained by the services, so a visibility filter is one indexed lookup."""

    bill = models.ForeignKey(
        Bill, on_delete=models.CASCADE, related_name="participants", verbose_name=_("bill")
    )
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("organization")
    )
    role = models.CharField(_("role"), max_length=20, choices=ParticipantRole.choices)

    class Meta:
        verbose_name = _("bill participant")
        verbose_name_plural = _("bill participants")
        constraints = [
            models.UniqueConstraint(fields=["organization", "bill", "role"], name="participant_once_per_role"),
            models.CheckConstraint(
                name="participant_role_valid", condition=Q(role__in=[r.value for r in ParticipantRole])
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.role} of {self.bill_id}"


class AppendOnlyViolation(Exception):
    """Raised when code tries to change or remove a bill event: the log is append-only."""


class BillEventQuerySet(models.QuerySet["BillEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyViolation("Bill events are append-only: they cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyViolation("Bill events are append-only: they cannot be deleted.")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise AppendOnlyViolation("Bill events are append-only: they cannot be updated.")


class BillEvent(models.Model):
    """One transition of one bill. Its canonical JCS text is hashed; ``prev_hash`` chains it to the last one.

    Every column that goes into the canonical form is stored, so ``bills.events.bill_chain_verify`` can
    rebuild the text from the columns and catch an edit made behind the application's back.
    """

    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="events", verbose_name=_("bill"))
    seq = models.PositiveIntegerField(_("sequence number"))
    type = models.CharField(_("type"), max_length=20, choices=EventType.choices)
    from_state = models.CharField(_("from state"), max_length=20, blank=True)
    to_state = models.CharField(_("to state"), max_length=20)
    actor = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("actor")
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("acting user")
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    amounts = models.JSONField(_("amounts"), default=dict)
    details = models.JSONField(_("details"), default=dict)
    prev_hash = models.CharField(_("previous hash"), max_length=66)
    hash = models.CharField(_("hash"), max_length=66, unique=True)
    canonical = models.TextField(_("canonical text"))
    anchor = models.OneToOneField(
        "chain_adapter.AnchorRecord", on_delete=models.PROTECT, related_name="bill_event",
        verbose_name=_("anchor record")
    )
    # Format-2 events: the secret 32-byte salt of each committed field, {name: "0x…"} (docs/bundle-v2.md).
    # Disclosed only inside a bundle, per profile; never logged, never in the API's event list. Empty: format 1.
    salts = models.JSONField(_("salts"), default=dict, blank=True, editable=False)

    objects = BillEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("bill event")
        verbose_name_plural = _("bill events")
        ordering = ["bill", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["bill", "seq"], name="event_seq_once_per_bill"),
            models.CheckConstraint(name="event_seq_positive", condition=Q(seq__gte=1)),
            models.CheckConstraint(name="event_type_valid", condition=Q(type__in=[t.value for t in EventType])),
        ]

    def __str__(self) -> str:
        return f"{self.bill_id} #{self.seq} {self.type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyViolation("Bill events are append-only: an existing event cannot be saved again.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyViolation("Bill events are append-only: they cannot be deleted.")


class BillPurchase(models.Model):
    """A financier's purchase of a listed bill, priced with ``finance_portal.money.discount_price``.

    One purchase per bill per holder: ``holder_seq`` is the bill's holder sequence before the purchase.
    """

    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("bill"))
    holder_seq = models.PositiveIntegerField(_("holder sequence"))
    seller = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("seller")
    )
    buyer = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("buyer")
    )
    face = models.DecimalField(_("face value"), max_digits=20, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    rate = models.DecimalField(_("rate"), max_digits=9, decimal_places=6)
    days = models.PositiveIntegerField(_("days"))
    basis = models.PositiveIntegerField(_("day-count basis"), default=360)
    interest = models.DecimalField(_("interest"), max_digits=20, decimal_places=2)
    price = models.DecimalField(_("price"), max_digits=20, decimal_places=2)
    purchased_at = models.DateTimeField(_("purchased at"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=128, blank=True)
    event = models.OneToOneField(
        BillEvent, on_delete=models.PROTECT, related_name="purchase", verbose_name=_("event")
    )
    # The ledger entry that paid the price (financier −price, seller +price); null only for purchases made
    # before money moved on the platform.
    entry = models.OneToOneField("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="bill_purchase", verbose_name=_("journal entry"))
    offer = models.OneToOneField("bills.BillOffer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="purchase", verbose_name=_("offer"))

    class Meta:
        verbose_name = _("bill purchase")
        verbose_name_plural = _("bill purchases")
        ordering = ["-purchased_at"]
        constraints = [
            models.UniqueConstraint(fields=["bill", "holder_seq"], name="purchase_once_per_holder"),
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="purchase_idempotency_key_once",
            ),
            models.CheckConstraint(name="purchase_price_adds_up", condition=Q(price=F("face") - F("interest"))),
            models.CheckConstraint(name="purchase_price_positive", condition=Q(price__gt=0)),
            models.CheckConstraint(name="purchase_days_positive", condition=Q(days__gte=1)),
            models.CheckConstraint(name="purchase_buyer_is_not_seller", condition=~Q(buyer=F("seller"))),
        ]

    def __str__(self) -> str:
        return f"{self.bill_id} bought by {self.buyer_id} at {self.price}"


class VerificationToken(models.Model):
    """A revocable capability to a bill's public verification page, ``/verify/t/<token>/`` (DESIGN §8).

    The token is random (``secrets.token_urlsafe``, 192 bits): it names the bill without revealing its id,
    and cannot be guessed or enumerated. The bill's holder creates and revokes tokens; a revoked token opens
    nothing. Whoever holds a live token sees the public disclosure profile of the bill, and nothing more.
    """

    bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, related_name="verification_tokens", verbose_name=_("bill")
    )
    token = models.CharField(_("token"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("created by (user)")
    )
    created_at = models.DateTimeField(_("created at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("revoked by (user)")
    )

    class Meta:
        verbose_name = _("verification token")
        verbose_name_plural = _("verification tokens")
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["bill", "revoked_at"], name="verification_token_bill")]
        constraints = [
            models.CheckConstraint(name="verification_token_long", condition=Q(token__regex=r"^[A-Za-z0-9_-]{32,64}$")),
        ]

    def __str__(self) -> str:
        return f"verification token of {self.bill_id} ({'revoked' if self.revoked_at else 'live'})"


# Offers, early-settlement requests and settlements live in their own module (and are part of this app).
from bills.models_money import BillOffer, BillSettlement, EarlySettlementRequest  # noqa: E402, F401
