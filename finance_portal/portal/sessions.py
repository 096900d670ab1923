"""Sliding sessions without a database write on every request.

A session ends after ``SESSION_COOKIE_AGE`` seconds without a request (``SESSION_IDLE_MINUTES``). Django's
``SESSION_SAVE_EVERY_REQUEST`` would slide it by rewriting the session row (BEGIN, UPDATE, COMMIT) on every page
and every htmx poll. ``SlidingSessionMiddleware`` renews it instead when its last renewal is at least
``SESSION_RENEW_SECONDS`` old (60 by default): the session's expiry and its cookie move forward then, and a
session idle for ``SESSION_COOKIE_AGE`` seconds still ends, at most ``SESSION_RENEW_SECONDS`` early.

It sits after Django's ``SessionMiddleware`` in ``MIDDLEWARE``, so on the way out it marks the session modified
before ``SessionMiddleware`` decides whether to save it. An empty session (signed out, never signed in) is left
alone: there is nothing to keep alive. Signing in counts as a renewal (``stamp_at_sign_in``, connected to
``user_logged_in`` by the app): the session was just written with a full lifetime.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

RENEWED_AT = "session.renewed_at"  # epoch seconds of the last renewal, kept in the session itself


def _now() -> int:
    return int(time.time())


def stamp_at_sign_in(sender: object, request: HttpRequest | None = None, **_: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        session[RENEWED_AT] = _now()


class SlidingSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.is_empty():
            return response
        now = _now()
        renewed_at = session.get(RENEWED_AT)
        every = int(getattr(settings, "SESSION_RENEW_SECONDS", 60))
        if session.modified or not isinstance(renewed_at, int) or not 0 <= now - renewed_at < every:
            session[RENEWED_AT] = now  # marks it modified: SessionMiddleware saves it and sends the cookie again
        return response
