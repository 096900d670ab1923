"""Browser-facing hardening: the Content-Security-Policy header, and a debug page that never shows a key.

``ContentSecurityPolicyMiddleware`` puts ``settings.CONTENT_SECURITY_POLICY`` on every response (Django 5.2
has no CSP of its own; 6.0 does). The policy allows no inline script and no inline style: templates use
classes from ``static/css`` and scripts from ``static/js``. ``CONTENT_SECURITY_POLICY_EXCEPTIONS`` maps a
path prefix to a looser policy; the only one is the Swagger UI at ``/api/docs/`` (drf-spectacular renders
its start-up script inline, and Swagger UI sets inline styles). A view that sets the header itself keeps it.

``PortalExceptionReporterFilter`` (``DEFAULT_EXCEPTION_REPORTER_FILTER``) masks more than Django's
``SafeExceptionReporterFilter``: settings, request META (the environment, under runserver) and traceback
locals named like a mnemonic, a private key or an RPC/broker/database URL, any value that holds the anchor
key, Anvil's development keys or the secret key, and the password of any ``scheme://user:pass@host`` URL;
and it does so with DEBUG on too, where Django's filter leaves traceback locals alone.

``lockout_response`` (``AXES_LOCKOUT_CALLABLE``) answers a locked-out log-in: the API in the project's JSON error
shape (429, ``code: "locked_out"``, the lock-out's duration in the message and in ``Retry-After``), pages with
the HTML lock-out page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.debug import SafeExceptionReporterFilter

from chain_adapter.devnet import DEV_PRIVATE_KEYS

HEADER = "Content-Security-Policy"


def policy_for(path: str) -> str:
    """The policy for ``path``: the longest matching exception prefix, else the default."""
    exceptions: dict[str, str] = getattr(settings, "CONTENT_SECURITY_POLICY_EXCEPTIONS", {})
    for prefix in sorted(exceptions, key=len, reverse=True):
        if path.startswith(prefix):
            return exceptions[prefix]
    return str(settings.CONTENT_SECURITY_POLICY)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = policy_for(request.path_info)
        return response


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")) if n]
    return " ".join(parts) or "0 seconds"


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict[str, Any] | None = None) -> HttpResponse:
    """The answer to a request django-axes locked out (too many failed log-ins)."""
    from axes.helpers import get_cool_off, get_failure_limit

    cool_off = get_cool_off(request)
    status = int(getattr(settings, "AXES_HTTP_RESPONSE_CODE", 429))
    if request.path_info.startswith("/api/"):
        if cool_off:
            seconds = int(cool_off.total_seconds())
            message = (f"Too many failed log-in attempts: this account is locked for {_duration(seconds)}. "
                       "Try again later.")
        else:
            seconds, message = 0, "Too many failed log-in attempts: this account is locked until an administrator unlocks it."
        response = JsonResponse({"detail": message, "code": "locked_out"}, status=status)
        if seconds:
            response["Retry-After"] = str(seconds)
        return response
    context: dict[str, Any] = {"failure_limit": get_failure_limit(request, credentials),
                               "username": (credentials or {}).get("username", "")}
    if cool_off:
        context["cooloff_timedelta"] = cool_off
        context["cooloff_duration"] = _duration(int(cool_off.total_seconds()))
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=status)


_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/:@\s]*:)(?P<password>[^@\s/]+)(?=@)", re.I)


def _secret_bodies() -> set[str]:
    """Lower-case hex (no 0x) of every private key the process knows, and the secret key."""
    found = {str(k).lower().removeprefix("0x") for k in DEV_PRIVATE_KEYS}
    anchor = str(getattr(settings, "ANCHOR_PRIVATE_KEY", "") or "")
    if anchor:
        found.add(anchor.lower().removeprefix("0x"))
    secret = str(getattr(settings, "SECRET_KEY", "") or "")
    if secret:
        found.add(secret.lower())
    return {s for s in found if len(s) >= 16}


class PortalExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|MNEMONIC|SEED|PRIVATE|CREDENTIAL|"
        r"RPC|BROKER|RESULT_BACKEND|REDIS_URL|DATABASE_URL|DEV_ACCOUNTS",
        flags=re.I,
    )

    def _holds_secret(self, value: Any) -> bool:
        try:
            text = value if isinstance(value, str) else repr(value)
        except Exception:  # a repr that fails is shown as such by Django; nothing to find in it
            return False
        lowered = text.lower()
        return any(secret in lowered for secret in _secret_bodies())

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            if self._holds_secret(cleansed):
                return self.cleansed_substitute
            return _URL_PASSWORD.sub(lambda m: m.group("head") + self.cleansed_substitute, str(cleansed))
        return cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        cleansed = []
        for name, value in variables:
            if self.hidden_settings.search(str(name)) or self._holds_secret(value):
                value = self.cleansed_substitute
            elif isinstance(value, str):
                value = _URL_PASSWORD.sub(lambda m: m.group("head") + self.cleansed_substitute, str(value))
            cleansed.append((name, value))
        return cleansed
