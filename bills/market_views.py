"""Marketplace pages for financiers and holders: a listing's due-diligence page, the buy confirmation, offers
(made and withdrawn by financiers on the listing, accepted by the holder on the bill page).

Every form posts to a view that calls the same service as the API (``bills.services``); the views translate
form fields into service arguments (a rate typed in percent becomes the fraction the services take, an expiry
in hours becomes a moment) and hold no rule of their own: what a page offers to do comes from the rule book
through ``bills.market_selectors.action_refusal``, and a refusal of the service is shown as an error.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bills import clock, confirmations, market_selectors, page_forms, rules, selectors, services
from bills.errors import BillNotFound
from bills.models import Bill
from finance_portal.errors import DomainError, NotPermitted
from finance_portal.users import signed_in_user
from invoices.errors import InvoiceNotFound
from invoices.files import file_response

_PERCENT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,10})?")
_HOURS = re.compile(r"[0-9]{1,5}")


def percent_text(value: Decimal | None, *, places: int = 4) -> str:
    """A fraction as a percentage with up to ``places`` decimals and at least two: 0.0385 → "3.85 %",
    0.037245 → "3.7245 %", 0.036 → "3.60 %" (a no-break space before the sign)."""
    if value is None:
        return "–"
    shown = (value * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP).normalize()
    if shown.as_tuple().exponent > -2:  # type: ignore[operator]
        shown = shown.quantize(Decimal("0.01"))
    return f"{shown:f}\u00a0%"


def rate_from_percent(text: str) -> str:
    """The fraction the services take from a percentage typed in a form ("3.72" → "0.0372"), exactly. Anything
    that is not a plain ASCII decimal goes to the service as typed, which refuses it naming the field."""
    text = text.strip()
    if not _PERCENT.fullmatch(text):
        return text
    return format(Decimal(text).scaleb(-2), "f")


class _FormError(DomainError):
    """A form field the page could not turn into a service argument (400)."""


def _expiry_from_hours(text: str) -> str:
    """The moment ``text`` hours from now, as the ISO text the offer service takes."""
    text = text.strip() or str(settings.BILL_OFFER_DEFAULT_HOURS)
    if not _HOURS.fullmatch(text) or int(text) < 1:
        raise _FormError(_("Give the expiry in whole hours, such as 72."), field="expires_in_hours")
    return (clock.now() + dt.timedelta(hours=int(text))).isoformat()


def _message(err: DomainError) -> str:
    return page_forms.plain(err.message)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) \
            and target.startswith("/") and not target.startswith("//"):
        return target
    return fallback


def _refused(request: HttpRequest, err: NotPermitted) -> HttpResponse:
    return render(request, "bills/marketplace.html", {"title": _("Marketplace"), "refused": err.message}, status=403)


def _listing_or_error(request: HttpRequest, pk: uuid.UUID) -> Bill | HttpResponse:
    try:
        return market_selectors.listing_get(user=request.user, bill_id=pk)
    except BillNotFound:
        raise Http404("No such listing.") from None
    except NotPermitted as err:
        return _refused(request, err)


def _offer_rows(rows: list[market_selectors.OfferRow]) -> list[dict[str, Any]]:
    return [{"offer": r.offer, "quote": r.quote, "expired": r.expired, "rate": percent_text(r.offer.rate)}
            for r in rows]


# ---------------------------------------------------------------------------------------------------------
# The listing: due diligence before buying
# ---------------------------------------------------------------------------------------------------------


def _listing_context(request: HttpRequest, bill: Bill, *, offer_form: dict[str, str] | None = None,
                     offer_errors: page_forms.FieldErrors | None = None) -> dict[str, Any]:
    user = request.user
    invoices = market_selectors.listing_invoices(bill=bill, user=user)
    preview = market_selectors.buy_preview(bill=bill, user=user)
    buy_refusal = market_selectors.action_refusal("buy", bill=bill, user=user)
    offer_refusal = market_selectors.action_refusal("offer", bill=bill, user=user)
    return {
        "title": _("Listing %(number)s") % {"number": bill.number},
        "bill": bill,
        "asking_rate": percent_text(bill.asking_rate),
        "days": market_selectors.days_to_maturity(bill),
        "quote": preview.quote if preview else None,
        "yield": percent_text(preview.annualized_yield, places=2) if preview else "–",
        "invoices": invoices,
        "any_downloadable": any(i.downloadable for i in invoices),
        "transitions": market_selectors.listing_transitions(bill),
        "anchoring": market_selectors.listing_anchoring(bill),
        "verify_link": market_selectors.may_open_verification_page(user=user, bill=bill),
        "buy_rule": rules.rule("buy"),
        "buy_refusal": _why_not_buy(preview, buy_refusal),
        "offer_rule": rules.rule("offer"),
        "can_offer": offer_refusal is None and preview is not None,
        "my_offers": _offer_rows(market_selectors.own_open_offers(user=user, bill=bill)),
        "offer_form": offer_form or {"rate": "", "expires_in_hours": str(settings.BILL_OFFER_DEFAULT_HOURS)},
        "offer_errors": offer_errors.fields if offer_errors else {},
        "offer_error": offer_errors.general if offer_errors else "",
        "default_hours": settings.BILL_OFFER_DEFAULT_HOURS,
        "max_days": settings.BILL_OFFER_MAX_DAYS,
    }


def _why_not_buy(preview: market_selectors.BuyPreview | None, refusal: DomainError | None) -> str:
    if preview is None:
        return _("This bill has no price today: it is at or past maturity.")
    return refusal.message if refusal is not None else ""


@login_required
@require_http_methods(["GET"])
def listing_invoice_file(request: HttpRequest, pk: uuid.UUID, invoice_id: uuid.UUID) -> HttpResponseBase:
    """The file of an invoice behind a listed bill, as an attachment, for those who may read the listing."""
    found = _listing_or_error(request, pk)
    if isinstance(found, HttpResponse):
        return found
    try:
        invoice = market_selectors.listing_invoice(bill=found, invoice_id=invoice_id)
        return file_response(invoice)
    except (BillNotFound, InvoiceNotFound):
        raise Http404("No such invoice behind this listing.") from None


@login_required
@require_http_methods(["GET"])
def listing(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """A listed bill as a financier prices it: debtor, seller, terms, invoices, transitions, anchoring."""
    found = _listing_or_error(request, pk)
    if isinstance(found, HttpResponse):
        return found
    return render(request, "bills/listing.html", _listing_context(request, found))


# ---------------------------------------------------------------------------------------------------------
# Buying: a confirmation step (GET shows, POST buys)
# ---------------------------------------------------------------------------------------------------------


def _confirm_context(request: HttpRequest, bill: Bill | None) -> dict[str, Any]:
    if bill is None:
        return {"title": _("Buy a bill"), "bill": None}
    preview = market_selectors.buy_preview(bill=bill, user=request.user)
    refusal = market_selectors.action_refusal("buy", bill=bill, user=request.user)
    return {
        "title": _("Buy bill %(number)s") % {"number": bill.number},
        "bill": bill,
        "preview": preview,
        "asking_rate": percent_text(bill.asking_rate),
        "asking_percent": page_forms.percent_input(bill.asking_rate),
        "yield": percent_text(preview.annualized_yield, places=2) if preview else "–",
        "refusal": refusal.message if refusal else "",
        "rule": rules.rule("buy"),
        # One key per rendered form: a double submit of this page buys once.
        "idempotency_key": uuid.uuid4().hex,
    }


def _buy_error(err: DomainError, bill: Bill | None) -> str:
    if isinstance(err, BillNotFound):
        return _("This bill is not on the marketplace (any more).")
    if err.code == "rate_changed" and bill is not None:
        return _("The asking rate changed to %(rate)s since the page was shown: nothing was bought. The figures "
                 "below are today's; confirm again to buy at this rate.") % {"rate": percent_text(bill.asking_rate)}
    return _message(err)


@login_required
@require_http_methods(["GET", "POST"])
def buy_confirm(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    rule = rules.rule("buy")
    if request.method == "POST" and request.POST.get("confirm") != "yes":
        found = _listing_or_error(request, pk)  # not confirmed: nothing is bought, the figures are shown again
        if isinstance(found, HttpResponse):
            return found
        return render(request, "bills/buy_confirm.html", _confirm_context(request, found))
    if request.method == "POST":
        try:
            rate = format(page_forms.parse_percent(request.POST.get("rate", "")), "f")
            purchase = services.bill_buy(bill_id=pk, actor=signed_in_user(request), rate=rate,
                                         idempotency_key=request.POST.get("idempotency_key", ""))
        except DomainError as err:
            try:
                bill: Bill | None = market_selectors.listing_get(user=request.user, bill_id=pk)
            except DomainError:
                bill = None  # sold, unlisted, or never in reach: the error says which
            context = _confirm_context(request, bill)
            context["error"] = _buy_error(err, bill)
            return render(request, "bills/buy_confirm.html", context, status=err.http_status)
        messages.success(request, _(rule.done))
        return redirect("bills:detail", pk=purchase.bill_id)
    found = _listing_or_error(request, pk)
    if isinstance(found, HttpResponse):
        return found
    return render(request, "bills/buy_confirm.html", _confirm_context(request, found))


# ---------------------------------------------------------------------------------------------------------
# Offers
# ---------------------------------------------------------------------------------------------------------


def _offer_errors(err: DomainError) -> page_forms.FieldErrors:
    """The form takes the rate in percent: a rate the service refuses is explained in percent, not as the
    fraction it speaks of; every error goes beside its field."""
    if err.field == "rate" and not isinstance(err, page_forms.FormError):
        return page_forms.FieldErrors(fields={"rate": _(
            "Give your annual rate in percent, above 0 and below 100, with at most four decimals (such as 3.72).")})
    return page_forms.place_error(err, form_fields={"rate", "expires_in_hours"})


@login_required
@require_POST
def offer_make(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """A financier offers its rate (typed in percent) on the listing, expiring in so many hours."""
    form = {"rate": request.POST.get("rate", ""), "expires_in_hours": request.POST.get("expires_in_hours", "")}
    try:
        rate = format(page_forms.parse_percent(form["rate"]), "f")
        services.offer_make(bill_id=pk, actor=signed_in_user(request), rate=rate,
                            expires_at=_expiry_from_hours(form["expires_in_hours"]))
    except DomainError as err:
        found = _listing_or_error(request, pk)
        if isinstance(found, HttpResponse):
            return found
        context = _listing_context(request, found, offer_form=form, offer_errors=_offer_errors(err))
        return render(request, "bills/listing.html", context, status=err.http_status)
    messages.success(request, _(rules.rule("offer").done))
    return redirect("bills:listing", pk=pk)


@login_required
@require_POST
def offer_withdraw(request: HttpRequest, offer_id: int) -> HttpResponse:
    """The offering financier takes its open offer back."""
    fallback = reverse("bills:marketplace")
    try:
        offer = services.offer_withdraw(offer_id=offer_id, actor=signed_in_user(request))
    except DomainError as err:
        messages.error(request, _message(err))
        return redirect(_safe_next(request, fallback))
    messages.success(request, _("Withdrawn: the holder no longer sees your offer."))
    return redirect(_safe_next(request, reverse("bills:listing", args=[offer.bill_id])))


@login_required
@require_POST
def offer_accept(request: HttpRequest, offer_id: int) -> HttpResponse:
    """The holder accepts an open offer: a purchase at the offered rate (``services.offer_accept``)."""
    fallback = reverse("bills:list")
    if request.POST.get("confirm") != "yes":
        return _offer_accept_confirmation(request, offer_id)
    try:
        purchase = services.offer_accept(offer_id=offer_id, actor=signed_in_user(request), reason=request.POST.get("reason", ""))
    except DomainError as err:
        messages.error(request, _message(err))
        return redirect(_safe_next(request, fallback))
    messages.success(request, _(rules.rule("accept_offer").done))
    return redirect("bills:detail", pk=purchase.bill_id)


def _offer_accept_confirmation(request: HttpRequest, offer_id: int) -> HttpResponse:
    """What accepting the offer means, before it is accepted: who pays how much, and that the bill passes to
    the financier; 404 for an offer the viewer does not see on a bill it holds."""
    offer = selectors.offers_visible_to(request.user).filter(pk=offer_id, bill__holder__isnull=False).first()
    if offer is None:
        raise Http404("No such offer.")
    try:
        bill = selectors.bill_get_visible(user=request.user, bill_id=offer.bill_id)
    except BillNotFound:
        raise Http404("No such offer.") from None
    refusal = market_selectors.action_refusal("accept_offer", bill=bill, user=request.user)
    if refusal is not None:
        messages.error(request, page_forms.plain(refusal.message))
        return redirect("bills:detail", pk=bill.pk)
    preview = confirmations.price_preview(bill, offer.rate)
    if preview.quote is None:
        messages.error(request, _("This bill has no price today: it is at or past maturity."))
        return redirect("bills:detail", pk=bill.pk)
    quote = preview.quote
    summary = confirmations.Summary(
        _("%(financier)s pays your organization %(price)s for bill %(number)s (face %(face)s) at %(rate)s a year; "
          "the bill passes to it, and the other offers lapse.")
        % {"financier": offer.financier.display_name, "price": confirmations.money_text(quote.price, bill),
           "number": bill.number, "face": confirmations.money_text(bill.face, bill), "rate": percent_text(offer.rate)},
        quote=quote, annual_yield=preview.annual_yield)
    label = _(rules.rule("accept_offer").label)
    return render(request, "bills/_confirm.html", {
        "title": _("Confirm: %(action)s") % {"action": label},
        "bill": bill,
        "label": label,
        "summary": summary,
        "hidden": [("reason", request.POST.get("reason", "")), ("next", reverse("bills:detail", args=[bill.pk]))],
        "post_url": reverse("bills:offer-accept", args=[offer_id]),
        "back_url": reverse("bills:detail", args=[bill.pk]),
    })


@login_required
@require_http_methods(["GET"])
def price_preview(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The live preview beside a rate typed in percent (htmx): the price, interest, days to maturity and yield
    a year of the bill bought today at that rate, from the services' own quote. Only for a bill the viewer
    may read (a participant's, or a listing a financier may price); 404 for any other."""
    try:
        bill = selectors.bill_get_visible(user=request.user, bill_id=pk)
    except BillNotFound:
        try:
            bill = market_selectors.listing_get(user=request.user, bill_id=pk)
        except (BillNotFound, NotPermitted):
            raise Http404("No such bill.") from None
    context: dict[str, Any] = {"bill": bill, "error": ""}
    try:
        rate = page_forms.parse_percent(request.GET.get("rate", ""))
    except page_forms.FormError as err:
        context["error"] = err.message
    else:
        preview = confirmations.price_preview(bill, rate)
        context.update(quote=preview.quote, annual_yield=preview.annual_yield, rate=rate)
    return render(request, "bills/_confirm_preview.html", context)


def offers_context(request: HttpRequest, bill: Bill) -> dict[str, Any]:
    """The bill page's offers section (``templates/bills/_offers.html``): the open offers on what the holder
    holds now, with the price each means today and an Accept button where the rule book lets it try."""
    rows = market_selectors.open_offers_for_bill_page(user=request.user, bill=bill)
    refusal = market_selectors.action_refusal("accept_offer", bill=bill, user=request.user)
    if not rows and refusal is not None:  # nothing to show, nothing to wait for
        return {"offers_section": None}
    return {"offers_section": {"rows": _offer_rows(rows), "can_accept": refusal is None,
                               "rule": rules.rule("accept_offer"), "bill": bill}}


def bill_url_maker(name: str) -> Any:
    """``lambda pk: reverse(name, args=[pk])`` for a route whose one argument is a bill's id, reversed once per
    page instead of once per row (a UUID needs no quoting, so the id is put where the probe's was)."""
    probe = str(uuid.UUID(int=0))
    head, _, tail = reverse(name, args=[probe]).partition(probe)
    return lambda pk: f"{head}{pk}{tail}"
