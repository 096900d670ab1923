"""Organizations (suppliers, core enterprises, financiers, regulators, the platform) and their people.

An organization acts on the platform only once its KYC status is ``approved``. A user belongs to exactly
one organization through a ``Membership`` that carries the user's role in it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from finance_portal.organizations.validators import validate_credit_code


class KycStatus(models.TextChoices):
    PENDING = "pending", _("Pending review")
    APPROVED = "approved", _("Approved")
    SUSPENDED = "suspended", _("Suspended")


class OrganizationKind(models.TextChoices):
    SUPPLIER = "supplier", _("Supplier")
    CORE_ENTERPRISE = "core_enterprise", _("Core enterprise")
    FINANCIER = "financier", _("Financier")
    REGULATOR = "regulator", _("Regulator")
    PLATFORM = "platform", _("Platform operator")


class Organization(models.Model):
    legal_name = models.CharField(_("legal name"), max_length=200)
    # The registered Chinese name (营业执照上的名称), shown instead of ``legal_name`` to a reader in Chinese.
    legal_name_zh = models.CharField(_("legal name in Chinese"), max_length=200, blank=True)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[validate_credit_code]
    )
    is_supplier = models.BooleanField(_("supplier"), default=False)
    is_core_enterprise = models.BooleanField(_("core enterprise"), default=False)
    is_financier = models.BooleanField(_("financier"), default=False)
    is_regulator = models.BooleanField(_("regulator"), default=False)
    is_platform = models.BooleanField(_("platform operator"), default=False)
    kyc_status = models.CharField(
        _("KYC status"), max_length=16, choices=KycStatus.choices, default=KycStatus.PENDING
    )
    kyc_reviewed_at = models.DateTimeField(_("KYC reviewed at"), null=True, blank=True)
    kyc_note = models.CharField(_("KYC note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["legal_name"]
        constraints = [
            models.CheckConstraint(
                name="org_has_a_kind",
                condition=Q(is_supplier=True)
                | Q(is_core_enterprise=True)
                | Q(is_financier=True)
                | Q(is_regulator=True)
                | Q(is_platform=True),
            ),
            # A regulator or the platform operator takes no side in a trade.
            models.CheckConstraint(
                name="org_oversight_is_exclusive",
                condition=~(
                    (Q(is_regulator=True) | Q(is_platform=True))
                    & (Q(is_supplier=True) | Q(is_core_enterprise=True) | Q(is_financier=True))
                ),
            ),
            models.CheckConstraint(
                name="org_kyc_status_valid", condition=Q(kyc_status__in=[c.value for c in KycStatus])
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name

    @property
    def display_name(self) -> str:
        """The name for the active language: the Chinese legal name to a reader in Chinese when there is one."""
        if self.legal_name_zh and (get_language() or "").lower().startswith("zh"):
            return self.legal_name_zh
        return self.legal_name

    @property
    def kinds(self) -> list[str]:
        return [kind.value for kind in OrganizationKind if getattr(self, _KIND_FIELDS[kind.value])]

    @property
    def kind_labels(self) -> str:
        return ", ".join(str(OrganizationKind(k).label) for k in self.kinds)

    @property
    def can_act(self) -> bool:
        return self.kyc_status == KycStatus.APPROVED


_KIND_FIELDS = {
    OrganizationKind.SUPPLIER.value: "is_supplier",
    OrganizationKind.CORE_ENTERPRISE.value: "is_core_enterprise",
    OrganizationKind.FINANCIER.value: "is_financier",
    OrganizationKind.REGULATOR.value: "is_regulator",
    OrganizationKind.PLATFORM.value: "is_platform",
}


def kind_field(kind: str) -> str:
    return _KIND_FIELDS[kind]


class MemberRole(models.TextChoices):
    ADMIN = "admin", _("Organization administrator")
    MEMBER = "member", _("Member")


class Membership(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership", verbose_name=_("user")
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("organization")
    )
    role = models.CharField(_("role"), max_length=16, choices=MemberRole.choices, default=MemberRole.MEMBER)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organization__legal_name", "user__username"]
        constraints = [
            models.CheckConstraint(name="membership_role_valid", condition=Q(role__in=[c.value for c in MemberRole]))
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class OrganizationAuditLog(models.Model):
    """Append-only record of changes of consequence to organizations and memberships."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="audit_log", verbose_name=_("organization")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("actor")
    )
    action = models.CharField(_("action"), max_length=64)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organization audit log entry")
        verbose_name_plural = _("organization audit log entries")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.organization}"
