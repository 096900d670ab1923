"""Reads of the credit app shared by the API and other apps: who may read an organization's credit, its profile
and score history, a financier's limits. Bill history is read only through ``bills.selectors``.

Who reads credit: the organization itself, financiers (they price risk), regulators, platform staff. Anyone
else gets 404, as for an organization that does not exist.
"""

from __future__ import annotations

from django.db.models import QuerySet

from finance_portal.organizations.models import Organization
from finance_portal.organizations.selectors import membership_of
from finance_portal.users import Viewer
from sme_credit.errors import CreditNotFound
from sme_credit.models import CreditLimit, CreditProfile, CreditScore


def credit_readable_by(*, user: Viewer, organization: Organization) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    membership = membership_of(user)
    if membership is None:
        return False
    viewer = membership.organization
    return (viewer.pk == organization.pk or viewer.is_regulator or viewer.is_platform
            or (viewer.is_financier and viewer.can_act))


def credit_organization_get(*, user: Viewer, organization_id: object) -> Organization:
    """The organization whose credit ``user`` asks for, or ``CreditNotFound`` (absent and out of reach alike)."""
    try:
        pk = int(str(organization_id))
    except ValueError:
        raise CreditNotFound("No such organization.") from None
    org = Organization.objects.filter(pk=pk).first()
    if org is None or not credit_readable_by(user=user, organization=org):
        raise CreditNotFound("No such organization.")
    return org


def credit_profile_of(organization: Organization) -> CreditProfile | None:
    return CreditProfile.objects.filter(organization=organization).select_related("largest_debtor").first()


def credit_scores_of(organization: Organization) -> QuerySet[CreditScore]:
    """The organization's score history, newest first."""
    return CreditScore.objects.filter(organization=organization).order_by("-computed_at", "-id")


def credit_limits_of(financier: Organization) -> QuerySet[CreditLimit]:
    """A financier's limits, live and revoked, newest first."""
    return CreditLimit.objects.filter(financier=financier).select_related("debtor", "supplier").order_by(
        "-granted_at", "-id")
