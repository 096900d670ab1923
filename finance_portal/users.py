"""Who uses the portal, for type annotations: the user model and ``request.user``, named in one place.

``AUTH_USER_MODEL`` is Django's ``auth.User``. Services take the acting ``User`` (``None`` where the system
acts); selectors and pages take a ``Viewer``, which is what ``request.user`` is (a ``User`` or
``AnonymousUser``), and check ``is_authenticated`` themselves. A view that only signed-in users reach passes
``signed_in_user(request)`` to a service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, cast

from django.contrib.auth.models import AnonymousUser, User

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework.request import Request

__all__ = ["User", "Viewer", "signed_in_user"]

Viewer: TypeAlias = User | AnonymousUser


def signed_in_user(request: HttpRequest | Request) -> User:
    """``request.user`` in a view behind ``login_required``, DRF's ``IsAuthenticated`` or the admin site, which let
    only signed-in users through; the type checker cannot see that. No check here (services still refuse a
    user without a membership of an organization that may act)."""
    return cast(User, request.user)
