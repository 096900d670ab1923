"""Opens the request's ``membership_cache`` (``organizations.selectors``): however many middlewares, views,
selectors and the audit log ask for the viewer's membership, it is read from the database once per request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from finance_portal.organizations.selectors import membership_cache


class MembershipCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with membership_cache():
            return self.get_response(request)
