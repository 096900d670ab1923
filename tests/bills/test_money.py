"""Money through the real services and the API (issue 9): the worked prices of DESIGN §3, refusals that move
no money and write no row, and offers end to end with who sees them (DESIGN §8).

Dates are fixed with the bills' clock (``clock.travel_to``), so every day count is exact.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from bills import clock, services
from bills.events import bill_chain_verify, field_commitment, rate_text
from bills.models import Bill, BillEvent, BillPurchase, BillState
from bills.models_money import BillOffer, BillSettlement, EarlySettlementRequest, OfferStatus
from chain_adapter.models import AnchorRecord
from finance_portal.ledger.errors import InsufficientFunds
from finance_portal.ledger.models import Account, JournalEntry, Posting
from finance_portal.ledger.selectors import ledger_problems, with_balances
from finance_portal.ledger.services import withdrawal_record
from tests.bills.factories import (
    World,
    accepted,
    cash,
    drain,
    financed,
    fund,
    listed,
    make_invoice,
    refresh,
)

pytestmark = pytest.mark.django_db

D = Decimal


# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------


def on(day: str, hour: int = 9):  # type: ignore[no-untyped-def]
    """Run the block on ``day`` (UTC), at ``hour``: the bills' clock only."""
    return clock.travel_to(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=dt.UTC))


def client(world: World, username: str) -> APIClient:
    """A client signed in as ``username``, one per user and test (a sign-in writes a session)."""
    clients: dict[str, APIClient] = world.__dict__.setdefault("api_clients", {})
    if username not in clients:
        clients[username] = APIClient()
        clients[username].force_login(world.user(username))
    return clients[username]


def post(world: World, username: str, url: str, body: object = None):  # type: ignore[no-untyped-def]
    return client(world, username).post(url, body if body is not None else {}, format="json")


def get(world: World, username: str, url: str):  # type: ignore[no-untyped-def]
    return client(world, username).get(url)


def refused(response, status: int, code: str, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    """The response is the one error shape with this status and code (and field, for a 400)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["detail"], body
    if field is not None:
        assert body["field"] == field, body
    return body


def snapshot() -> dict[str, object]:
    """Everything money or a transition could touch: balances, entries, purchases, events, offers, requests."""
    return {
        "balances": sorted(with_balances(Account.objects.all()).values_list("pk", "balance")),
        "entries": JournalEntry.objects.count(),
        "postings": Posting.objects.count(),
        "bills": sorted(Bill.objects.values_list("pk", "state", "holder_id")),
        "events": BillEvent.objects.count(),
        "anchors": AnchorRecord.objects.count(),
        "purchases": BillPurchase.objects.count(),
        "settlements": BillSettlement.objects.count(),
        "offers": sorted(BillOffer.objects.values_list("pk", "status")),
        "requests": sorted(EarlySettlementRequest.objects.values_list("pk", "settled_at")),
    }


@contextmanager
def nothing_written() -> Iterator[None]:
    before = snapshot()
    yield
    assert snapshot() == before
    assert ledger_problems() == []


def listed_on(world: World, face: str, rate: str, maturity: str, *, supplier: str = "supplier",
              debtor: str = "buyer") -> Bill:
    """Create, submit, accept and list a bill maturing on ``maturity``, today (by the bills' clock)."""
    invoice = make_invoice(world.org(supplier), world.org(debtor), total=face)
    bill = services.bill_create(actor=world.user(supplier), maturity_date=maturity,
                                invoice_allocations=[{"invoice": str(invoice.pk), "amount": face}])
    services.bill_submit(bill_id=bill.pk, actor=world.user(supplier))
    services.bill_accept(bill_id=bill.pk, actor=world.user(debtor))
    return services.bill_list(bill_id=bill.pk, actor=world.user(supplier), rate=rate)


def held_by(world: World, bill: Bill, username: str) -> Bill:
    """Transfer the supplier's accepted ``bill`` to ``username``'s organization, which signs for it."""
    services.bill_transfer(bill_id=bill.pk, actor=world.user("supplier"), to=world.org(username).credit_code)
    return services.bill_receive(bill_id=bill.pk, actor=world.user(username))


def listed_by_financier(world: World) -> Bill:
    """A bill that the financier holds (it received it from the supplier) and lists itself."""
    bill = held_by(world, accepted(world, days=90), "financier")
    return services.bill_list(bill_id=bill.pk, actor=world.user("financier"), rate="0.036")


def past_holder_financier(world: World) -> Bill:
    """An accepted, unlisted bill the financier bought and passed on: it still sees it, as a past holder."""
    bill = financed(world, days=90)
    services.bill_transfer(bill_id=bill.pk, actor=world.user("financier"), to=world.org("supplier2").credit_code)
    return services.bill_receive(bill_id=bill.pk, actor=world.user("supplier2"))


def committed_values(event: BillEvent) -> dict[str, object]:
    """The event's fields as its canonical text proves them: in clear (format 1), or each field's commitment
    recomputed from the stored value and salt and found in the canonical text (format 2)."""
    canonical = json.loads(event.canonical)
    if canonical["v"] == 1:
        flat = {f"amounts.{k}": v for k, v in canonical["amounts"].items()}
        flat.update({f"details.{k}": v for k, v in canonical["details"].items()})
        return flat
    values = {f"amounts.{k}": v for k, v in event.amounts.items()}
    values.update({f"details.{k}": v for k, v in event.details.items()})
    fields = canonical["fields"]
    for name, value in values.items():
        assert fields[name] == field_commitment(name, event.salts[name], value), name
    return values


def assert_purchase_paid(purchase: BillPurchase, *, buyer, seller, price: str, interest: str) -> None:  # type: ignore[no-untyped-def]
    """One purchase entry, two postings summing to zero (buyer −price, seller +price), linked from the
    purchase, and named with its amounts by the buy event's canonical text."""
    entry = purchase.entry
    assert entry is not None and entry.kind == "purchase" and entry.currency == "CNY"
    postings = {(p.account.organization_id, p.account.kind): p.amount for p in entry.postings.select_related("account")}
    assert postings == {(buyer.pk, "cash"): -D(price), (seller.pk, "cash"): D(price)}
    assert entry.postings.aggregate(total=Sum("amount"))["total"] == 0
    event = purchase.event
    assert event.type == "buy" and event.bill_id == purchase.bill_id
    proven = committed_values(event)
    assert proven["details.entry"] == entry.pk
    assert (proven["amounts.price"], proven["amounts.interest"]) == (price, interest)
    assert proven["details.buyer"] == buyer.credit_code and proven["details.seller"] == seller.credit_code


# ---------------------------------------------------------------------------------------------------------
# Worked prices (DESIGN §3): interest = face × rate × days / 360, half-up to the cent; price = face − interest
# ---------------------------------------------------------------------------------------------------------

WORKED = [
    pytest.param("2026-03-02", "2026-05-31", "10000.00", "0.036", 90, "90.00", "9910.00", id="design-90-days"),
    # 2028 is a leap year: 1 Feb to 2 Mar is 30 days (29 in 2027); 1,000,000 × 3.65 % × 30/360 = 3,041.666…
    pytest.param("2028-02-01", "2028-03-02", "1000000.00", "0.0365", 30, "3041.67", "996958.33", id="leap-year"),
    pytest.param("2026-06-30", "2026-07-01", "10000.00", "0.036", 1, "1.00", "9999.00", id="one-day"),
    # 1,000 × 0.09 % × 2/360 = 0.005 exactly: half-up gives 0.01 (half-even would give 0.00)
    pytest.param("2026-06-30", "2026-07-02", "1000.00", "0.0009", 2, "0.01", "999.99", id="half-up-tie"),
]


@pytest.mark.parametrize(("today", "maturity", "face", "rate", "days", "interest", "price"), WORKED)
def test_a_purchase_pays_the_worked_price(world, today, maturity, face, rate, days, interest, price):
    financier, supplier = world.org("financier"), world.org("supplier")
    with on(today):
        bill = listed_on(world, face, rate, maturity)
        quote = get(world, "financier", f"/api/v1/marketplace/{bill.pk}/").json()["quote"]
        assert quote == {"days": days, "basis": 360, "interest": interest, "price": price}
        financier_before, supplier_before = cash(financier), cash(supplier)
        entries_before = JournalEntry.objects.count()
        response = post(world, "financier", f"/api/v1/bills/{bill.pk}/buy/", {"rate": rate})
    assert response.status_code == 200, response.content
    paid = response.json()["purchase"]
    assert (paid["days"], paid["basis"], paid["interest"], paid["price"]) == (days, 360, interest, price)
    assert D(paid["rate"]) == D(rate)
    assert cash(financier) == financier_before - D(price)
    assert cash(supplier) == supplier_before + D(price)
    assert JournalEntry.objects.count() == entries_before + 1
    purchase = BillPurchase.objects.get(bill=bill)
    assert (purchase.days, purchase.basis, purchase.interest, purchase.price) == (days, 360, D(interest), D(price))
    assert_purchase_paid(purchase, buyer=financier, seller=supplier, price=price, interest=interest)
    assert committed_values(purchase.event)["details.rate"] == rate_text(D(rate))
    bill = refresh(bill)
    assert (bill.state, bill.holder_id) == (BillState.FINANCED, financier.pk)
    assert bill_chain_verify(bill) == [] and ledger_problems() == []


def test_on_the_maturity_date_a_listing_cannot_be_bought(world):
    with on("2026-06-30"):
        bill = listed_on(world, "10000.00", "0.036", "2026-07-01")
    with on("2026-07-01"), nothing_written():
        assert get(world, "financier", f"/api/v1/marketplace/{bill.pk}/").json()["quote"] is None
        refused(post(world, "financier", f"/api/v1/bills/{bill.pk}/buy/"), 409, "matured")


def test_a_financier_with_one_cent_too_little_is_refused_and_with_exactly_enough_buys(world):
    financier = world.org("financier")
    with on("2026-03-02"):
        bill = listed_on(world, "10000.00", "0.036", "2026-05-31")
        drain(financier)
        fund(financier, amount="9909.99")
        with nothing_written():
            body = refused(post(world, "financier", f"/api/v1/bills/{bill.pk}/buy/"), 409, "insufficient_funds")
        assert "Insufficient funds" in body["detail"] and "9909.99" in body["detail"] and "9910.00" in body["detail"]
        assert financier.legal_name in body["detail"]
        with nothing_written():  # in the reader's language, the account named as the pages name it
            chinese = refused(client(world, "financier").post(f"/api/v1/bills/{bill.pk}/buy/", {}, format="json",
                                                               HTTP_ACCEPT_LANGUAGE="zh-Hans"), 409, "insufficient_funds")
        assert chinese["detail"].startswith("余额不足") and financier.legal_name_zh in chinese["detail"], chinese
        assert "9909.99 CNY" in chinese["detail"] and "9910.00 CNY" in chinese["detail"]
        fund(financier, amount="0.01")
        assert post(world, "financier", f"/api/v1/bills/{bill.pk}/buy/").status_code == 200
    assert cash(financier) == D("0.00")
    assert refresh(bill).state == BillState.FINANCED and ledger_problems() == []


# ---------------------------------------------------------------------------------------------------------
# Refusals: a clear 4xx naming the rule, and nothing moved, nothing written
# ---------------------------------------------------------------------------------------------------------


def test_buying_an_unlisted_bill_is_404_for_a_stranger_and_409_for_a_past_holder(world):
    hidden = accepted(world)
    seen = past_holder_financier(world)
    with nothing_written():
        refused(post(world, "financier2", f"/api/v1/bills/{hidden.pk}/buy/"), 404, "bill_not_found")
        refused(post(world, "financier", f"/api/v1/bills/{seen.pk}/buy/"), 409, "wrong_state")


def test_buying_a_listing_that_was_unlisted_is_404(world):
    bill = listed(world)
    services.bill_unlist(bill_id=bill.pk, actor=world.user("supplier"))
    with nothing_written():
        refused(post(world, "financier", f"/api/v1/bills/{bill.pk}/buy/"), 404, "bill_not_found")


def test_buying_an_already_sold_listing_is_409(world):
    bill = financed(world)
    with nothing_written():
        refused(post(world, "financier2", f"/api/v1/bills/{bill.pk}/buy/"), 409, "already_bought")
        refused(post(world, "financier", f"/api/v1/bills/{bill.pk}/buy/"), 409, "wrong_state")


def test_buying_ones_own_listing_is_409(world):
    bill = listed_by_financier(world)
    with nothing_written():
        refused(post(world, "financier", f"/api/v1/bills/{bill.pk}/buy/"), 409, "own_listing")


def test_buying_a_matured_listing_is_409(world):
    with on("2026-03-02"):
        bill = listed_on(world, "10000.00", "0.036", "2026-04-01")
    for day in ("2026-04-01", "2026-04-20"):
        with on(day), nothing_written():
            refused(post(world, "financier", f"/api/v1/bills/{bill.pk}/buy/"), 409, "matured")


def test_a_non_financier_cannot_buy(world):
    bill = listed(world)
    with nothing_written():
        refused(post(world, "buyer", f"/api/v1/bills/{bill.pk}/buy/"), 403, "bill_action_not_permitted")
        refused(post(world, "supplier2", f"/api/v1/bills/{bill.pk}/buy/"), 404, "bill_not_found")


def test_a_rate_outside_zero_to_one_is_400_naming_the_rate(world):
    bill = listed(world)
    other = accepted(world)
    with nothing_written():
        for rate in ("0", "1", "-0.01", "1.5", "0.0000001", "abc", 0.03):  # 0.03: a JSON float
            refused(post(world, "financier", f"/api/v1/bills/{bill.pk}/buy/", {"rate": rate}), 400, "invalid", "rate")
        for rate in ("0", "1"):
            refused(post(world, "supplier", f"/api/v1/bills/{other.pk}/list/", {"rate": rate}), 400, "invalid",
                    "rate")
            refused(post(world, "financier", f"/api/v1/bills/{bill.pk}/offers/", {"rate": rate}), 400, "invalid",
                    "rate")


def test_a_drained_financier_is_409_insufficient_funds_and_the_listing_stays(world):
    bill = listed(world)
    drain(world.org("financier"))
    with nothing_written():
        body = refused(post(world, "financier", f"/api/v1/bills/{bill.pk}/buy/"), 409, "insufficient_funds")
    assert world.org("financier").legal_name in body["detail"]
    assert refresh(bill).state == BillState.LISTED


def test_a_withdrawal_beyond_the_balance_is_refused(world):
    supplier2 = world.org("supplier2")
    fund(supplier2, amount="100.00")
    with nothing_written(), pytest.raises(InsufficientFunds):
        withdrawal_record(organization=supplier2, amount="100.01", currency="CNY", reference="W-1", reason="t",
                          actor=None)
    withdrawal_record(organization=supplier2, amount="100.00", currency="CNY", reference="W-2", reason="t",
                      actor=None)
    assert cash(supplier2) == D("0.00")


def test_only_the_debtor_settles(world):
    with on("2026-03-02"):
        bill = listed_on(world, "10000.00", "0.036", "2026-04-01")
        services.bill_buy(bill_id=bill.pk, actor=world.user("financier"))
    with on("2026-04-01"):
        with nothing_written():
            for username, status, code in [
                ("financier", 403, "bill_action_not_permitted"),  # the holder
                ("supplier", 403, "bill_action_not_permitted"),  # the creditor, a past holder
                ("supplier2", 404, "bill_not_found"),
                ("financier2", 404, "bill_not_found"),
                ("buyer2", 404, "bill_not_found"),
                ("regulator", 403, "read_only_role"),
                ("admin", 403, "read_only_role"),
            ]:
                refused(post(world, username, f"/api/v1/bills/{bill.pk}/settle/"), status, code)
        assert post(world, "buyer", f"/api/v1/bills/{bill.pk}/settle/").status_code == 200
    assert refresh(bill).settlement.kind == "at_maturity"


def test_settlement_before_maturity_is_409_not_due(world):
    with on("2026-03-02"):
        bill = listed_on(world, "10000.00", "0.036", "2026-04-01")
    with on("2026-03-31"), nothing_written():
        refused(post(world, "buyer", f"/api/v1/bills/{bill.pk}/settle/"), 409, "not_due")


def test_accepting_early_settlement_without_a_request_is_409_no_request(world):
    bill = financed(world)
    with nothing_written():
        refused(post(world, "financier", f"/api/v1/bills/{bill.pk}/accept-early-settlement/"), 409, "no_request")


def test_a_request_for_a_previous_holder_does_not_let_the_new_holder_settle_early(world):
    bill = listed(world)
    services.bill_request_early_settlement(bill_id=bill.pk, actor=world.user("buyer"))
    services.bill_buy(bill_id=bill.pk, actor=world.user("financier"))
    with nothing_written():
        refused(post(world, "financier", f"/api/v1/bills/{bill.pk}/accept-early-settlement/"), 409, "no_request")


def test_early_settlement_with_consent_pays_the_face_in_one_entry(world):
    bill = financed(world, days=60)
    financier, buyer = world.org("financier"), world.org("buyer")
    before = (cash(financier), cash(buyer), JournalEntry.objects.count())
    assert post(world, "buyer", f"/api/v1/bills/{bill.pk}/request-early-settlement/").status_code == 200
    assert (cash(financier), cash(buyer), JournalEntry.objects.count()) == before  # a request moves nothing
    assert post(world, "financier", f"/api/v1/bills/{bill.pk}/accept-early-settlement/").status_code == 200
    settlement = refresh(bill).settlement
    assert (settlement.kind, settlement.face, settlement.days_late) == ("early", D("10000.00"), 0)
    assert cash(financier) == before[0] + D("10000.00") and cash(buyer) == before[1] - D("10000.00")
    postings = {p.account.organization_id: p.amount for p in settlement.entry.postings.select_related("account")}
    assert postings == {buyer.pk: D("-10000.00"), financier.pk: D("10000.00")}
    assert committed_values(settlement.event)["details.entry"] == settlement.entry_id
    assert ledger_problems() == []


# Face limits: BILL_MIN_FACE 100.00 and BILL_MAX_FACE 100,000,000.00 by default.
def test_a_bill_created_outside_the_face_limits_is_400(world):
    for face in ("100000000.01", "99.99"):
        invoice = make_invoice(world.org("supplier"), world.org("buyer"), total=face)
        body = {"invoice_allocations": [{"invoice": str(invoice.pk), "amount": face}], "maturity_date": "2026-05-31"}
        with on("2026-03-02"), nothing_written():
            refused(post(world, "supplier", "/api/v1/bills/", body), 400, "invalid", "invoice_allocations")


def test_a_bill_issued_outside_the_face_limits_is_400_and_at_the_limits_is_issued(world):
    with on("2026-03-02"):
        for face in ("100000000.01", "99.99"):
            body = {"to": world.org("supplier").credit_code, "face": face, "maturity_date": "2026-05-31"}
            with nothing_written():
                refused(post(world, "buyer", "/api/v1/bills/issue/", body), 400, "invalid", "face")
        for face in ("100000000.00", "100.00"):
            body = {"to": world.org("supplier").credit_code, "face": face, "maturity_date": "2026-05-31"}
            response = post(world, "buyer", "/api/v1/bills/issue/", body)
            assert (response.status_code, response.json()["face"]) == (201, face), response.content


def test_a_split_part_below_the_minimum_face_is_400(world):
    bill = accepted(world, "10000.00")
    parts = [{"face": "99.99"}, {"face": "9900.01"}]
    with nothing_written():
        refused(post(world, "supplier", f"/api/v1/bills/{bill.pk}/split/", {"parts": parts}), 400, "invalid",
                "parts[0].face")
    ok = post(world, "supplier", f"/api/v1/bills/{bill.pk}/split/", {"parts": [{"face": "100.00"}, {"face": "9900.00"}]})
    assert ok.status_code == 200, ok.content


# ---------------------------------------------------------------------------------------------------------
# Offers: refusals
# ---------------------------------------------------------------------------------------------------------


def offer(world: World, username: str, bill: Bill, rate: str = "0.03", **extra: str):  # type: ignore[no-untyped-def]
    return post(world, username, f"/api/v1/bills/{bill.pk}/offers/", {"rate": rate, **extra})


def test_an_offer_on_a_bill_one_cannot_see_is_404(world):
    hidden = accepted(world)
    unlisted = listed(world)
    services.bill_unlist(bill_id=unlisted.pk, actor=world.user("supplier"))
    with nothing_written():
        refused(offer(world, "financier", hidden), 404, "bill_not_found")
        refused(offer(world, "financier", unlisted), 404, "bill_not_found")
        refused(get(world, "financier", f"/api/v1/bills/{hidden.pk}/offers/"), 404, "bill_not_found")


def test_an_offer_on_an_unlisted_bill_one_sees_is_409(world):
    seen = past_holder_financier(world)
    sold = financed(world, buyer="financier2")
    with nothing_written():
        refused(offer(world, "financier", seen), 409, "wrong_state")
        refused(offer(world, "financier", sold), 409, "already_bought")


def test_an_offer_by_a_non_financier_is_refused(world):
    bill = listed(world)
    with nothing_written():
        refused(offer(world, "buyer", bill), 403, "bill_action_not_permitted")  # the debtor sees the bill
        refused(offer(world, "supplier", bill), 403, "bill_action_not_permitted")  # the holder, not a financier
        refused(offer(world, "supplier2", bill), 404, "bill_not_found")  # a stranger does not see listings
        refused(offer(world, "regulator", bill), 403, "read_only_role")


def test_an_offer_by_the_holder_itself_is_409_own_listing(world):
    bill = listed_by_financier(world)
    with nothing_written():
        refused(offer(world, "financier", bill), 409, "own_listing")


def test_an_offer_that_expires_in_the_past_is_400(world):
    bill = listed(world)
    with nothing_written():
        refused(offer(world, "financier", bill, expires_at="2000-01-01T00:00:00Z"), 400, "invalid", "expires_at")


def test_an_expired_offer_cannot_be_accepted(world):
    with on("2026-03-02"):
        bill = listed_on(world, "10000.00", "0.036", "2026-05-31")
        made = offer(world, "financier", bill, expires_at="2026-03-02T12:00:00Z").json()
    with on("2026-03-02", hour=13), nothing_written():
        refused(post(world, "supplier", f"/api/v1/offers/{made['id']}/accept/"), 409, "offer_expired")


def test_a_withdrawn_offer_cannot_be_accepted(world):
    bill = listed(world)
    made = offer(world, "financier", bill).json()
    withdrawn = post(world, "financier", f"/api/v1/offers/{made['id']}/withdraw/")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    with nothing_written():
        refused(post(world, "supplier", f"/api/v1/offers/{made['id']}/accept/"), 409, "offer_closed")
        refused(post(world, "financier", f"/api/v1/offers/{made['id']}/withdraw/"), 409, "offer_closed")


def test_an_offer_lapsed_by_unlisting_cannot_be_accepted_after_relisting(world):
    bill = listed(world)
    made = offer(world, "financier", bill).json()
    services.bill_unlist(bill_id=bill.pk, actor=world.user("supplier"))
    services.bill_list(bill_id=bill.pk, actor=world.user("supplier"), rate="0.04")
    assert BillOffer.objects.get(pk=made["id"]).status == OfferStatus.LAPSED
    with nothing_written():
        refused(post(world, "supplier", f"/api/v1/offers/{made['id']}/accept/"), 409, "offer_closed")


def test_only_the_holder_accepts_an_offer(world):
    bill = listed(world)
    made = offer(world, "financier", bill).json()
    with nothing_written():
        for username, status, code in [
            ("financier", 404, "bill_not_found"),  # the offering financier cannot accept its own offer
            ("financier2", 404, "bill_not_found"),
            ("supplier2", 404, "bill_not_found"),
            ("buyer", 403, "bill_action_not_permitted"),  # the debtor sees the bill but does not hold it
            ("regulator", 403, "read_only_role"),
        ]:
            refused(post(world, username, f"/api/v1/offers/{made['id']}/accept/"), status, code)
        refused(post(world, "supplier", "/api/v1/offers/999999999/accept/"), 404, "offer_not_found")
        refused(post(world, "financier2", f"/api/v1/offers/{made['id']}/withdraw/"), 404, "offer_not_found")


def test_accepting_the_offer_of_a_financier_without_the_cash_is_409_and_the_offer_stands(world):
    bill = listed(world)
    made = offer(world, "financier", bill).json()
    drain(world.org("financier"))
    with nothing_written():
        refused(post(world, "supplier", f"/api/v1/offers/{made['id']}/accept/"), 409, "insufficient_funds")
    assert BillOffer.objects.get(pk=made["id"]).status == OfferStatus.OPEN


# ---------------------------------------------------------------------------------------------------------
# Offers end to end
# ---------------------------------------------------------------------------------------------------------


def test_offers_end_to_end(world):
    """Two financiers offer on supplier2's listing (the supplier is its creditor and a past holder): the holder
    sees both with today's price, each financier its own, the creditor and the debtor none, strangers 404; a
    new offer withdraws the financier's previous one; accepting one pays at its rate and the other lapses."""
    fin, fin2, holder = world.org("financier"), world.org("financier2"), world.org("supplier2")
    with on("2026-03-02"):
        invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
        bill = services.bill_create(actor=world.user("supplier"), maturity_date="2026-05-31",
                                    invoice_allocations=[{"invoice": str(invoice.pk), "amount": "10000.00"}])
        services.bill_submit(bill_id=bill.pk, actor=world.user("supplier"))
        services.bill_accept(bill_id=bill.pk, actor=world.user("buyer"))
        held_by(world, bill, "supplier2")
        services.bill_list(bill_id=bill.pk, actor=world.user("supplier2"), rate="0.036")
        url = f"/api/v1/bills/{bill.pk}/offers/"

        first = offer(world, "financier", bill, rate="0.030")
        second = offer(world, "financier2", bill, rate="0.032")
        assert (first.status_code, second.status_code) == (201, 201), (first.content, second.content)
        first, second = first.json(), second.json()

        seen = get(world, "supplier2", url)
        assert seen.status_code == 200
        quotes = {o["id"]: (o["financier"]["credit_code"], o["rate"], o["status"], o["quote"]) for o in seen.json()}
        assert quotes == {
            first["id"]: (fin.credit_code, "0.030000", "open",
                          {"days": 90, "basis": 360, "interest": "75.00", "price": "9925.00"}),
            second["id"]: (fin2.credit_code, "0.032000", "open",
                           {"days": 90, "basis": 360, "interest": "80.00", "price": "9920.00"}),
        }
        assert [o["id"] for o in get(world, "financier", url).json()] == [first["id"]]
        assert [o["id"] for o in get(world, "financier2", url).json()] == [second["id"]]
        for username in ("supplier", "buyer"):  # the creditor (a past holder) and the debtor see the bill only
            response = get(world, username, url)
            assert (response.status_code, response.json()) == (200, [])
        for username in ("buyer2", "pending"):
            refused(get(world, username, url), 404, "bill_not_found")
        assert len(get(world, "regulator", url).json()) == 2  # reads everything, read-only

        again = offer(world, "financier", bill, rate="0.029").json()
        statuses = {o["id"]: o["status"] for o in get(world, "financier", url).json()}
        assert statuses == {first["id"]: "withdrawn", again["id"]: "open"}
        assert {o["id"]: o["quote"] is None for o in get(world, "supplier2", url).json()} == {
            first["id"]: True, second["id"]: False, again["id"]: False}
        refused(post(world, "supplier2", f"/api/v1/offers/{first['id']}/accept/"), 409, "offer_closed")

        before = {org.pk: cash(org) for org in (fin, fin2, holder)}
        accepted_ = post(world, "supplier2", f"/api/v1/offers/{second['id']}/accept/")
    assert accepted_.status_code == 200, accepted_.content
    paid = accepted_.json()["purchase"]
    assert (paid["rate"], paid["days"], paid["interest"], paid["price"]) == ("0.032000", 90, "80.00", "9920.00")
    assert paid["buyer"]["credit_code"] == fin2.credit_code and paid["seller"]["credit_code"] == holder.credit_code
    assert cash(fin2) == before[fin2.pk] - D("9920.00")
    assert cash(holder) == before[holder.pk] + D("9920.00")
    assert cash(fin) == before[fin.pk]
    statuses = dict(BillOffer.objects.filter(bill=bill).values_list("pk", "status"))
    assert statuses == {first["id"]: "withdrawn", second["id"]: "accepted", again["id"]: "lapsed"}
    purchase = BillPurchase.objects.get(bill=bill)
    assert purchase.offer_id == second["id"] and purchase.rate == D("0.032")
    assert_purchase_paid(purchase, buyer=fin2, seller=holder, price="9920.00", interest="80.00")
    assert committed_values(purchase.event)["details.offer"] == second["id"]
    bill = refresh(bill)
    assert (bill.state, bill.holder_id) == (BillState.FINANCED, fin2.pk)
    # The seller no longer sees the offers of a bill it does not hold; the losing financier still sees its own.
    assert get(world, "supplier2", f"/api/v1/bills/{bill.pk}/offers/").json() == []
    assert {o["id"] for o in get(world, "financier", f"/api/v1/bills/{bill.pk}/offers/").json()} == {
        first["id"], again["id"]}
    assert bill_chain_verify(bill) == [] and ledger_problems() == []


# ---------------------------------------------------------------------------------------------------------
# Settlement by the daily sweep
# ---------------------------------------------------------------------------------------------------------


def test_the_sweep_settles_on_the_maturity_date_from_the_debtors_cash(world):
    buyer, supplier = world.org("buyer"), world.org("supplier")
    with on("2026-03-02"):
        bill = accepted(world, "10000.00", days=30)
    before = (cash(buyer), cash(supplier))
    with on("2026-04-01", hour=0):
        assert services.bills_mark_overdue_and_default()["settled"] == 1
    settlement = refresh(bill).settlement
    assert (settlement.kind, settlement.days_late, settlement.payer_id, settlement.payee_id) == (
        "automatic", 0, buyer.pk, supplier.pk)
    assert (cash(buyer), cash(supplier)) == (before[0] - D("10000.00"), before[1] + D("10000.00"))
    proven = committed_values(settlement.event)
    assert (proven["details.entry"], proven["details.kind"], proven["details.days_late"]) == (
        settlement.entry_id, "automatic", 0)
    assert proven["amounts.paid"] == "10000.00" and ledger_problems() == []


def test_an_automatic_settlement_after_the_maturity_date_is_recorded_late_with_its_days(world):
    """The debtor's cash fell short at maturity; it is paid from the debtor's cash by a later sweep: the holder
    was paid late, and the settlement says so, as its event does (DESIGN §3: "late settlement is recorded
    with its days late")."""
    buyer = world.org("buyer")
    with on("2026-03-02"):
        bill = accepted(world, "10000.00", days=30)
    drain(buyer)
    with on("2026-04-01", hour=0):
        assert services.bills_mark_overdue_and_default()["settled"] == 0
    fund(buyer, amount="10000.00")
    with on("2026-04-03", hour=0):
        services.bills_mark_overdue_and_default()
    settlement = refresh(bill).settlement
    proven = committed_values(settlement.event)
    assert proven["details.days_late"] == 2
    assert (settlement.kind, settlement.days_late) == ("late", 2)
    assert proven["details.kind"] == "late"
    assert cash(buyer) == D("0.00") and ledger_problems() == []


def test_a_body_that_is_not_a_json_object_is_400_after_the_guard_and_never_taken_for_no_inputs(world):
    """``null``, a list or a number is not "no inputs": the holder accepting an offer gets 400 and nothing moves;
    a stranger still gets 404 and the debtor 403 (the body is read after the guard)."""
    bill = listed(world)
    made = offer(world, "financier", bill).json()
    for raw in ("null", "[]", "7"):
        with nothing_written():
            response = client(world, "supplier").post(f"/api/v1/offers/{made['id']}/accept/", raw,
                                                      content_type="application/json")
            refused(response, 400, "body_not_an_object")
            response = client(world, "supplier2").post(f"/api/v1/bills/{bill.pk}/offers/", raw,
                                                       content_type="application/json")
            refused(response, 404, "bill_not_found")  # a stranger does not see listings
            response = client(world, "buyer").post(f"/api/v1/bills/{bill.pk}/offers/", raw,
                                                   content_type="application/json")
            refused(response, 403, "bill_action_not_permitted")
    accepted = post(world, "supplier", f"/api/v1/offers/{made['id']}/accept/", {})
    assert accepted.status_code == 200, accepted.content
