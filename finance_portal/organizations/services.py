"""Writes on organizations and memberships. Admin actions, commands and demo data all come through here."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from finance_portal.compiled import CompiledRead
from finance_portal.organizations.errors import InvalidOrganization, KycNotApproved, NoMembership
from finance_portal.organizations.models import (
    KycStatus,
    MemberRole,
    Membership,
    Organization,
    OrganizationAuditLog,
    OrganizationKind,
    kind_field,
)
from finance_portal.organizations.validators import normalize_credit_code, validate_credit_code
from finance_portal.users import User

_OVERSIGHT = {OrganizationKind.REGULATOR.value, OrganizationKind.PLATFORM.value}


def _audit(org: Organization, action: str, actor: User | None, **detail: object) -> None:
    OrganizationAuditLog.objects.create(organization=org, actor=actor, action=action, detail=detail)


def organization_create(
    *,
    legal_name: str,
    credit_code: str,
    kinds: Iterable[str],
    actor: User | None = None,
    kyc_status: str = KycStatus.PENDING,
    legal_name_zh: str = "",
) -> Organization:
    """Register an organization with its cash account. New organizations wait for KYC unless told otherwise.

    In the same transaction it calls each dotted path of ``settings.ORGANIZATION_CREATED_HOOKS`` with
    ``organization=``: the ledger opens the cash account there, so this app never imports the ledger.
    """
    legal_name = (legal_name or "").strip()
    if not legal_name:
        raise InvalidOrganization("The legal name is required.", field="legal_name")
    legal_name_zh = (legal_name_zh or "").strip()
    if len(legal_name_zh) > 200 or any(ord(c) < 32 for c in legal_name_zh):
        raise InvalidOrganization("The Chinese legal name is limited to 200 printable characters.",
                                  field="legal_name_zh")
    code = normalize_credit_code(credit_code)
    try:
        validate_credit_code(code)
    except ValidationError as err:
        raise InvalidOrganization(err.messages[0], field="credit_code") from None
    kinds = {str(k) for k in kinds}
    unknown = kinds - {k.value for k in OrganizationKind}
    if unknown:
        raise InvalidOrganization(f"Unknown organization kind: {', '.join(sorted(unknown))}.", field="kinds")
    if not kinds:
        raise InvalidOrganization("An organization needs at least one kind.", field="kinds")
    if kinds & _OVERSIGHT and len(kinds) > 1:
        raise InvalidOrganization(
            "A regulator or the platform operator cannot also be a supplier, core enterprise or financier.",
            field="kinds",
        )
    if kyc_status not in KycStatus.values:
        raise InvalidOrganization(f"Unknown KYC status {kyc_status!r}.", field="kyc_status")
    with transaction.atomic():
        if Organization.objects.filter(credit_code=code).exists():
            raise InvalidOrganization("An organization with this credit code is already registered.", field="credit_code")
        org = Organization(legal_name=legal_name, legal_name_zh=legal_name_zh, credit_code=code, kyc_status=kyc_status)
        for kind in kinds:
            setattr(org, kind_field(kind), True)
        if kyc_status != KycStatus.PENDING:
            org.kyc_reviewed_at = timezone.now()
        org.save()
        for hook in settings.ORGANIZATION_CREATED_HOOKS:
            import_string(hook)(organization=org)
        _audit(org, "organization.created", actor, kinds=sorted(kinds), kyc_status=kyc_status)
    return org


def organization_set_kyc(
    *, organization_id: int, status: str, actor: User | None, note: str = ""
) -> Organization:
    """Approve, suspend or send back to review an organization's KYC. Only approved organizations act."""
    if status not in KycStatus.values:
        raise InvalidOrganization(f"Unknown KYC status {status!r}.", field="kyc_status")
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=organization_id)
        previous = org.kyc_status
        org.kyc_status = status
        org.kyc_reviewed_at = timezone.now()
        org.kyc_note = note[:500]
        org.save(update_fields=["kyc_status", "kyc_reviewed_at", "kyc_note"])
        _audit(org, "organization.kyc", actor, previous=previous, status=status, note=note[:500])
    return org


def member_create(
    *,
    organization: Organization,
    username: str,
    password: str,
    email: str = "",
    role: str = MemberRole.MEMBER,
    actor: User | None = None,
    is_staff: bool = False,
    is_superuser: bool = False,
) -> Membership:
    """Create a user in ``organization`` with ``role``. Staff access is reserved to platform members."""
    if role not in MemberRole.values:
        raise InvalidOrganization(f"Unknown role {role!r}.", field="role")
    if (is_staff or is_superuser) and not organization.is_platform:
        raise InvalidOrganization("Only members of the platform operator can be admin staff.", field="is_staff")
    username = (username or "").strip()
    if not username:
        raise InvalidOrganization("A username is required.", field="username")
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise InvalidOrganization("This username is taken.", field="username")
        user = User(username=username, email=email, is_staff=is_staff, is_superuser=is_superuser)
        user.set_password(password)
        user.save()
        membership = Membership.objects.create(user=user, organization=organization, role=role)
        _audit(organization, "membership.created", actor, username=username, role=role)
    return membership


NO_MEMBERSHIP = "Your account does not belong to an organization on the platform."


def require_membership(user: AbstractBaseUser) -> Membership:
    """The user's membership, or ``NoMembership``."""
    membership = getattr(user, "membership", None) if user.is_authenticated else None
    if membership is None:
        raise NoMembership(NO_MEMBERSHIP)
    return membership


_ACTING_ORGANIZATION = CompiledRead(lambda *, user: Organization.objects.filter(memberships__user_id=user), first=True)


def require_acting_organization(user: AbstractBaseUser) -> Organization:
    """The user's organization if it may act (KYC approved); raises otherwise. Checked in every write."""
    # Read the organization afresh: a suspension must take effect on the very next action. One query through
    # the membership (not the membership, then the organization).
    org = (_ACTING_ORGANIZATION.first(user=user.pk) if user.is_authenticated and user.pk is not None else None)
    if org is None:
        raise NoMembership(NO_MEMBERSHIP)
    if not org.can_act:
        raise KycNotApproved(
            f"{org.legal_name} cannot act on the platform while its KYC status is {org.get_kyc_status_display().lower()}."
        )
    return org
