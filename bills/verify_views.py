"""The verification pages of a bill: the public one behind a verification token, the members' one by id,
the bundles they offer, and the page of an anchoring transaction.

The one thing to know: a public page shows exactly the public disclosure profile and nothing that names a
bill (no id, no number, no link to another bill); it is reached only through a token the holder shared
(``/verify/t/<token>/``), or its verification code typed at ``/verify/code/`` (the token written for typing,
``bills.verify_tokens.verification_code``), which leads to the same page; ``/verify/t/<token>/certificate/``
is the printable certificate of that page. ``/verify/<id>/`` is for logged-in users who may see the bill,
with their own profile (``bills.disclosure``). Every verification page opens with a plain-language verdict
(``plain_verdict``); the technical proof follows, folded. Public pages (code lookups included) are
rate-limited per client address (``VERIFY_RATE_LIMIT`` requests per ``VERIFY_RATE_WINDOW_SECONDS``, through
Django's cache) and cost the node nothing beyond what is cached (``bills.verification.bill_chain_view``); a
node that cannot be reached makes a 200 page that says so; no RPC URL reaches a template.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from bills.disclosure import Disclosure, Profile, bill_for_viewer, disclosure_for
from bills.errors import BillNotFound
from bills.events import event_format, fields_of_event
from bills.listings import marketplace_allowed, marketplace_listings
from bills.models import Bill, BillEvent, BillState
from bills.selectors import bills_visible_to, viewer_organization
from bills.verification import BillVerdict, bill_bundle, bill_events_for_bundle, bill_verdict
from bills.verify_tokens import (
    CODE_MAX_INPUT,
    CodeError,
    verification_code,
    verification_code_parse,
    verification_token_create,
    verification_token_lookup,
    verification_token_revoke,
    verification_tokens_live,
)
from chain_adapter.client import ChainClient
from chain_adapter.errors import ChainError
from chain_adapter.hashing import is_hash
from chain_adapter.models import AnchorRecord, AnchorStatus, AnchorTransaction
from chain_adapter.selectors import deployment_current
from finance_portal.errors import DomainError
from finance_portal.users import signed_in_user

BASIC_FIELDS = ("type", "from", "to", "at", "amounts.face")


def _not_found(request: HttpRequest) -> HttpResponse:
    """One answer, byte for byte, for unknown tokens, ids out of reach and unknown hashes: no oracle."""
    return render(request, "bills/verify_not_found.html", {"title": _("Not found")}, status=404)


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def client_address(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind a reverse proxy the header it sets, named by
    ``VERIFY_CLIENT_ADDRESS_HEADER`` (e.g. ``HTTP_X_FORWARDED_FOR``: its last entry, the one the proxy added)."""
    header = str(getattr(settings, "VERIFY_CLIENT_ADDRESS_HEADER", "") or "")
    forwarded = request.META.get(header, "") if header else ""
    return forwarded.split(",")[-1].strip() or request.META.get("REMOTE_ADDR") or "unknown"


def rate_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """At most ``VERIFY_RATE_LIMIT`` requests per client address per ``VERIFY_RATE_WINDOW_SECONDS`` window
    (a fixed window counted in Django's cache); more get 429 with ``Retry-After``. 0 turns it off."""

    @wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limit = _setting("VERIFY_RATE_LIMIT", 60)
        window = max(1, _setting("VERIFY_RATE_WINDOW_SECONDS", 60))
        if limit > 0:
            now = int(time.time())
            key = f"bills:verify-rate:{client_address(request)}:{now // window}"
            cache.add(key, 0, timeout=window * 2)
            try:
                count = cache.incr(key)
            except ValueError:  # evicted between add and incr
                cache.set(key, 1, timeout=window * 2)
                count = 1
            if count > limit:
                response = HttpResponse("Too many verification requests from your address: try again shortly.\n",
                                        status=429, content_type="text/plain")
                response["Retry-After"] = str(window - now % window)
                return response
        return view(request, *args, **kwargs)

    return limited


def _qr(url: str) -> SafeString:
    return mark_safe(segno.make(url, error="m").svg_inline(scale=3, dark="#1d2433"))  # noqa: S308 (our own URL)


def _display(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _state_words(state: str) -> str:
    """A state as the page names it (its label, in the active language); the code itself when unknown."""
    return str(BillState(state).label) if state in BillState.values else state


def _rows(events: Sequence[BillEvent], disclosure: Disclosure, verdict: BillVerdict) -> list[dict[str, Any]]:
    checks = verdict.report.events if verdict.report else []
    rows = []
    for index, event in enumerate(events):
        check = checks[index] if index < len(checks) else None
        visible = disclosure.visible_fields(index, event, fields_of_event(event))
        rows.append({
            "event": event,
            "check": check,
            "anchor": event.anchor,
            "format": event_format(event),
            "from_label": _state_words(event.from_state),
            "to_label": _state_words(event.to_state),
            "fields": [(name, _display(value)) for name, value in sorted(visible.items()) if name not in BASIC_FIELDS],
        })
    return rows


PASSED, FAILED, WAITING, NOT_CHECKED = "passed", "failed", "waiting", "not_checked"


def plain_verdict(verdict: BillVerdict, *, contract: str | None) -> dict[str, Any]:
    """The verdict for a reader who is no expert: its ``kind`` (``verified``, ``pending`` (verified so far,
    the newest steps still being anchored), ``not_verified``, ``unreachable`` (the chain cannot be reached
    right now) or ``not_set_up`` (no anchoring contract yet)) and the four checks behind it, each ``passed``,
    ``failed``, ``waiting`` or ``not_checked``: the platform's records are intact, the chain was reached,
    every step shown is anchored in this order, and nothing later is hidden. The words are the template's."""
    report = verdict.report
    kind = {"verified": "verified", "pending": "pending", "mismatch": "not_verified"}.get(verdict.status)
    if kind is None:
        kind = "not_set_up" if contract is None else "unreachable"
    checks = {"records": FAILED if verdict.database_problems else PASSED}
    if report is None or not report.checked_on_chain:
        checks["chain"] = FAILED if report is not None else NOT_CHECKED
        checks["steps"] = checks["complete"] = NOT_CHECKED
    else:
        statuses = {e.status for e in report.events}
        checks["chain"] = PASSED
        checks["steps"] = FAILED if "mismatch" in statuses else WAITING if "not_anchored" in statuses else PASSED
        checks["complete"] = (FAILED if report.problems else PASSED if report.complete
                              else WAITING if checks["steps"] == WAITING else FAILED)
    return {"kind": kind, "checks": checks}


def _render_page(request: HttpRequest, *, bill: Bill, events: list[BillEvent], disclosure: Disclosure,
                 bundle_url: str, page_url: str | None, token: str | None = None) -> HttpResponse:
    bundle = bill_bundle(bill=bill, disclosure=disclosure, events=events)
    verdict = bill_verdict(bill=bill, bundle=bundle, events=events)
    genesis = disclosure.visible_fields(0, events[0]) if events else {}
    context = {
        "plain": plain_verdict(verdict, contract=bundle["contract"]),
        "code": verification_code(token) if token else None,
        "certificate_url": reverse("verify-certificate", args=[token]) if token else None,
        "title": _("Verify a bill"),
        "bill": bill,
        "number": genesis.get("details.number"),
        "bill_id": bundle["bill_id"],
        "profile": disclosure.profile.label,
        "public": disclosure.profile == Profile.PUBLIC,
        "show_problems": disclosure.profile == Profile.REGULATOR,
        "verdict": verdict,
        "rows": _rows(events, disclosure, verdict),
        "qr_svg": _qr(page_url) if page_url else None,
        "bundle_url": bundle_url,
        "chain_id": settings.CHAIN_ID,
        "contract": bundle["contract"],
    }
    return render(request, "bills/verify.html", context)


def _bundle_response(bill: Bill, disclosure: Disclosure, events: list[BillEvent], name: str) -> HttpResponse:
    body = json.dumps(bill_bundle(bill=bill, disclosure=disclosure, events=events), indent=2)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------------------------------------------------
# Public: through a verification token
# ---------------------------------------------------------------------------------------------------------


def _token_bill(request: HttpRequest, token: str) -> Bill | HttpResponse:
    found = verification_token_lookup(token)
    if found is None:
        return _not_found(request)
    if found.revoked_at is not None:
        return render(request, "bills/verify_revoked.html", {"title": _("Verification link revoked")}, status=410)
    return found.bill


@require_GET
@rate_limited
def verify_token_page(request: HttpRequest, token: str) -> HttpResponse:
    bill = _token_bill(request, token)
    if isinstance(bill, HttpResponse):
        return bill
    events = bill_events_for_bundle(bill)
    disclosure = disclosure_for(user=request.user, bill=bill, events=events, via_token=True)
    return _render_page(request, bill=bill, events=events, disclosure=disclosure,
                        bundle_url=reverse("verify-token-bundle", args=[token]),
                        page_url=request.build_absolute_uri(reverse("verify-token", args=[token])), token=token)


@require_GET
@rate_limited
def verify_token_certificate(request: HttpRequest, token: str) -> HttpResponse:
    """The printable certificate of a verification link: the bill's public facts, the verdict at the time
    of printing, the verification code and the QR code of the page. Public profile only, whoever prints."""
    bill = _token_bill(request, token)
    if isinstance(bill, HttpResponse):
        return bill
    events = bill_events_for_bundle(bill)
    disclosure = disclosure_for(user=None, bill=bill, events=events, via_token=True)
    bundle = bill_bundle(bill=bill, disclosure=disclosure, events=events)
    verdict = bill_verdict(bill=bill, bundle=bundle, events=events)
    genesis = disclosure.visible_fields(0, events[0]) if events else {}
    latest = disclosure.visible_fields(len(events) - 1, events[-1]) if events else {}
    debtor_code = genesis.get("details.debtor")
    page_url = request.build_absolute_uri(reverse("verify-token", args=[token]))
    return render(request, "bills/certificate.html", {
        "title": _("Bill verification certificate"),
        "facts": {
            "face": latest.get("amounts.face"),
            "currency": genesis.get("details.currency"),
            "debtor_code": debtor_code,
            "debtor_name": bill.debtor.display_name if debtor_code == bill.debtor.credit_code else None,
            "maturity": genesis.get("details.maturity"),
            "state": _state_words(str(latest["to"])) if "to" in latest else None,
            "transitions": len(events),
        },
        "verdict": verdict,
        "plain": plain_verdict(verdict, contract=bundle["contract"]),
        "code": verification_code(token),
        "page_url": page_url,
        "code_url": request.build_absolute_uri(reverse("verify-code")),
        "qr_svg": _qr(page_url),
        "chain_id": settings.CHAIN_ID,
        "bill_key": bill.bill_key,
        "issued_at": timezone.now(),
    })


@require_GET
@rate_limited
def verify_code_lookup(request: HttpRequest) -> HttpResponse:
    """The form where someone holding a paper copy types its verification code; a valid live code leads
    to the page its link opens. An unknown code and a revoked one say so, and nothing about any bill:
    guessing a 192-bit code is hopeless, and every try counts against the address's rate limit."""
    context: dict[str, Any] = {"title": _("Verify a paper copy"), "max_length": CODE_MAX_INPUT}
    if "code" not in request.GET:
        return render(request, "bills/verify_code.html", context)
    typed = request.GET.get("code", "")
    context["typed"] = typed[:CODE_MAX_INPUT]
    try:
        token = verification_code_parse(typed)
    except CodeError as err:
        context["error"] = err.reason
        return render(request, "bills/verify_code.html", context, status=400)
    found = verification_token_lookup(token)
    if found is None:
        context["error"] = "unknown"
        return render(request, "bills/verify_code.html", context, status=404)
    if found.revoked_at is not None:
        context["error"] = "revoked"
        return render(request, "bills/verify_code.html", context, status=410)
    return redirect("verify-token", token=found.token)


@require_GET
@rate_limited
def verify_token_bundle(request: HttpRequest, token: str) -> HttpResponse:
    bill = _token_bill(request, token)
    if isinstance(bill, HttpResponse):
        return bill
    events = bill_events_for_bundle(bill)
    disclosure = disclosure_for(user=request.user, bill=bill, events=events, via_token=True)
    return _bundle_response(bill, disclosure, events, f"bill-{bill.bill_key[2:14]}-public-bundle.json")


# ---------------------------------------------------------------------------------------------------------
# Members: by id, with the viewer's own profile
# ---------------------------------------------------------------------------------------------------------


def _member_bill(request: HttpRequest, bill_id: str) -> tuple[Bill, list[BillEvent], Disclosure] | None:
    bill = bill_for_viewer(user=request.user, bill_id=bill_id)
    if bill is None:
        return None
    events = bill_events_for_bundle(bill)
    return bill, events, disclosure_for(user=request.user, bill=bill, events=events)


@require_GET
@login_required
def verify_page(request: HttpRequest, bill_id: str) -> HttpResponse:
    found = _member_bill(request, bill_id)
    if found is None:
        return _not_found(request)
    bill, events, disclosure = found
    return _render_page(request, bill=bill, events=events, disclosure=disclosure,
                        bundle_url=reverse("verify-bundle", args=[bill.pk]), page_url=None)


@require_GET
@login_required
def verify_bundle_download(request: HttpRequest, bill_id: str) -> HttpResponse:
    found = _member_bill(request, bill_id)
    if found is None:
        return _not_found(request)
    bill, events, disclosure = found
    return _bundle_response(bill, disclosure, events, f"bill-{bill.number}-{disclosure.profile.label}-bundle.json")


# ---------------------------------------------------------------------------------------------------------
# An anchoring transaction
# ---------------------------------------------------------------------------------------------------------


def _receipt_view(tx_hash: str, contract: str) -> dict[str, Any] | None:
    """The receipt's status and ``Anchored`` logs as plain data, cached (a mined receipt does not change;
    "not mined yet" is remembered for a few seconds). Raises ``ChainError``."""
    key = f"bills:tx-receipt:{settings.CHAIN_ID}:{contract.lower()}:{tx_hash}"
    cached = cache.get(key)
    if cached is not None:
        return cached.get("receipt")
    receipt = ChainClient.from_settings().receipt(tx_hash)
    if receipt is None:
        cache.set(key, {"receipt": None}, _setting("VERIFY_PENDING_CACHE_SECONDS", 5))
        return None
    data = {
        "status": receipt.status, "block_number": receipt.block_number, "block_hash": receipt.block_hash,
        "gas_used": receipt.gas_used,
        "logs": [{"key": log.key, "prev_hash": log.prev_hash, "event_hash": log.event_hash,
                  "log_index": log.log_index} for log in receipt.anchored(contract)],
    }
    cache.set(key, {"receipt": data}, _setting("VERIFY_CHAIN_CACHE_SECONDS", 24 * 3600))
    return data


def _bills_seen_by(request: HttpRequest, event_hashes: list[str]) -> dict[str, Bill]:
    """The viewer's bills among those whose events have these hashes, by event hash (none when anonymous)."""
    if not request.user.is_authenticated or not event_hashes:
        return {}
    bill_of = dict(BillEvent.objects.filter(hash__in=event_hashes).values_list("hash", "bill_id"))
    ids = set(bill_of.values())
    seen = {b.pk: b for b in bills_visible_to(request.user).filter(pk__in=ids)}
    if marketplace_allowed(request.user):
        seen.update({b.pk: b for b in marketplace_listings(request.user).filter(pk__in=ids - set(seen))})
    return {h: seen[bid] for h, bid in bill_of.items() if bid in seen}


@require_GET
@rate_limited
def verify_transaction(request: HttpRequest, tx_hash: str) -> HttpResponse:
    """An anchoring transaction of this platform: block, status, and per ``Anchored`` log the bill key and
    whether it is still that key's latest anchored event. Bills the viewer may see are named and linked;
    the others show only what the chain itself shows."""
    text = tx_hash.lower()
    deployment = deployment_current(chain_id=settings.CHAIN_ID)
    known = is_hash(text) and (AnchorTransaction.objects.filter(tx_hash=text).exists()
                               or AnchorRecord.objects.filter(tx_hash=text).exists())
    if not known or deployment is None:
        return _not_found(request)
    receipt, error = None, None
    try:
        receipt = _receipt_view(text, deployment.address)
    except ChainError as err:
        error = f"the chain could not be read ({err.__class__.__name__})"
    logs = receipt["logs"] if receipt else []
    hashes = [log["event_hash"] for log in logs]
    followed = set(AnchorRecord.objects.filter(prev_hash__in=hashes, status=AnchorStatus.CONFIRMED)
                   .values_list("prev_hash", flat=True)) if hashes else set()
    bills = _bills_seen_by(request, hashes)
    rows = [{**log, "latest": log["event_hash"] not in followed, "bill": bills.get(log["event_hash"])} for log in logs]
    return render(request, "bills/verify_tx.html", {
        "title": _("Anchoring transaction"), "tx_hash": text, "receipt": receipt, "error": error, "rows": rows,
        "contract": deployment.address,
    })


# ---------------------------------------------------------------------------------------------------------
# The holder's verification links, on the bill page
# ---------------------------------------------------------------------------------------------------------


def verification_links_context(request: HttpRequest, bill: Bill) -> dict[str, Any]:
    """The bill page's "verification links" section (``templates/bills/_verification_links.html``): for the
    holder, its live links with their QR codes and paper codes, a printable certificate each, a form to create
    one and a revoke button per link."""
    org = viewer_organization(request.user)
    if org is None or bill.holder_id != org.pk:
        return {"verification_links": None}
    links = []
    for token in verification_tokens_live(bill):
        url = request.build_absolute_uri(reverse("verify-token", args=[token.token]))
        links.append({"token": token, "url": url, "qr": _qr(url), "code": verification_code(token.token),
                      "certificate": reverse("verify-certificate", args=[token.token])})
    return {"verification_links": {"links": links, "bill": bill}}


@login_required
@require_POST
def verify_link_create(request: HttpRequest, bill_id: str) -> HttpResponse:
    try:
        token = verification_token_create(bill_id=bill_id, actor=signed_in_user(request))
    except BillNotFound:
        return _not_found(request)
    except DomainError as err:
        messages.error(request, err.message)
        return redirect("bills:detail", pk=bill_id)
    messages.success(request, _("Verification link created: anyone you give it to can verify this bill's public "
                                "history, without learning its id."))
    return redirect("bills:detail", pk=token.bill_id)


@login_required
@require_POST
def verify_link_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = verification_token_revoke(token_id=token_id, actor=signed_in_user(request))
    except BillNotFound:
        return _not_found(request)
    except DomainError as err:
        messages.error(request, err.message)
        return redirect("bills:list")
    messages.success(request, _("Verification link revoked: it opens nothing any more."))
    return redirect("bills:detail", pk=token.bill_id)
