"""Offers: a financier names its own rate on a listed bill, with an expiry; the holder accepts one, which is a
purchase under the same rules, locks and payment as ``buy``; the other open offers lapse.

Offers are commercially secret: they are not bill events (the bill's other participants never see them), and
only the holder and the offering financier see an offer (``bills.selectors.offers_visible_to``).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from bills import clock
from bills.errors import BillActionNotPermitted, BillInvalid, BillNotFound, BillTransitionRefused
from bills.models import BillPurchase
from bills.models_money import BillOffer, OfferStatus
from bills.services import inputs
from bills.services.core import guard, lapse_open_offers, tell_activity
from bills.services.market import purchase
from finance_portal.organizations.services import require_acting_organization
from finance_portal.users import User


def _status_words(status: str) -> str:
    """An offer's status in words of the active language (the code itself in English)."""
    words: dict[str, str] = {OfferStatus.OPEN: gettext("open"), OfferStatus.ACCEPTED: gettext("accepted"),
                             OfferStatus.WITHDRAWN: gettext("withdrawn"), OfferStatus.LAPSED: gettext("lapsed")}
    return words.get(status, status)

def _expiry(value: object, *, maturity: dt.date) -> dt.datetime:
    now = clock.now()
    expires = inputs.parse_moment(value, field="expires_at") or now + dt.timedelta(
        hours=settings.BILL_OFFER_DEFAULT_HOURS
    )
    if expires <= now:
        raise BillInvalid(gettext("The offer must expire in the future."), field="expires_at")
    longest = settings.BILL_OFFER_MAX_DAYS
    if expires > now + dt.timedelta(days=longest):
        raise BillInvalid(gettext("An offer stands for at most %(days)s days.") % {"days": longest}, field="expires_at")
    matures = dt.datetime.combine(maturity, dt.time(), tzinfo=dt.UTC)
    return min(expires, matures)  # nothing is bought on or after maturity


def offer_make(*, bill_id: object, actor: User, rate: object = None, expires_at: object = None,
               reason: object = "") -> BillOffer:
    """A financier offers its own annual rate on a listed bill; its earlier open offer on the bill is withdrawn."""
    with transaction.atomic():
        g = guard("offer", bill_id=bill_id, actor=actor)
        offer_rate = inputs.parse_rate(rate)
        expires = _expiry(expires_at, maturity=g.bill.maturity_date)
        g.reason(reason)
        now = clock.now()
        BillOffer.objects.filter(bill=g.bill, financier=g.org, status=OfferStatus.OPEN).update(
            status=OfferStatus.WITHDRAWN, closed_at=now
        )
        offer = BillOffer.objects.create(bill=g.bill, holder_seq=g.bill.holder_seq, financier=g.org, rate=offer_rate,
                                         expires_at=expires, created_at=now)
        tell_activity(g.bill, "offer_made", financier=g.org.legal_name, rate=str(offer_rate),
                      expires_at=expires.isoformat())
        return offer


def _offer_id(value: object) -> int:
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise BillNotFound(gettext("No such offer."), code="offer_not_found")
    return int(text)


def offer_withdraw(*, offer_id: object, actor: User) -> BillOffer:
    """The financier takes back its open offer."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        offer = BillOffer.objects.select_for_update().filter(pk=_offer_id(offer_id), financier=org).first()
        if offer is None:
            raise BillNotFound(gettext("No such offer."), code="offer_not_found")
        if offer.status != OfferStatus.OPEN:
            raise BillTransitionRefused(gettext("The offer is %(status)s: there is nothing to withdraw.")
                                        % {"status": _status_words(offer.status)},
                                        code="offer_closed")
        offer.status, offer.closed_at = OfferStatus.WITHDRAWN, clock.now()
        offer.save(update_fields=["status", "closed_at"])
    return offer


def offer_accept(*, offer_id: object, actor: User, reason: object = "") -> BillPurchase:
    """The holder accepts an open offer: the offering financier buys the bill at the offered rate and pays the
    price now (409 ``insufficient_funds`` when its cash does not cover it); the other open offers lapse."""
    pk = _offer_id(offer_id)
    found = BillOffer.objects.filter(pk=pk).values_list("bill_id", flat=True).first()
    if found is None:
        raise BillNotFound(gettext("No such offer."), code="offer_not_found")
    with transaction.atomic():
        g = guard("accept_offer", bill_id=found, actor=actor)  # 404 unless the bill is in the holder's reach
        offer = BillOffer.objects.select_for_update().select_related("financier").get(pk=pk)
        text = g.reason(reason)
        now = clock.now()
        if offer.status != OfferStatus.OPEN or offer.holder_seq != g.bill.holder_seq:
            raise BillTransitionRefused(gettext("The offer is %(status)s: it can no longer be accepted.")
                                        % {"status": _status_words(offer.status)},
                                        code="offer_closed")
        if offer.expires_at <= now:
            raise BillTransitionRefused(gettext("The offer expired at %(moment)s UTC.")
                                        % {"moment": f"{offer.expires_at:%Y-%m-%d %H:%M}"},
                                        code="offer_expired")
        if not offer.financier.can_act:
            raise BillActionNotPermitted(gettext("%(name)s may not trade now (KYC).")
                                         % {"name": offer.financier.legal_name})
        result = purchase(g, buyer=offer.financier, rate=offer.rate, reason=text, offer=offer)
        offer.status, offer.closed_at = OfferStatus.ACCEPTED, now
        offer.save(update_fields=["status", "closed_at"])
        lapse_open_offers(g.bill, at=now, keep=offer.pk)
    return result
