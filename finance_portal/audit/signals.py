"""Sign-ins, sign-outs and failed sign-ins of audited users (Django's auth signals, so axes' and the admin's
log-ins are covered too). At sign-in the user's audit role is stored in the session for the middleware."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest

from finance_portal.audit.models import AuditAction
from finance_portal.audit.services import audit_record, auditee_of, remember_in_session


def on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    who = auditee_of(user)
    if request is not None:
        remember_in_session(request, who)
    if who is not None:
        audit_record(request=request, user=user, who=who, action=AuditAction.LOGIN)


def on_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    who = auditee_of(user)
    if who is not None:
        audit_record(request=request, user=user, who=who, action=AuditAction.LOGOUT)


def on_login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                    **kwargs: Any) -> None:
    username = credentials.get("username")
    if not isinstance(username, str) or not username or "\x00" in username:
        return
    user = get_user_model().objects.filter(username=username).first()
    who = auditee_of(user) if user is not None else None
    if user is not None and who is not None:
        audit_record(request=request, user=user, who=who, action=AuditAction.LOGIN_FAILED)


def connect() -> None:
    user_logged_in.connect(on_login, dispatch_uid="audit-login")
    user_logged_out.connect(on_logout, dispatch_uid="audit-logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="audit-login-failed")
