"""Money under concurrency (issue 9), on separate database connections (committed transactions, threads):
exactly one buyer wins a listing, nobody's cash goes below zero, and every entry balances.

The contenders start together (``race`` from ``test_concurrency``); where they compete for one bill, a third
connection holds the bill's row lock until every contender waits on it.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from bills import services
from bills.events import bill_chain_verify
from bills.models import Bill, BillPurchase, BillState
from bills.models_money import BillOffer, OfferStatus
from finance_portal.errors import DomainError
from finance_portal.ledger.models import JournalEntry
from finance_portal.ledger.selectors import ledger_problems
from finance_portal.organizations.models import KycStatus, MemberRole, Organization
from finance_portal.organizations.services import member_create, organization_create
from finance_portal.organizations.validators import make_credit_code
from tests.bills.factories import build_world, cash, fund, listed, refresh
from tests.bills.test_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
_codes = itertools.count(1)
PRICE = D("9910.00")  # a 10,000.00 bill listed at 3.6 % for 90 days (DESIGN §3)


@pytest.fixture
def world(transactional_db):  # type: ignore[no-untyped-def]
    return build_world()


def new_financiers(prefix: str, n: int, amount: str) -> list[tuple[Organization, object]]:
    """``n`` onboarded financiers (organization and user, through the organizations services), each funded."""
    made = []
    for i in range(n):
        org = organization_create(legal_name=f"{prefix} Capital {i}", kinds=["financier"], kyc_status=KycStatus.APPROVED,
                                  credit_code=make_credit_code(f"91440300MA7F{next(_codes):05d}"))
        user = member_create(organization=org, username=f"{prefix}{i}", password="x-race-12345",
                             role=MemberRole.ADMIN).user
        fund(org, amount=amount)
        made.append((org, user))
    return made


def no_money_problem() -> None:
    assert ledger_problems() == []  # every entry sums to zero, no cash below zero, money = deposits − withdrawals


def test_fifty_financiers_buy_one_listing_at_once_exactly_one_pays(world):
    racers = new_financiers("fifty", 50, amount="10000.00")
    bill = listed(world, "10000.00", rate="0.036", days=90)
    seller_before = cash(world.org("supplier"))

    results = race([lambda u=u: services.bill_buy(bill_id=bill.pk, actor=u, rate="0.036") for _, u in racers],
                   lock_bill=bill)

    wins = [value for kind, value in results if kind == "ok"]
    losses = [value for kind, value in results if kind == "err"]
    assert len(wins) == 1 and len(losses) == 49, [v for v in losses if not isinstance(v, DomainError)]
    # The API answers each refusal with its status: 409, "already_bought" (bills.services.core._not_found).
    assert {(type(e).__name__, e.http_status, e.code) for e in losses} == {
        ("BillTransitionRefused", 409, "already_bought")}
    bill = refresh(bill)
    assert bill.state == BillState.FINANCED
    assert BillPurchase.objects.filter(bill=bill).count() == 1
    assert JournalEntry.objects.filter(kind="purchase", reference=f"bill:{bill.pk}").count() == 1
    balances = {org.pk: cash(org) for org, _ in racers}
    assert balances.pop(bill.holder_id) == D("10000.00") - PRICE
    assert set(balances.values()) == {D("10000.00")}
    assert cash(world.org("supplier")) == seller_before + PRICE
    assert bill_chain_verify(bill) == []
    no_money_problem()


def test_two_financiers_with_money_for_one_bill_each_buy_two_bills_at_once(world):
    """Each financier tries both bills at once, and can pay for one: each bill is bought once, each financier
    buys one, nobody goes below zero (its cash account is locked and re-read after the bill)."""
    for round_ in range(2):
        (f1, u1), (f2, u2) = new_financiers(f"pair{round_}x", 2, amount="10000.00")
        a, b = listed(world, "10000.00", days=90), listed(world, "10000.00", days=90)
        calls = [lambda u=u, bill=bill: services.bill_buy(bill_id=bill.pk, actor=u)
                 for u in (u1, u2) for bill in (a, b)]
        results = race(calls)
        wins = [value for kind, value in results if kind == "ok"]
        losses = [value for kind, value in results if kind == "err"]
        assert all(isinstance(e, DomainError) and e.http_status == 409 for e in losses), losses
        assert {e.code for e in losses} <= {"already_bought", "insufficient_funds"}, losses
        assert sorted(p.bill_id for p in wins) == sorted([a.pk, b.pk]), results
        assert sorted(p.buyer_id for p in wins) == sorted([f1.pk, f2.pk]), results
        assert cash(f1) == cash(f2) == D("10000.00") - PRICE
        for bill in (a, b):
            assert BillPurchase.objects.filter(bill=bill).count() == 1
            assert bill_chain_verify(refresh(bill)) == []
        no_money_problem()


def test_an_offer_accepted_while_another_financier_buys_has_one_winner(world):
    holder = get_user_model().objects.get(username="supplier")
    for _ in range(2):
        bill = listed(world, "10000.00", rate="0.036", days=90)
        offer = services.offer_make(bill_id=bill.pk, actor=world.user("financier"), rate="0.030")
        before = {key: cash(world.org(key)) for key in ("financier", "financier2", "supplier")}
        results = race([lambda offer=offer: services.offer_accept(offer_id=offer.pk, actor=holder),
                        lambda bill=bill: services.bill_buy(bill_id=bill.pk, actor=world.user("financier2"))],
                       lock_bill=bill)
        wins = [value for kind, value in results if kind == "ok"]
        losses = [value for kind, value in results if kind == "err"]
        assert len(wins) == 1 and len(losses) == 1, results
        # The buyer who comes second is told the bill was just bought (409); the seller who comes second no
        # longer holds the bill, and the rule book answers that first (403).
        assert isinstance(losses[0], DomainError) and losses[0].http_status in (403, 409), losses
        purchase = BillPurchase.objects.get(bill=bill)
        assert purchase.pk == wins[0].pk
        by_offer = purchase.offer_id == offer.pk
        price = D("9925.00") if by_offer else PRICE  # 3.0 % by the offer, 3.6 % asked
        buyer = "financier" if by_offer else "financier2"
        other = "financier2" if by_offer else "financier"
        assert refresh(bill).holder == world.org(buyer)
        assert cash(world.org(buyer)) == before[buyer] - price and cash(world.org(other)) == before[other]
        assert cash(world.org("supplier")) == before["supplier"] + price
        assert BillOffer.objects.get(pk=offer.pk).status == (OfferStatus.ACCEPTED if by_offer else OfferStatus.LAPSED)
        assert bill_chain_verify(refresh(bill)) == []
    assert Bill.objects.filter(state=BillState.FINANCED).count() == 2
    no_money_problem()
