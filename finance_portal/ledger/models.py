"""The double-entry cash ledger: accounts now; journal entries and postings come with money movements.

Balances are derived from postings, never stored. Every organization gets a cash account per currency
when it is created (``organization_create``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class AccountKind(models.TextChoices):
    CASH = "cash", "Cash held on the platform"
    BANK_CLEARING = "bank_clearing", "Bank clearing (money entering or leaving the platform)"


class Account(models.Model):
    organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    kind = models.CharField(max_length=20, choices=AccountKind.choices, default=AccountKind.CASH)
    currency = models.CharField(max_length=3, default="CNY")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "currency"], name="ledger_one_account_per_org_kind_currency"
            ),
            models.CheckConstraint(name="ledger_currency_is_iso", condition=Q(currency__regex=r"^[A-Z]{3}$")),
        ]

    def __str__(self) -> str:
        return self.name
