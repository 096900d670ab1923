"""Credit profiles derived from bill history, scores with their reasons, and financiers' credit limits.

A newcomer must know one thing: nothing here is typed in by hand. ``CreditProfile`` is recomputed from the
bills (``sme_credit.services.credit_profile_refresh``), ``CreditScore`` rows are appended, never changed, and
``CreditLimit`` rows change only through ``credit_limit_grant`` / ``credit_limit_revoke``. A purchase reads the
limits through the policy ``sme_credit.policies.exposure_within_limit`` (setting ``BILL_PURCHASE_POLICIES``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from sme_credit.scoring import SCORE_MAX, SCORE_MIN


class CreditProfile(models.Model):
    """An organization's record on the platform, as debtor (how it pays) and as creditor (whom it draws on).

    Payment record (bills it owes): settled on time, settled late and the days late, overdue now, defaulted.
    Volume: bills it drew or owes, by quarter of issue (``{"2026-Q1": {"count": 2, "face": {"CNY": "1.00"}}}``,
    split parts counted once through their root). Concentration: the share of the face it drew (in the
    default currency) owed by its largest debtor. Disputes: invoices it sold that their buyer disputes. An issued
    bill that lapsed unsigned counts for nobody.
    """

    organization = models.OneToOneField(
        "organizations.Organization", on_delete=models.PROTECT, related_name="credit_profile",
        verbose_name=_("organization")
    )
    settled_on_time = models.PositiveIntegerField(_("settled on time"), default=0)
    settled_late = models.PositiveIntegerField(_("settled late"), default=0)
    days_late_total = models.PositiveIntegerField(_("total days late"), default=0)
    days_late_max = models.PositiveIntegerField(_("most days late"), default=0)
    overdue = models.PositiveIntegerField(_("overdue"), default=0)
    defaulted = models.PositiveIntegerField(_("defaulted"), default=0)
    bills_count = models.PositiveIntegerField(_("bills count"), default=0)
    bills_drawn = models.PositiveIntegerField(
        _("bills drawn"), default=0, help_text=_("Bills it drew in the default currency.")
    )
    volume_by_quarter = models.JSONField(_("volume by quarter"), default=dict, blank=True)
    largest_debtor = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("largest debtor")
    )
    largest_debtor_share = models.DecimalField(
        _("share of the largest debtor"), max_digits=5, decimal_places=4, default=0
    )
    age_days = models.PositiveIntegerField(_("age in days"), default=0)
    invoices_disputed = models.PositiveIntegerField(
        _("invoices disputed"), default=0, help_text=_("Invoices it sold that the buyer disputes.")
    )
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("credit profile")
        verbose_name_plural = _("credit profiles")
        constraints = [
            models.CheckConstraint(name="credit_profile_share_in_range",
                                   condition=Q(largest_debtor_share__gte=0, largest_debtor_share__lte=1)),
        ]

    def __str__(self) -> str:
        return f"credit profile of {self.organization_id}"


class AppendOnlyViolation(Exception):
    """Raised when code tries to change or remove a credit score: the history is append-only."""


class CreditScoreQuerySet(models.QuerySet["CreditScore"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyViolation("Credit scores are append-only: they cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyViolation("Credit scores are append-only: they cannot be deleted.")


class CreditScore(models.Model):
    """One score of an organization with the factors that made it: ``[{factor, value, points, reason}]``."""

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="credit_scores",
        verbose_name=_("organization")
    )
    score = models.PositiveIntegerField(_("score"))
    computed_at = models.DateTimeField(_("computed at"))
    factors = models.JSONField(_("factors"), default=list)
    formula = models.CharField(
        _("formula"), max_length=16, help_text=_("The formula's version (sme_credit/README.md).")
    )

    objects = CreditScoreQuerySet.as_manager()

    class Meta:
        verbose_name = _("credit score")
        verbose_name_plural = _("credit scores")
        ordering = ["-computed_at", "-id"]
        indexes = [models.Index(fields=["organization", "-computed_at"], name="credit_score_org_time")]
        constraints = [
            models.CheckConstraint(name="credit_score_in_scale",
                                   condition=Q(score__gte=SCORE_MIN, score__lte=SCORE_MAX)),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.score} at {self.computed_at}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyViolation("Credit scores are append-only: an existing score cannot be saved again.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyViolation("Credit scores are append-only: they cannot be deleted.")


class CreditLimit(models.Model):
    """The most a financier will hold of what one debtor owes (optionally: owes one supplier), in one currency.

    Live while ``revoked_at`` is null; one live limit per (financier, debtor, supplier). A new grant for the
    same key revokes the old one in the same transaction.
    """

    financier = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("financier")
    )
    debtor = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("debtor")
    )
    supplier = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("supplier")
    )
    amount = models.DecimalField(_("amount"), max_digits=20, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("granted by")
    )
    granted_at = models.DateTimeField(_("granted at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("revoked by")
    )

    class Meta:
        verbose_name = _("credit limit")
        verbose_name_plural = _("credit limits")
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.CheckConstraint(name="credit_limit_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="credit_limit_currency_iso", condition=Q(currency__regex=r"^[A-Z]{3}$")),
            models.CheckConstraint(name="credit_limit_not_on_self", condition=~Q(financier=F("debtor"))),
            models.CheckConstraint(name="credit_limit_supplier_is_not_debtor",
                                   condition=Q(supplier__isnull=True) | ~Q(supplier=F("debtor"))),
            models.CheckConstraint(name="credit_limit_revoked_after_granted",
                                   condition=Q(revoked_at__isnull=True) | Q(revoked_at__gte=F("granted_at"))),
            models.UniqueConstraint(fields=["financier", "debtor"],
                                    condition=Q(revoked_at__isnull=True, supplier__isnull=True),
                                    name="credit_limit_one_live_per_debtor"),
            models.UniqueConstraint(fields=["financier", "debtor", "supplier"],
                                    condition=Q(revoked_at__isnull=True, supplier__isnull=False),
                                    name="credit_limit_one_live_per_supplier"),
        ]

    def __str__(self) -> str:
        scope = f" via {self.supplier_id}" if self.supplier_id else ""
        return f"limit {self.amount} {self.currency} of {self.financier_id} on {self.debtor_id}{scope}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


class RefreshWatermark(models.Model):
    """The last bill event whose organizations' profiles were refreshed (one row per ``name``)."""

    name = models.CharField(_("name"), max_length=32, primary_key=True)
    last_event_id = models.BigIntegerField(_("last event ID"), default=0)
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refresh watermark")
        verbose_name_plural = _("refresh watermarks")

    def __str__(self) -> str:
        return f"{self.name}: event {self.last_event_id}"


REPORT_FORMAT = 1


class CreditReport(models.Model):
    """A report of an organization's credit, issued by one of its members to a named recipient organization.

    ``canonical`` is the report's RFC 8785 text (format in ``sme_credit/README.md``), ``hash`` its keccak256,
    anchored under ``report_key = keccak256("report:" + id)`` as the single record of that key (prev = zero
    hash). Written once by ``services.credit_report_issue``; nothing edits it afterwards.
    """

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("organization")
    )
    recipient = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("recipient")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"))
    format = models.PositiveSmallIntegerField(_("format"), default=REPORT_FORMAT)
    canonical = models.TextField(_("canonical text"))
    hash = models.CharField(_("hash"), max_length=66, unique=True)
    report_key = models.CharField(_("report key"), max_length=66, unique=True)
    anchor = models.OneToOneField(
        "chain_adapter.AnchorRecord", on_delete=models.PROTECT, related_name="credit_report",
        verbose_name=_("anchor record")
    )

    class Meta:
        verbose_name = _("credit report")
        verbose_name_plural = _("credit reports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="credit_report_not_to_self", condition=~Q(organization=F("recipient"))),
        ]

    def __str__(self) -> str:
        return f"credit report {self.pk} of {self.organization_id} to {self.recipient_id}"


class IssuingLimit(models.Model):
    """The most a core enterprise may owe on the platform in one currency: the face of its live bills (issued to
    a supplier and waiting for the receipt, or accepted, and everything after until settled) cannot exceed it.

    Granted by the platform operator or by a financier (``grantor``); one live limit per (grantor, debtor,
    currency), a new grant revoking the old one. Every live limit on a debtor binds, so the strictest decides.
    Enforced by ``sme_credit.policies.issuing_within_limit`` (setting ``BILL_OBLIGATION_POLICIES``) when a
    core enterprise issues a bill and when it accepts one, under the limit rows' locks.
    """

    debtor = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("debtor")
    )
    grantor = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("grantor")
    )
    amount = models.DecimalField(_("amount"), max_digits=20, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("granted by")
    )
    granted_at = models.DateTimeField(_("granted at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("revoked by")
    )

    class Meta:
        verbose_name = _("issuing limit")
        verbose_name_plural = _("issuing limits")
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.CheckConstraint(name="issuing_limit_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="issuing_limit_currency_iso", condition=Q(currency__regex=r"^[A-Z]{3}$")),
            models.CheckConstraint(name="issuing_limit_not_on_self", condition=~Q(grantor=F("debtor"))),
            models.CheckConstraint(name="issuing_limit_revoked_after_granted",
                                   condition=Q(revoked_at__isnull=True) | Q(revoked_at__gte=F("granted_at"))),
            models.UniqueConstraint(fields=["grantor", "debtor", "currency"], condition=Q(revoked_at__isnull=True),
                                    name="issuing_limit_one_live_per_grantor"),
        ]

    def __str__(self) -> str:
        return f"issuing limit {self.amount} {self.currency} of {self.debtor_id} by {self.grantor_id}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None
