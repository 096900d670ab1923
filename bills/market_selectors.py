"""Reads behind the marketplace pages: a listed bill as a financier sees it before buying (due diligence), the
figures of the buy confirmation, and the offers on a bill for its holder and for the offering financier.

The one thing to know: a listing shows what DESIGN §8 lets a financier know of a listed bill it takes no part
in (the debtor, the seller, i.e. the current holder, the terms, the invoices, each transition by type, date
and states, and the anchoring count) and nothing else. Nothing here reads a purchase's price or an event's
actor or details, so no other financier's price and no earlier holder can reach a listing page. Whether an
action would be refused is the rule book's answer (``bills.rules.refusal``); the services still decide.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext

from bills import clock, rules
from bills.disclosure import bill_for_viewer
from bills.errors import BillActionNotPermitted, BillNotFound
from bills.listings import marketplace_get
from bills.models import Bill, BillAllocation, BillEvent, BillState, EventType
from bills.models_money import BillOffer, OfferStatus
from bills.portfolio import annualized_yield
from bills.selectors import (
    PurchaseQuote,
    bill_allocations,
    bill_anchoring_summary,
    bill_facts,
    offer_quote,
    offers_visible_to,
    purchase_quote,
    viewer_organization,
)
from finance_portal.errors import DomainError
from finance_portal.ledger.models import Account, AccountKind
from finance_portal.ledger.selectors import ZERO, account_balance
from finance_portal.organizations.models import Organization
from finance_portal.users import Viewer
from invoices.models import Invoice


def listing_get(*, user: Viewer, bill_id: object) -> Bill:
    """The listed bill with the marketplace's invoice and anchoring figures. ``NotPermitted`` (403) for users
    the marketplace is closed to, ``BillNotFound`` (404) for a bill that is not listed or does not exist."""
    return marketplace_get(user=user, bill_id=bill_id)


def days_to_maturity(bill: Bill) -> int:
    return (bill.maturity_date - clock.today()).days


@dataclass(frozen=True)
class ListingTransition:
    """One transition as a listing shows it: what happened, when, and between which states. Never who."""

    type: str
    label: str
    occurred_at: dt.datetime
    from_state: str
    to_state: str


def _state_label(value: str) -> str:
    """A state as the request's language names it (``pending_receipt``: "Waiting for the receiver's signature")."""
    return str(BillState(value).label) if value in BillState.values else value.replace("_", " ")


def listing_transitions(bill: Bill) -> list[ListingTransition]:
    rows = (BillEvent.objects.filter(bill=bill).order_by("seq")
            .values_list("type", "occurred_at", "from_state", "to_state"))
    return [
        ListingTransition(type=kind, label=str(EventType(kind).label) if kind in EventType.values else kind,
                          occurred_at=at, from_state=_state_label(before) if before else "",
                          to_state=_state_label(after))
        for kind, at, before, after in rows
    ]


@dataclass(frozen=True)
class ListingInvoice:
    invoice: Invoice
    allocated: Decimal
    downloadable: bool  # whoever may read the listing may download the invoices behind it (due diligence)


def listing_invoices(*, bill: Bill, user: Viewer) -> list[ListingInvoice]:
    """The invoices behind the bill (its root's for a split part). A financier pricing a listed bill may read
    them all (DESIGN §8: "invoices"), through ``listing_invoice_file``, never through the invoices app."""
    allocations = list(bill_allocations(bill))
    return [ListingInvoice(invoice=a.invoice, allocated=a.amount, downloadable=True) for a in allocations]


def listing_invoice(*, bill: Bill, invoice_id: object) -> Invoice:
    """An invoice behind the listed ``bill`` (its root's allocations), for the financier's due diligence; 404
    for any other invoice. Precondition: the caller got ``bill`` from ``listing_get`` for this viewer."""
    try:
        pk = uuid.UUID(str(invoice_id))
    except ValueError:
        raise BillNotFound(gettext("No such invoice behind this listing.")) from None
    allocation = (BillAllocation.objects.select_related("invoice")
                  .filter(bill_id=bill.allocation_root_id, invoice_id=pk).first())
    if allocation is None:
        raise BillNotFound(gettext("No such invoice behind this listing."))
    return allocation.invoice


def listing_anchoring(bill: Bill) -> dict[str, int]:
    return bill_anchoring_summary(bill)


def may_open_verification_page(*, user: Viewer, bill: Bill) -> bool:
    """Whether ``/verify/<id>/`` (login only) would show the bill to ``user``."""
    return bill_for_viewer(user=user, bill_id=bill.pk) is not None


def action_refusal(action: str, *, bill: Bill, user: Viewer) -> DomainError | None:
    """Why the rule book would refuse ``user`` the ``action`` on ``bill`` now (None: it would let it try).

    A hint for pages: the service runs the same checks under the bill's row lock and decides."""
    org = viewer_organization(user)
    if org is None:
        return BillActionNotPermitted(gettext("Only members of an onboarded organization take part in trades."))
    if not org.can_act:
        return BillActionNotPermitted(
            gettext("%(name)s cannot act on the platform while its KYC status is %(status)s.")
            % {"name": org.display_name, "status": org.get_kyc_status_display().lower()}
        )
    rule = rules.rule(action)
    if (rule.needs and rule.needs not in bill_facts(bill)) or (rule.unless and rule.unless in bill_facts(bill)):
        return BillActionNotPermitted(gettext("%(action)s is not available on this bill now.")
                                      % {"action": gettext(rule.label)})
    staff = bool(getattr(user, "is_staff", False) and org.is_platform)
    return rules.refusal(rule, bill=bill, org=org, staff=staff, today=clock.today(),
                         grace_days=settings.BILL_GRACE_DAYS)


def cash_balance(org: Organization, currency: str) -> Decimal:
    """The organization's cash in ``currency`` (0.00 when it has no such account yet; nothing is created)."""
    account = Account.objects.filter(organization=org, kind=AccountKind.CASH, currency=currency).first()
    return account_balance(account) if account is not None else ZERO


@dataclass(frozen=True)
class BuyPreview:
    """What buying the listing today means for the viewer's organization."""

    quote: PurchaseQuote
    annualized_yield: Decimal | None  # interest / price × basis / days, unrounded
    balance: Decimal | None  # the buyer's cash now (None when the viewer has no organization)
    balance_after: Decimal | None
    sufficient: bool


def buy_preview(*, bill: Bill, user: Viewer) -> BuyPreview | None:
    """The price at the asking rate today, its yield, and the viewer's cash before and after; None when the
    bill has no price today (no asking rate, or at or past maturity)."""
    quote = purchase_quote(bill=bill)
    if quote is None:
        return None
    gain = quote.interest
    yearly = annualized_yield(gain=gain, cost=quote.price, days=quote.days, basis=quote.basis)
    org = viewer_organization(user)
    if org is None:
        return BuyPreview(quote=quote, annualized_yield=yearly, balance=None, balance_after=None, sufficient=False)
    balance = cash_balance(org, bill.currency)
    return BuyPreview(quote=quote, annualized_yield=yearly, balance=balance, balance_after=balance - quote.price,
                      sufficient=balance >= quote.price)


@dataclass(frozen=True)
class OfferRow:
    offer: BillOffer
    quote: PurchaseQuote | None  # what the offer pays today (None at or past maturity)
    expired: bool


def _rows(offers: list[BillOffer]) -> list[OfferRow]:
    now = clock.now()
    return [OfferRow(offer=o, quote=offer_quote(o), expired=o.expires_at <= now) for o in offers]


def own_open_offers(*, user: Viewer, bill: Bill) -> list[OfferRow]:
    """The viewer's organization's open offers on ``bill`` (a financier sees its own, nobody else's)."""
    org = viewer_organization(user)
    if org is None:
        return []
    return _rows(list(offers_visible_to(user, bill=bill).filter(financier=org, status=OfferStatus.OPEN)))


def open_offers_for_bill_page(*, user: Viewer, bill: Bill) -> list[OfferRow]:
    """The open offers on the holder's present holding (``offers_visible_to``: the holder sees all of them,
    the oversight roles too, read-only), best price first."""
    offers = list(offers_visible_to(user, bill=bill).filter(status=OfferStatus.OPEN, holder_seq=bill.holder_seq))
    return sorted(_rows(offers), key=lambda row: (row.offer.rate, row.offer.created_at))
