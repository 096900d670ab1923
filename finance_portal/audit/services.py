"""Who is audited, from which address, and the one function that writes an ``AuditRecord``.

Audited: platform staff (Django ``is_staff``/superusers and members of the platform operator) and members of
a regulator. The role is resolved once at sign-in and kept in the session, so a request by anyone else costs
no extra query; token-authenticated API calls resolve it from the membership.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import DatabaseError
from django.http import HttpRequest

from finance_portal.audit.models import AuditAction, AuditRecord, AuditRole
from finance_portal.organizations.selectors import membership_of
from finance_portal.users import User, Viewer

logger = logging.getLogger(__name__)

SESSION_ROLE = "audit.role"  # "" for users who are not audited
SESSION_ORG = "audit.org"


@dataclass(frozen=True)
class Auditee:
    role: str
    organization_id: int | None


def auditee_of(user: Viewer) -> Auditee | None:
    """The audit role of ``user`` from the database (one query), or None when the user is not audited."""
    if not user.is_authenticated:
        return None
    membership = membership_of(user)
    org = membership.organization if membership else None
    if org is not None and org.is_regulator:
        return Auditee(AuditRole.REGULATOR, org.pk)
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False) or (org is not None and org.is_platform):
        return Auditee(AuditRole.PLATFORM_STAFF, org.pk if org else None)
    return None


def remember_in_session(request: HttpRequest, who: Auditee | None) -> None:
    """Called at sign-in: the role travels with the session so later requests need no lookup."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SESSION_ROLE] = who.role if who else ""
        session[SESSION_ORG] = who.organization_id if who else None


def auditee_for_request(request: HttpRequest) -> Auditee | None:
    """The audit role of the request's user: from the session when it was stored at sign-in, else a lookup."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    session = getattr(request, "session", None)
    if session is not None and SESSION_ROLE in session and session.get(SESSION_KEY) == str(user.pk):
        role = session[SESSION_ROLE]
        if role:
            return Auditee(role, session.get(SESSION_ORG))
        if not (user.is_staff or user.is_superuser):
            return None
    return auditee_of(user)


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """REMOTE_ADDR; X-Forwarded-For only when REMOTE_ADDR is a proxy named in ``AUDIT_TRUSTED_PROXIES``, and
    then the right-most address in the chain that is not itself a trusted proxy."""
    remote = _ip(request.META.get("REMOTE_ADDR", "") or "")
    trusted = set(getattr(settings, "AUDIT_TRUSTED_PROXIES", []) or [])
    if remote is None or remote not in trusted:
        return remote
    hops = [h for h in (request.META.get("HTTP_X_FORWARDED_FOR", "") or "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            return remote
        if address not in trusted:
            return address
    return remote


def _text(value: str, limit: int) -> str:
    return value.replace("\x00", "%00")[:limit]  # PostgreSQL text holds no NUL; keep the evidence visible


def audit_record(*, request: HttpRequest | None, user: User, who: Auditee, action: str = AuditAction.REQUEST,
                 view_name: str = "", object_ref: str = "", status_code: int | None = None,
                 is_export: bool = False) -> AuditRecord | None:
    """Append one record. A failure to write is logged, never turned into an error for the user."""
    meta = request.META if request is not None else {}
    record = AuditRecord(
        user=user, username=user.get_username(), organization_id=who.organization_id, role=who.role,
        action=action, method=_text(request.method or "", 10) if request is not None else "",
        path=_text(request.path, 2000) if request is not None else "",
        query=_text(meta.get("QUERY_STRING", "") or "", 2000), view_name=_text(view_name, 200),
        object_ref=_text(object_ref, 500), status_code=status_code, is_export=is_export,
        remote_addr=client_address(request) if request is not None else None,
        user_agent=_text(meta.get("HTTP_USER_AGENT", "") or "", 300),
    )
    try:
        record.save()
    except DatabaseError:
        logger.exception("audit record not written: %s %s by %s", record.method, record.path, record.username)
        return None
    if request is not None:
        request._audit_recorded = True  # type: ignore[attr-defined]
    return record
