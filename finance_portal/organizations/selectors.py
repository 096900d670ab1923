"""Reads on organizations shared by pages, the API and other apps.

``membership_of`` is asked many times in one request (the nav, the role checks, the selectors of each part of a
page); inside ``membership_cache()`` (entered by the portal's middleware for every request) it reads the
database once per user. The cache is cleared whenever a membership or an organization is saved or deleted in
the request, and it keeps nothing read inside a transaction the request opened (that may yet roll back).
Outside a request (services, tasks, tests calling selectors) nothing is cached.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save

from finance_portal.compiled import CompiledRead
from finance_portal.organizations.models import KycStatus, Membership, Organization
from finance_portal.users import Viewer


class _Cache:
    def __init__(self) -> None:
        self.depth = len(connection.atomic_blocks)  # transactions already open when the request began
        self.memberships: dict[int, Membership | None] = {}


_cache: ContextVar[_Cache | None] = ContextVar("membership_cache", default=None)


@contextmanager
def membership_cache() -> Iterator[None]:
    """Within this block ``membership_of`` reads each user's membership once (a request's scope); a block
    inside another shares the outer one's cache."""
    if _cache.get() is not None:
        yield
        return
    token = _cache.set(_Cache())
    try:
        yield
    finally:
        _cache.reset(token)


def _forget(**_: Any) -> None:
    cache = _cache.get()
    if cache is not None:
        cache.memberships.clear()


for _model in (Membership, Organization):
    post_save.connect(_forget, sender=_model, dispatch_uid=f"membership_cache.save.{_model.__name__}")
    post_delete.connect(_forget, sender=_model, dispatch_uid=f"membership_cache.delete.{_model.__name__}")


_MEMBERSHIP = CompiledRead(
    lambda *, user: Membership.objects.select_related("organization").filter(user_id=user), first=True)


def membership_of(user: Viewer) -> Membership | None:
    if not user.is_authenticated:
        return None
    cache = _cache.get()
    if cache is not None and user.pk in cache.memberships:
        return cache.memberships[user.pk]
    membership = _MEMBERSHIP.first(user=user.pk)  # one at most (one-to-one)
    if cache is not None and len(connection.atomic_blocks) == cache.depth:
        cache.memberships[user.pk] = membership
    return membership


def organizations_active() -> QuerySet[Organization]:
    """Organizations that may act: onboarded and KYC approved."""
    return Organization.objects.filter(kyc_status=KycStatus.APPROVED)


def organization_by_credit_code(code: str) -> Organization | None:
    return Organization.objects.filter(credit_code=(code or "").strip().upper()).first()
