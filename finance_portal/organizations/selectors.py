"""Reads on organizations shared by pages, the API and other apps."""

from __future__ import annotations

from django.db.models import QuerySet

from finance_portal.organizations.models import KycStatus, Membership, Organization
from finance_portal.users import Viewer


def membership_of(user: Viewer) -> Membership | None:
    if not user.is_authenticated:
        return None
    try:
        return Membership.objects.select_related("organization").get(user=user)
    except Membership.DoesNotExist:
        return None


def organizations_active() -> QuerySet[Organization]:
    """Organizations that may act: onboarded and KYC approved."""
    return Organization.objects.filter(kyc_status=KycStatus.APPROVED)


def organization_by_credit_code(code: str) -> Organization | None:
    return Organization.objects.filter(credit_code=(code or "").strip().upper()).first()
