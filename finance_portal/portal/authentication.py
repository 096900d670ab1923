"""DRF's token authentication, reusing the token the portal's middlewares already looked up in this request.

For a write, ``RegulatorReadOnlyMiddleware`` and ``MoneySecondFactorMiddleware`` resolve ``Authorization: Token
…`` before the view (``finance_portal.portal.middleware.token_user``); DRF would then read the same row again.
This class answers from that lookup when it is for the very same key and found an active user's token, and
otherwise does exactly what DRF's ``TokenAuthentication`` does (its 401s for an unknown key or inactive user
included).
"""

from __future__ import annotations

from typing import Any

from rest_framework import authentication
from rest_framework.request import Request

from finance_portal.portal.middleware import TOKEN_MEMO


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        memo = getattr(request._request, TOKEN_MEMO, None)
        parts = authentication.get_authorization_header(request).split()
        if memo is not None and memo[1] is not None and len(parts) == 2 and parts[0].lower() == b"token":
            key, token = memo
            if parts[1] == key.encode() and token.user.is_active:
                return token.user, token
        return super().authenticate(request)
