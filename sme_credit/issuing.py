"""Issuing limits of core enterprises: granted and revoked by the platform operator or a financier.

The limit caps what the core enterprise owes on the platform (``sme_credit.policies.issuing_within_limit``
enforces it when a bill is issued or accepted). Who may grant: platform staff (the grantor is the platform
operator) and financiers (the grantor is their organization). Each grantor holds at most one live limit per
debtor and currency; a new grant revokes the old one in the same transaction. Only the grantor revokes.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from bills import clock
from bills.selectors import face_owed_by
from finance_portal.ledger.selectors import is_platform_staff
from finance_portal.money import parse_amount, validate_currency
from finance_portal.organizations.models import Organization
from finance_portal.organizations.selectors import membership_of, organization_by_credit_code
from finance_portal.organizations.services import require_acting_organization
from finance_portal.users import User
from sme_credit.errors import CreditInvalid, CreditLimitRevoked, CreditNotPermitted
from sme_credit.models import IssuingLimit
from sme_credit.services import limit_revoke


def _grantor(actor: User) -> Organization:
    """The organization on whose behalf ``actor`` grants: the platform operator for its staff, or a financier."""
    if is_platform_staff(actor):
        membership = membership_of(actor)
        if membership is not None and membership.organization.is_platform:
            return membership.organization
        platform = Organization.objects.filter(is_platform=True).order_by("pk").first()
        if platform is None:
            raise CreditNotPermitted(gettext("No platform operator organization is registered."))
        return platform
    org = require_acting_organization(actor)
    if not org.is_financier:
        raise CreditNotPermitted(gettext("Only platform staff and financiers grant and revoke issuing limits."))
    return org


def _core_enterprise(code: object) -> Organization:
    if isinstance(code, Organization):
        org: Organization | None = code
    elif code in (None, ""):
        raise CreditInvalid(gettext("Name the core enterprise by its unified social credit code."), field="debtor")
    else:
        org = organization_by_credit_code(str(code))
    if org is None or not org.is_core_enterprise:
        raise CreditInvalid(gettext("No core enterprise on the platform has the credit code %(code)s.") % {
            "code": repr(code)}, field="debtor")
    return org


def issuing_limit_grant(*, actor: User, debtor: object, amount: object, currency: object = None) -> IssuingLimit:
    """Set the most ``debtor`` (a core enterprise) may owe in ``currency``. A lower limit than what it owes
    already is allowed: it refuses every new obligation until bills settle. 403 for anyone but platform staff
    and financiers; 400 for a bad organization, amount or currency; 409 for a concurrent grant."""
    grantor = _grantor(actor)
    target = _core_enterprise(debtor)
    if target.pk == grantor.pk:
        raise CreditInvalid(gettext("An organization cannot grant itself an issuing limit."), field="debtor")
    code = validate_currency(currency or settings.DEFAULT_CURRENCY)
    value = parse_amount(amount, code)
    now = clock.now()
    try:
        with transaction.atomic():
            live = IssuingLimit.objects.select_for_update().filter(
                grantor=grantor, debtor=target, currency=code, revoked_at__isnull=True)
            for old in live:
                old.revoked_at, old.revoked_by = now, actor
                old.save(update_fields=["revoked_at", "revoked_by"])
            return IssuingLimit.objects.create(debtor=target, grantor=grantor, amount=value, currency=code,
                                               granted_by=actor, granted_at=now)
    except IntegrityError as err:  # a concurrent grant by the same grantor won
        raise CreditLimitRevoked(
            "Another issuing limit for this core enterprise was granted at the same moment: read the limits and "
            "try again.",
            code="issuing_limit_conflict",
        ) from err


def issuing_limit_revoke(*, limit_id: object, actor: User) -> IssuingLimit:
    """The grantor revokes its limit. 403 for anyone but platform staff and financiers, 404 for a limit another
    organization granted, 409 if already revoked."""
    grantor = _grantor(actor)
    return limit_revoke(IssuingLimit.objects.filter(grantor=grantor), limit_id=limit_id, actor=actor,
                        what="issuing limit")


def issuing_limits_visible(actor: User) -> QuerySet[IssuingLimit]:
    """The limits ``actor`` may read: all for platform staff and regulators; a financier its grants; a core
    enterprise the limits on itself. 403 for everyone else."""
    qs = IssuingLimit.objects.select_related("debtor", "grantor").order_by("-granted_at", "-id")
    if is_platform_staff(actor):
        return qs
    membership = membership_of(actor)
    if membership is None:
        raise CreditNotPermitted(gettext("Only members of an organization read issuing limits."))
    org = membership.organization
    if org.is_regulator:
        return qs
    if not (org.is_financier or org.is_core_enterprise):
        raise CreditNotPermitted(gettext("Only financiers, core enterprises and regulators read issuing limits."))
    return qs.filter(Q(grantor=org) | Q(debtor=org))


def issuing_headroom(limit: IssuingLimit) -> dict[str, object]:
    """What the debtor owes now under ``limit``'s currency, and what is left of the limit (never below zero)."""
    owed = face_owed_by(debtor=limit.debtor, currency=limit.currency)
    return {"owed": owed, "available": max(limit.amount - owed, Decimal("0"))}
