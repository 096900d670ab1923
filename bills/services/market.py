"""The marketplace: the holder lists a bill at an asking annual discount rate, or takes it off; a financier
buys it, and exactly one buyer wins (the row lock, and one purchase per holder by a unique constraint).

Price (DESIGN §3): ``interest = face × rate × days / 360``, ``price = face − interest``, half-up to the minor
unit, days from today (UTC) to maturity.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from bills.errors import BillInvalid, BillTransitionRefused
from bills.events import amount_text, rate_text
from bills.models import Bill, BillPurchase, ParticipantRole
from bills.models_money import BillOffer
from bills.selectors import DAY_COUNT_BASIS, parse_bill_id, purchase_quote
from bills.services import inputs
from bills.services.core import Guarded, add_participants, drop_participant, guard, lock_bill, transition
from finance_portal.ledger.services import cash_accounts, entry_post
from finance_portal.organizations.models import Organization
from finance_portal.organizations.services import require_acting_organization
from finance_portal.users import User


def bill_list(*, bill_id: object, actor: User, rate: object = None, reason: object = "") -> Bill:
    """The holder offers an accepted bill on the marketplace at an asking annual discount rate."""
    with transaction.atomic():
        g = guard("list", bill_id=bill_id, actor=actor)
        asking = inputs.parse_rate(rate)
        transition(g, reason=g.reason(reason), details={"rate": rate_text(asking)}, asking_rate=asking)
    return g.bill


def bill_unlist(*, bill_id: object, actor: User, reason: object = "") -> Bill:
    """The holder takes its bill off the marketplace."""
    with transaction.atomic():
        g = guard("unlist", bill_id=bill_id, actor=actor)
        rate = rate_text(g.bill.asking_rate or Decimal("0"))
        transition(g, reason=g.reason(reason), details={"rate": rate}, asking_rate=None)
    return g.bill


def _earlier_purchase(key: str, buyer: Organization) -> BillPurchase | None:
    if not key:
        return None
    return BillPurchase.objects.select_related("bill").filter(buyer=buyer, idempotency_key=key).first()


def bill_buy(
    *,
    bill_id: object,
    actor: User,
    rate: object = None,
    idempotency_key: object = None,
    reason: object = "",
) -> BillPurchase:
    """A financier buys a listed bill at its asking rate and becomes its holder; exactly one buyer wins.

    ``rate``, when given, is the rate the buyer saw: a different asking rate is refused (409 ``rate_changed``).
    The same ``idempotency_key`` from the same organization returns the first purchase and has no second
    effect. The checks named in ``settings.BILL_PURCHASE_POLICIES`` (dotted paths of callables
    ``policy(*, bill, buyer, price)`` raising a domain error) run before the purchase.
    """
    org = require_acting_organization(actor)
    pk = parse_bill_id(bill_id)
    key = inputs.idempotency_key(idempotency_key)
    earlier = _earlier_purchase(key, org)
    if earlier is not None and earlier.bill_id == pk:
        return earlier
    with transaction.atomic():
        locked = lock_bill(pk)
        earlier = _earlier_purchase(key, org)  # a concurrent request with the same key may have won the lock
        if earlier is not None and earlier.bill_id == pk:
            return earlier
        g = guard("buy", bill_id=pk, actor=actor, org=org, locked=locked)
        bill = g.bill
        if earlier is not None:
            raise BillInvalid(
                gettext("This Idempotency-Key was already used for a purchase of another bill."),
                field="idempotency_key",
            )
        expected = inputs.optional_rate(rate)
        text = g.reason(reason)
        asking = bill.asking_rate
        assert asking is not None  # a listed bill has a rate (check constraint)
        if expected is not None and expected != asking:
            raise BillTransitionRefused(
                gettext("The asking rate of bill %(number)s is now %(asking)s, not %(expected)s.")
                % {"number": bill.number, "asking": rate_text(asking), "expected": rate_text(expected)},
                code="rate_changed",
            )
        return purchase(g, buyer=org, rate=asking, reason=text, idempotency_key=key)


def purchase(g: Guarded, *, buyer: Organization, rate: Decimal, reason: str, idempotency_key: str = "",
             offer: BillOffer | None = None) -> BillPurchase:
    """The purchase of the guarded listed bill by ``buyer`` at ``rate``: price, policies, the payment, the
    change of holder, the event naming the ledger entry, and the ``BillPurchase`` row.

    Precondition: ``g`` came from the guard of ``buy`` or ``accept_offer`` (the bill's row lock is held).
    The ledger locks the accounts after the bill, and refuses (409 ``insufficient_funds``) a buyer whose cash
    does not cover the price; nothing is written then.
    """
    bill = g.bill
    quote = purchase_quote(bill=bill, rate=rate)
    assert quote is not None  # listed (so it has a rate) and before maturity (so at least one day)
    days, interest, price = quote.days, quote.interest, quote.price
    if price <= 0:
        raise BillTransitionRefused(
            gettext("At %(rate)s for %(days)s days the discount swallows the face: no price is left.")
            % {"rate": rate_text(rate), "days": days}, code="no_price",
        )
    for path in getattr(settings, "BILL_PURCHASE_POLICIES", ()):
        import_string(path)(bill=bill, buyer=buyer, price=price)
    paying, paid = cash_accounts([buyer.pk, bill.holder_id], bill.currency)
    seller = paid.organization  # read with its account
    assert seller is not None  # a cash account belongs to an organization
    seller_seq = bill.holder_seq
    entry = entry_post(
        kind="purchase",
        lines=[(paying, -price), (paid, price)],
        memo=f"Purchase of bill {bill.number}: face {amount_text(bill.face, bill.currency)} at "
             f"{rate_text(rate)} for {days} days",
        reference=f"bill:{bill.pk}",
        actor=g.user,
    )
    drop_participant(bill, seller.pk, ParticipantRole.HOLDER)
    add_participants(bill, [(seller, ParticipantRole.PAST_HOLDER), (buyer, ParticipantRole.HOLDER)])
    details: dict[str, object] = {"buyer": buyer.credit_code, "seller": seller.credit_code, "rate": rate_text(rate),
                                  "days": days, "basis": DAY_COUNT_BASIS, "entry": entry.pk}
    if offer is not None:
        details["offer"] = offer.pk
    event = transition(
        g,
        reason=reason,
        amounts={"price": amount_text(price, bill.currency), "interest": amount_text(interest, bill.currency)},
        details=details,
        holder=buyer,
        holder_seq=seller_seq + 1,
        asking_rate=None,
    )
    return BillPurchase.objects.create(
        bill=bill, holder_seq=seller_seq, seller=seller, buyer=buyer, face=bill.face, currency=bill.currency,
        rate=rate, days=days, basis=DAY_COUNT_BASIS, interest=interest, price=price,
        purchased_at=event.occurred_at, idempotency_key=idempotency_key, event=event, entry=entry, offer=offer,
    )
