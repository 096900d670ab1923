"""Where money meets bills: offers on listed bills, early-settlement requests, and settlements.

Rows here change only through ``bills.services`` (``offers``, ``settlement``). Purchases (``BillPurchase``,
in ``bills.models``) and settlements each name the ledger entry that moved the money, and the bill event of
the transition names that entry too, so the chain proves what was paid.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from bills.models import Bill, BillEvent


class OfferStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    WITHDRAWN = "withdrawn", "Withdrawn by the financier"
    LAPSED = "lapsed", "Lapsed (the bill was sold, unlisted or moved)"


class BillOffer(models.Model):
    """A financier's own rate on a listed bill, until it expires. Seen only by the holder and the financier.

    An open offer stands while the bill is listed by the same holder (``holder_seq``); when another offer is
    accepted or the bill is bought, unlisted or moved, the open ones lapse. An expired offer cannot be accepted.
    """

    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="offers", verbose_name=_("bill"))
    holder_seq = models.PositiveIntegerField(_("holder sequence"))
    financier = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("financier")
    )
    rate = models.DecimalField(_("rate"), max_digits=9, decimal_places=6)
    expires_at = models.DateTimeField(_("expires at"))
    status = models.CharField(
        _("status"), max_length=12, choices=OfferStatus.choices, default=OfferStatus.OPEN
    )
    created_at = models.DateTimeField(_("created at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bill offer")
        verbose_name_plural = _("bill offers")
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["bill", "status"], name="offer_bill_status")]
        constraints = [
            models.CheckConstraint(name="offer_rate_in_range", condition=Q(rate__gt=0, rate__lt=1)),
            models.CheckConstraint(name="offer_status_valid", condition=Q(status__in=OfferStatus.values)),
            models.CheckConstraint(name="offer_expires_after_made", condition=Q(expires_at__gt=F("created_at"))),
            # One open offer per financier and bill: a new rate replaces (withdraws) the old one.
            models.UniqueConstraint(fields=["bill", "financier"], condition=Q(status="open"),
                                    name="offer_one_open_per_financier"),
        ]

    def __str__(self) -> str:
        return f"offer {self.pk} on {self.bill_id} at {self.rate} ({self.status})"


class EarlySettlementRequest(models.Model):
    """The debtor's request to pay the face before maturity; the holder's consent settles the bill.

    It stands for the holder at the time (``holder_seq``): a change of holder leaves it without effect.
    """

    bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, related_name="early_settlement_requests", verbose_name=_("bill")
    )
    holder_seq = models.PositiveIntegerField(_("holder sequence"))
    requested_by = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    requested_at = models.DateTimeField(_("requested at"))
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("early-settlement request")
        verbose_name_plural = _("early-settlement requests")
        ordering = ["-requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bill", "holder_seq"], name="early_settlement_once_per_holder"),
        ]

    def __str__(self) -> str:
        return f"early settlement of {self.bill_id} asked at {self.requested_at}"


class SettlementKind(models.TextChoices):
    AT_MATURITY = "at_maturity", "On the maturity date"
    LATE = "late", "After maturity (late)"
    EARLY = "early", "Before maturity, with the holder's consent"
    AUTOMATIC = "automatic", "Automatically from the debtor's cash at maturity"


class BillSettlement(models.Model):
    """The debtor's payment of the face to the holder: one per bill, with its ledger entry and days late."""

    bill = models.OneToOneField(
        Bill, on_delete=models.PROTECT, related_name="settlement", verbose_name=_("bill")
    )
    payer = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("payer")
    )
    payee = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("payee")
    )
    face = models.DecimalField(_("face value"), max_digits=20, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    kind = models.CharField(_("kind"), max_length=12, choices=SettlementKind.choices)
    days_late = models.PositiveIntegerField(_("days late"), default=0)
    settled_at = models.DateTimeField(_("settled at"))
    entry = models.OneToOneField(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="bill_settlement", verbose_name=_("journal entry")
    )
    event = models.OneToOneField(
        BillEvent, on_delete=models.PROTECT, related_name="settlement", verbose_name=_("event")
    )

    class Meta:
        verbose_name = _("bill settlement")
        verbose_name_plural = _("bill settlements")
        ordering = ["-settled_at"]
        constraints = [
            models.CheckConstraint(name="settlement_face_positive", condition=Q(face__gt=0)),
            models.CheckConstraint(name="settlement_payer_is_not_payee", condition=~Q(payer=F("payee"))),
            models.CheckConstraint(name="settlement_kind_valid", condition=Q(kind__in=SettlementKind.values)),
            models.CheckConstraint(name="settlement_late_only_when_late",
                                   condition=Q(kind="late", days_late__gt=0) | (~Q(kind="late") & Q(days_late=0))),
        ]

    def __str__(self) -> str:
        return f"{self.bill_id} settled {self.kind}"
