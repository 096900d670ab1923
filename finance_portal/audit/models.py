"""``AuditRecord``: one request or sign-in event of a platform staff user or a regulator.

Append-only. The ORM refuses ``save()`` of an existing row, ``delete()`` and queryset ``update()``/``delete()``;
PostgreSQL refuses UPDATE and DELETE with a trigger (migration 0001), so even raw SQL cannot rewrite history.
TRUNCATE (test flushes) is left alone.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditImmutable(Exception):
    """Raised by the ORM guards: audit records are never changed or deleted."""


class AuditRole(models.TextChoices):
    PLATFORM_STAFF = "platform_staff", _("Platform staff")
    REGULATOR = "regulator", _("Regulator")


class AuditAction(models.TextChoices):
    REQUEST = "request", _("Request")
    LOGIN = "login", _("Signed in")
    LOGOUT = "logout", _("Signed out")
    LOGIN_FAILED = "login_failed", _("Failed sign-in")


class AuditQuerySet(models.QuerySet["AuditRecord"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditImmutable("The audit log is append-only.")

    def delete(self) -> NoReturn:  # type: ignore[override]
        raise AuditImmutable("The audit log is append-only.")


class AuditRecord(models.Model):
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    username = models.CharField(_("username"), max_length=150)
    organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("organization")
    )
    role = models.CharField(_("role"), max_length=16, choices=AuditRole.choices)
    action = models.CharField(
        _("action"), max_length=16, choices=AuditAction.choices, default=AuditAction.REQUEST
    )
    method = models.CharField(_("HTTP method"), max_length=10, blank=True)
    path = models.CharField(_("path"), max_length=2000)
    query = models.CharField(_("query string"), max_length=2000, blank=True)
    view_name = models.CharField(_("view name"), max_length=200, blank=True)
    object_ref = models.CharField(_("object reference"), max_length=500, blank=True)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    is_export = models.BooleanField(_("export"), default=False)
    remote_addr = models.GenericIPAddressField(_("remote address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="audit_user_time")]
        constraints = [
            models.CheckConstraint(name="audit_role_valid", condition=models.Q(role__in=AuditRole.values)),
            models.CheckConstraint(name="audit_action_valid", condition=models.Q(action__in=AuditAction.values)),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.method} {self.path}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutable(f"Audit record {self.pk} is append-only.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditImmutable(f"Audit record {self.pk} is append-only.")
