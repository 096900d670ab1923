"""The double-entry cash ledger: accounts, journal entries and their postings.

The one thing to know: money moves only as a ``JournalEntry`` whose ``Posting`` rows sum to zero, written by
``finance_portal.ledger.services``. Entries and postings are append-only (here in the ORM, and by triggers in
PostgreSQL, see migration 0002); a mistake is corrected by a reversing entry. Balances are derived from
postings, never stored. A posting's amount is signed from the account's point of view: positive means money
arrives in the account, negative means it leaves. An organization's cash account never goes below zero; the
platform's bank-clearing account is the mirror of the bank and goes negative by the money the platform holds.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccountKind(models.TextChoices):
    CASH = "cash", _("Cash held on the platform")
    BANK_CLEARING = "bank_clearing", _("Bank clearing (money entering or leaving the platform)")
    FEE_INCOME = "fee_income", _("Platform fee income")


# Accounts of the platform itself have no organization: one per kind and currency.
PLATFORM_KINDS = (AccountKind.BANK_CLEARING, AccountKind.FEE_INCOME)


class Account(models.Model):
    organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="accounts",
        verbose_name=_("organization")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AccountKind.choices, default=AccountKind.CASH)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "currency"], name="ledger_one_account_per_org_kind_currency"
            ),
            models.UniqueConstraint(
                fields=["kind", "currency"],
                condition=Q(organization__isnull=True),
                name="ledger_one_platform_account_per_kind_currency",
            ),
            models.CheckConstraint(name="ledger_currency_is_iso", condition=Q(currency__regex=r"^[A-Z]{3}$")),
            models.CheckConstraint(name="ledger_account_kind_valid", condition=Q(kind__in=AccountKind.values)),
            # Cash belongs to an organization; clearing and fee income belong to the platform (no organization).
            models.CheckConstraint(
                name="ledger_account_owner_matches_kind",
                condition=(Q(kind=AccountKind.CASH) & Q(organization__isnull=False))
                | (Q(kind__in=PLATFORM_KINDS) & Q(organization__isnull=True)),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The account as a page names it, in the reader's language: its owner (the Chinese legal name to a
        reader in Chinese), its kind and currency. The stored ``name`` is data, written in English once."""
        owner = self.organization.display_name if self.organization is not None else str(_("The platform"))
        return f"{owner} · {self.get_kind_display()} ({self.currency})"


class EntryKind(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit (bank to organization cash)")
    WITHDRAWAL = "withdrawal", _("Withdrawal (organization cash to bank)")
    PURCHASE = "purchase", _("Purchase of a bill")
    SETTLEMENT = "settlement", _("Settlement of a bill")
    REVERSAL = "reversal", _("Reversal of an earlier entry")


BANK_KINDS = (EntryKind.DEPOSIT, EntryKind.WITHDRAWAL)


class LedgerImmutable(Exception):
    """Raised by the ORM guard: journal entries and postings are never changed or deleted."""


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise LedgerImmutable("Ledger rows are append-only: post a reversing entry instead of an update.")

    def delete(self) -> NoReturn:
        raise LedgerImmutable("Ledger rows are append-only: post a reversing entry instead of a delete.")


class AppendOnlyModel(models.Model):
    """Rows that may be inserted once and never changed or deleted (the database refuses it too)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise LedgerImmutable(f"{type(self).__name__} {self.pk} is append-only: post a reversing entry.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise LedgerImmutable(f"{type(self).__name__} {self.pk} is append-only: post a reversing entry.")


class JournalEntry(AppendOnlyModel):
    """One movement of money in one currency; its postings sum to zero."""

    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind.choices)
    currency = models.CharField(_("currency"), max_length=3)
    memo = models.CharField(_("memo"), max_length=500, blank=True)
    # A bank reference for deposits and withdrawals; the caller's own reference (a bill, a purchase) otherwise.
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    # The organization a deposit or withdrawal is for (the bank reference is unique per organization).
    organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("organization")
    )
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by",
        verbose_name=_("reversed entry")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("created by")
    )

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(name="ledger_entry_kind_valid", condition=Q(kind__in=EntryKind.values)),
            models.CheckConstraint(name="ledger_entry_currency_is_iso", condition=Q(currency__regex=r"^[A-Z]{3}$")),
            # A reversal, and only a reversal, names the entry it reverses.
            models.CheckConstraint(
                name="ledger_entry_reversal_names_its_entry",
                condition=(Q(kind=EntryKind.REVERSAL) & Q(reverses__isnull=False))
                | (~Q(kind=EntryKind.REVERSAL) & Q(reverses__isnull=True)),
            ),
            # Deposits and withdrawals are for one organization and carry the bank's reference.
            models.CheckConstraint(
                name="ledger_bank_entry_has_organization_and_reference",
                condition=~Q(kind__in=BANK_KINDS) | (Q(organization__isnull=False) & ~Q(reference="")),
            ),
            # Idempotency of the bank rails: one bank reference is used once per organization.
            models.UniqueConstraint(
                fields=["organization", "reference"],
                condition=Q(kind__in=BANK_KINDS),
                name="ledger_bank_reference_once_per_org",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.currency}"


class Posting(AppendOnlyModel):
    """One line of an entry: ``amount`` (signed, never zero) arrives in (+) or leaves (−) ``account``."""

    # Both looked up through the composite indexes below (entry, account) and (account, entry).
    entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="postings", db_index=False, verbose_name=_("journal entry")
    )
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="postings", db_index=False, verbose_name=_("account")
    )
    amount = models.DecimalField(_("amount"), max_digits=20, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        ordering = ["entry_id", "id"]
        constraints = [
            models.CheckConstraint(name="ledger_posting_amount_not_zero", condition=~Q(amount=0)),
            models.CheckConstraint(name="ledger_posting_currency_is_iso", condition=Q(currency__regex=r"^[A-Z]{3}$")),
            models.UniqueConstraint(fields=["entry", "account"], name="ledger_one_posting_per_account_per_entry"),
        ]
        indexes = [models.Index(fields=["account", "entry"], name="ledger_posting_account_entry")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on account {self.account_id} (entry {self.entry_id})"
