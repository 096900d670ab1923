"""A second factor (TOTP, django-otp) before money moves, for financiers and platform staff (issue 13).

When ``MONEY_REQUIRES_2FA`` is on (the default outside development), a member of a financier organization or a
platform staff user cannot buy a bill, accept an offer, accept an early settlement, or record a deposit or a
withdrawal until this session has been verified with a one-time code from an authenticator app. Through the
API (token authentication has no session) each such request carries the current code in the ``X-OTP``
header. Suppliers and core enterprises are not asked (the debtor's settlement pays from its own account and
its users are not treasury desks); the rule covers the roles that move other people's money.

One middleware decides, before the view, from the route: the rule book's money-moving actions
(``bills.rules`` rows with ``moves_money``) and the pages and endpoints named in ``MONEY_ROUTES``. A request
that needs a second factor and lacks one gets 403 ``second_factor_required`` (API, JSON) or is sent to
``/accounts/2fa/`` (pages) to set up an authenticator or enter a code, and back afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from bills import rules
from finance_portal.ledger.selectors import is_platform_staff
from finance_portal.organizations.selectors import membership_of
from finance_portal.portal.middleware import UNSAFE_METHODS, token_user
from finance_portal.users import Viewer

MONEY_ACTIONS = frozenset(t.action for t in rules.TRANSITIONS if t.moves_money)
MONEY_ROUTES = frozenset({"bills:buy-confirm", "bills:offer-accept", "api-offer-accept", "api-admin-deposits",
                          "api-admin-withdrawals"})
MESSAGE = ("Moving money needs a second factor: enter the code from your authenticator app "
           "(API: the X-OTP header).")


def moves_money(path: str) -> bool:
    """Whether the route at ``path`` moves money (a POST to it pays or records a payment)."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    name = match.view_name
    if name in MONEY_ROUTES:
        return True
    if name.startswith("api-bill-action-"):
        return name.removeprefix("api-bill-action-").replace("-", "_") in MONEY_ACTIONS
    if name == "bills:action":
        return str(match.kwargs.get("action", "")).replace("-", "_") in MONEY_ACTIONS
    return False


def needs_second_factor(user: Viewer | None) -> bool:
    """Financier members and platform staff, when the setting is on."""
    if not getattr(settings, "MONEY_REQUIRES_2FA", False) or user is None or not user.is_authenticated:
        return False
    if is_platform_staff(user):
        return True
    membership = membership_of(user)
    return membership is not None and membership.organization.is_financier


def confirmed_device(user: Viewer) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()  # type: ignore[arg-type]


class MoneySecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in UNSAFE_METHODS and moves_money(request.path_info):
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        user: Any = getattr(request, "user", None)
        session_user = user is not None and user.is_authenticated
        if not session_user:
            user = token_user(request)
        if not needs_second_factor(user):
            return None
        if session_user and user.is_verified():
            return None
        code = request.META.get("HTTP_X_OTP", "").strip()
        if code and code.isascii() and code.isdigit() and match_token(user, code) is not None:
            return None
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": MESSAGE, "code": "second_factor_required"}, status=403)
        return redirect(f"/accounts/2fa/?{urlencode({'next': request.META.get('HTTP_REFERER') or '/'})}")


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return "/"
    return target


@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator (a new unconfirmed device, its QR code and key) or enter a code for this session."""
    import segno

    user = request.user
    device = confirmed_device(user)
    enrolling = device is None
    if enrolling:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()  # type: ignore[misc]
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)  # type: ignore[misc]
    assert device is not None
    error = ""
    if request.method == "POST":
        code = request.POST.get("code", "").strip()
        if not (code.isascii() and code.isdigit() and len(code) == device.digits):
            error = f"Enter the {device.digits}-digit code your authenticator app shows now."
        elif not device.verify_token(code):
            error = "That code is not right (or was already used): enter the current one."
        else:
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            return redirect(_next(request))
    context: dict[str, Any] = {"title": "Two-factor authentication", "enrolling": enrolling, "error": error,
                               "next": _next(request), "digits": device.digits}
    if enrolling:
        import base64

        context["secret"] = base64.b32encode(device.bin_key).decode()
        context["qr_svg"] = mark_safe(  # noqa: S308 (segno's SVG of our own otpauth URI)
            segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#1d2433"))
    return render(request, "registration/second_factor.html", context, status=400 if error else 200)
