"""Verification tokens: the revocable links (``/verify/t/<token>/``) a bill's holder shares so anyone can
verify the bill's public profile without learning its id (DESIGN §8, issue 8).

The one thing to know: a token is the only way in for anyone without a login. It is 192 random bits, so it
cannot be guessed; only the bill's current holder creates or revokes one; a revoked token opens nothing.
"""

from __future__ import annotations

import secrets

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from bills.errors import BillActionNotPermitted, BillNotFound
from bills.models import Bill, VerificationToken
from bills.selectors import parse_bill_id
from finance_portal.organizations.models import Organization
from finance_portal.organizations.services import require_acting_organization
from finance_portal.users import User

TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters


def _holder_only(bill: Bill, org: Organization, what: str) -> None:
    if bill.holder_id != org.pk:
        raise BillActionNotPermitted(f"Only the bill's holder {what} its verification links.")


def verification_token_create(*, bill_id: object, actor: User) -> VerificationToken:
    """The holder creates a new verification link for its bill. Refused (404) for a bill the actor's
    organization takes no part in, (403) for one it does not hold."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = Bill.objects.select_for_update().filter(pk=parse_bill_id(bill_id)).first()
        if bill is None or not bill.participants.filter(organization=org).exists():
            raise BillNotFound("No such bill.")
        _holder_only(bill, org, "creates")
        return VerificationToken.objects.create(
            bill=bill, token=secrets.token_urlsafe(TOKEN_BYTES), created_by=org, created_by_user=actor,
            created_at=timezone.now(),
        )


def verification_token_revoke(*, token_id: int, actor: User) -> VerificationToken:
    """The holder revokes a verification link of its bill; revoking a revoked link changes nothing."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        token = VerificationToken.objects.select_for_update().select_related("bill").filter(pk=token_id).first()
        if token is None or not token.bill.participants.filter(organization=org).exists():
            raise BillNotFound("No such verification link.")
        _holder_only(token.bill, org, "revokes")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.revoked_by_user = actor
            token.save(update_fields=["revoked_at", "revoked_by_user"])
        return token


def verification_token_lookup(token: str) -> VerificationToken | None:
    """The token row (live or revoked) with its bill and the bill's parties, or None."""
    if not (32 <= len(token) <= 64):
        return None
    return (VerificationToken.objects.select_related("bill", "bill__debtor", "bill__holder")
            .filter(token=token).first())


def verification_tokens_live(bill: Bill) -> QuerySet[VerificationToken]:
    return VerificationToken.objects.filter(bill=bill, revoked_at__isnull=True).order_by("-created_at", "id")
