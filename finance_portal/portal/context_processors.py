"""Puts the signed-in user's membership and organization in every template."""

from __future__ import annotations

from django.http import HttpRequest

from finance_portal.organizations.selectors import membership_of
from finance_portal.portal.roles import role_of


def membership(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    m = membership_of(user)
    return {"membership": m, "organization": m.organization if m else None, "nav_role": role_of(user, m)}
