"""Regulators read; they do not write (DESIGN §1, §9). One place refuses every write a regulator attempts.

``RegulatorReadOnlyMiddleware`` answers 403 to any POST, PUT, PATCH or DELETE by a member of a regulator
organization, before the view runs, except on the routes named in ``REGULATOR_WRITES`` (acknowledging a flag,
requesting a freeze, signing in and out, obtaining an API token, switching the language). Views keep their own checks: this is the
floor under them, so an endpoint added tomorrow is closed to regulators without anyone remembering it
(``tests/oversight/test_regulator_read_only.py`` walks the URL conf to prove it).

The API is also reached with ``Authorization: Token …``, which DRF resolves inside the view; the middleware
resolves such a token itself for unsafe methods, so both ways in are covered. An unknown token is left to DRF
(401). API paths get the project's JSON error shape; pages get the 403 page. ``token_user`` looks the token up
once per request; ``finance_portal.portal.authentication.TokenAuthentication`` (DRF's, in the API settings)
reuses that lookup instead of a second query.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

from finance_portal.compiled import CompiledRead
from finance_portal.organizations.selectors import membership_of
from finance_portal.users import Viewer

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# URL names (with namespace) of the writes a regulator may make.
REGULATOR_WRITES = frozenset({
    "oversight:acknowledge",  # the page's acknowledge form
    "api-oversight-flag-acknowledge",
    "api-bill-freeze-request",
    "portal:login",
    "portal:logout",
    "api-token",
    "set_language",  # the language switcher (a cookie, nothing written)
})

MESSAGE = "Regulators have read-only access: acknowledging a flag and requesting a freeze are the only writes."


TOKEN_MEMO = "_portal_token_lookup"  # (key, Token or None): the request's one token lookup


def token_user(request: HttpRequest) -> Viewer | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "token" or not key.strip():
        return None
    key = key.strip()[:40]
    memo = getattr(request, TOKEN_MEMO, None)
    if memo is not None and memo[0] == key:
        token = memo[1]
    else:
        token = _token_read().first(key=key)
        setattr(request, TOKEN_MEMO, (key, token))
    return token.user if token is not None and token.user.is_active else None


@functools.cache
def _token_read() -> CompiledRead[Any]:
    from rest_framework.authtoken.models import Token  # not at import: this module loads before the apps

    return CompiledRead(lambda *, key: Token.objects.select_related("user").filter(key=key), first=True)


def _is_regulator(user: Viewer | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    membership = membership_of(user)
    return membership is not None and membership.organization.is_regulator


def _route_name(path: str) -> str | None:
    try:
        return resolve(path).view_name
    except Resolver404:
        return None


class RegulatorReadOnlyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in UNSAFE_METHODS:
            user: Viewer | None = getattr(request, "user", AnonymousUser())
            if user is None or not user.is_authenticated:
                user = token_user(request)
            if _is_regulator(user) and _route_name(request.path_info) not in REGULATOR_WRITES:
                if request.path_info.startswith("/api/"):
                    return JsonResponse({"detail": MESSAGE, "code": "read_only_role"}, status=403)
                raise PermissionDenied(MESSAGE)
        return self.get_response(request)
