"""What needs someone's action, pushed: one row per bill event that asks an organization (or one user) to act.

A newcomer must know one thing: rows are written by ``notifications.hooks`` inside the bill event's own
transaction, so a rolled-back transition leaves no notification; afterwards a row is append-only except for
``read_at`` (the ORM refuses other updates and deletes, and a trigger refuses them in SQL). The text is not
stored: ``kind`` and ``params`` are, and each reader sees it in their own language (``notifications.texts``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    BILL_SUBMITTED = "bill_submitted", _("A bill waits for your acceptance")
    BILL_ISSUED = "bill_issued", _("A bill was issued to you: sign for it")
    BILL_TRANSFERRED = "bill_transferred", _("A bill was transferred to you: sign for it")
    BILL_OVERDUE = "bill_overdue", _("A bill is overdue")
    BILL_FROZEN = "bill_frozen", _("A bill you hold was frozen")
    OFFER_MADE = "offer_made", _("A financier made an offer on your listed bill")
    EARLY_SETTLEMENT_REQUESTED = "early_settlement_requested", _("The debtor asks to settle a bill early")


class AppendOnlyViolation(Exception):
    """Raised when code tries to change a notification beyond marking it read, or to remove one."""


class NotificationQuerySet(models.QuerySet["Notification"]):
    def update(self, **kwargs: Any) -> int:
        if set(kwargs) - {"read_at"}:
            raise AppendOnlyViolation("Notifications are append-only: only read_at may change.")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyViolation("Notifications are append-only: they cannot be deleted.")


class Notification(models.Model):
    """One event that needs the recipient's action: addressed to an organization (every member sees it, and
    one member's "read" is the organization's) or to one user."""

    organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("organization")
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", verbose_name=_("user"))
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    bill = models.ForeignKey(
        "bills.Bill", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("bill")
    )
    # What the text needs (bill number, counterparty, face, currency, maturity): strings only.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "read_at"], name="notification_org_unread"),
            models.Index(fields=["user", "read_at"], name="notification_user_unread"),
        ]
        constraints = [
            models.CheckConstraint(
                name="notification_one_recipient",
                condition=(Q(organization__isnull=False) & Q(user__isnull=True))
                | (Q(organization__isnull=True) & Q(user__isnull=False)),
            ),
            models.CheckConstraint(name="notification_kind_valid",
                                   condition=Q(kind__in=[k.value for k in NotificationKind])),
            models.CheckConstraint(name="notification_read_after_created",
                                   condition=Q(read_at__isnull=True) | Q(read_at__gte=models.F("created_at"))),
        ]

    def __str__(self) -> str:
        to = f"org {self.organization_id}" if self.organization_id else f"user {self.user_id}"
        return f"{self.kind} to {to} ({'read' if self.read_at else 'unread'})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and set(kwargs.get("update_fields") or ()) != {"read_at"}:
            raise AppendOnlyViolation("Notifications are append-only: save(update_fields=['read_at']) only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyViolation("Notifications are append-only: they cannot be deleted.")


class NotificationPreference(models.Model):
    """The language a user wants their notification emails in (the site's default when there is no row)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    language = models.CharField(_("language"), max_length=10)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}"
