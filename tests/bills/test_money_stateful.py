"""A Hypothesis state machine over the money flows (issue 9): deposits, withdrawals, bills listed, bought
directly or through accepted offers, settled on time, late, early with the holder's consent, or by the daily
sweep as the bills' clock moves forward.

The machine keeps its own books: every organization's cash as the flows should leave it (prices computed
here from DESIGN §3, not read from the code), and the deposits and withdrawals made. Each step predicts
whether the service must succeed, and a refusal must leave every row as it was. After every step: each cash
balance equals its postings and the machine's books and is not negative, every entry sums to zero, money in
the system equals deposits minus withdrawals, and ``ledger_problems()`` is empty.

Each example runs in a savepoint of the test's transaction, rolled back at its end.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from django.db.models import F, Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bills import clock, rules, services
from bills.models import Bill, BillEvent, BillPurchase, BillState
from bills.models_money import BillOffer, BillSettlement, EarlySettlementRequest, OfferStatus
from finance_portal.errors import DomainError
from finance_portal.ledger.models import Account, AccountKind, JournalEntry, Posting
from finance_portal.ledger.selectors import ledger_problems, with_balances
from finance_portal.ledger.services import deposit_record, withdrawal_record
from tests.bills.factories import World, build_world, make_invoice

pytestmark = pytest.mark.django_db

D = Decimal
CENT = D("0.01")
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
TRADERS = ("supplier", "supplier2", "buyer", "buyer2", "financier", "financier2")
SUPPLIERS = ("supplier", "supplier2")
DEBTORS = ("buyer", "buyer2")
FINANCIERS = ("financier", "financier2")
HELD_OPEN = rules.RULES["auto_settle"].from_states  # accepted, listed, financed
SETTLEABLE = rules.SETTLEABLE_STATES
_refs = itertools.count(1)

cents = st.integers(min_value=1, max_value=3_000_000).map(lambda n: D(n) * CENT)  # 0.01 … 30,000.00
faces = st.integers(min_value=10_000, max_value=2_000_000).map(lambda n: D(n) * CENT)  # 100.00 … 20,000.00
rates = st.sampled_from(["0.012", "0.036", "0.05", "0.0365", "0.08", "0.15"])
picks = st.integers(min_value=0, max_value=63)
aims = st.integers(min_value=0, max_value=4).map(bool)  # four times in five, a bill the step can apply to


def price_of(face: Decimal, rate: Decimal, days: int) -> Decimal:
    """DESIGN §3, written out again: interest = face × rate × days / 360, half-up to the cent."""
    interest = (face * rate * days / 360).quantize(CENT, rounding=ROUND_HALF_UP)
    return face - interest


class MoneyMachine(RuleBasedStateMachine):
    world: World  # set by the test before the machine runs

    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.day = 0
        self.org = {key: self.world.org(key) for key in TRADERS}
        self.username = {org.pk: key for key, org in self.org.items()}
        self.books = {key: self.balance(key) for key in TRADERS}  # what each organization's cash should be
        self.in_system = self.money_in_system()  # deposits minus withdrawals so far, by the machine's count
        self.bills: list[object] = []
        self.offers: list[int] = []

    def teardown(self) -> None:
        transaction.set_rollback(True)  # leave the example's savepoint with a rollback: the next starts afresh
        self._savepoint.__exit__(None, None, None)

    # -- helpers ------------------------------------------------------------------------------------------

    def now(self):  # type: ignore[no-untyped-def]
        return clock.travel_to(START + dt.timedelta(days=self.day))

    def today(self) -> dt.date:
        return (START + dt.timedelta(days=self.day)).date()

    def balance(self, key: str) -> Decimal:
        account = Account.objects.filter(organization=self.org[key], kind=AccountKind.CASH, currency="CNY").first()
        if account is None:
            return D("0.00")
        return Posting.objects.filter(account=account).aggregate(t=Sum("amount"))["t"] or D("0.00")

    @staticmethod
    def money_in_system() -> Decimal:
        return Posting.objects.filter(account__kind=AccountKind.CASH).aggregate(t=Sum("amount"))["t"] or D("0.00")

    def user(self, org_id: int):  # type: ignore[no-untyped-def]
        return self.world.user(self.username[org_id])

    def pick(self, index: int, aim: bool, *states: str, due: bool = False, **where: object) -> Bill:
        """Mostly (``aim``) a bill in ``states``, before maturity (or, ``due``, on or after it), matching
        ``where``; otherwise any bill: the wrong ones must be refused cleanly."""
        every = Bill.objects.filter(pk__in=self.bills).select_related("debtor", "holder").order_by("number")
        when = {"maturity_date__lte" if due else "maturity_date__gt": self.today()}
        aimed = list(every.filter(state__in=states, **when, **where)) if aim else []
        candidates = aimed or list(every)
        assert candidates, "the machine starts with bills"
        return candidates[index % len(candidates)]

    @staticmethod
    def rows() -> tuple[object, ...]:
        return (
            JournalEntry.objects.count(), Posting.objects.count(), BillEvent.objects.count(),
            BillPurchase.objects.count(), BillSettlement.objects.count(),
            sorted(Bill.objects.values_list("pk", "state", "holder_id")),
            sorted(BillOffer.objects.values_list("pk", "status")),
            sorted(EarlySettlementRequest.objects.values_list("pk", "settled_at")),
        )

    def attempt(self, call, expected: bool) -> object | None:  # type: ignore[no-untyped-def]
        """Run ``call``; it must succeed iff ``expected``, and a refusal (a domain error) writes nothing."""
        before = self.rows()
        try:
            with self.now():
                result = call()
        except DomainError as err:
            assert not expected, f"refused, but should have worked: {err.code}: {err}"
            assert self.rows() == before, "a refusal wrote something"
            return None
        assert expected, f"worked, but should have been refused: {result!r}"
        return result

    def pay(self, payer: str, payee: str, amount: Decimal) -> None:
        self.books[payer] -= amount
        self.books[payee] += amount

    # -- rules --------------------------------------------------------------------------------------------

    @initialize(drained=st.sets(st.sampled_from(TRADERS)))
    def drain_some(self, drained: set[str]) -> None:
        """Organizations that start without cash: debtors that cannot pay at maturity, financiers that cannot
        buy, until deposits arrive."""
        for key in sorted(drained):
            if self.books[key] > 0:
                withdrawal_record(organization=self.org[key], amount=str(self.books[key]), currency="CNY",
                                  actor=None, reference=f"HYP-W-{next(_refs)}", reason="stateful test")
                self.in_system -= self.books[key]
                self.books[key] = D("0.00")

    @initialize(bills=st.lists(st.tuples(st.sampled_from(DEBTORS), faces, rates, st.integers(2, 40)), min_size=1,
                               max_size=3))
    def listed_bills(self, bills: list[tuple[str, Decimal, str, int]]) -> None:
        for debtor, face, rate, days in bills:
            bill = self.new_bill("supplier", debtor, face, days)
            with self.now():
                services.bill_list(bill_id=bill.pk, actor=self.world.user("supplier"), rate=rate)

    def new_bill(self, supplier: str, debtor: str, face: Decimal, days: int) -> Bill:
        with self.now():
            invoice = make_invoice(self.org[supplier], self.org[debtor], total=str(face))
            bill = services.bill_create(
                actor=self.world.user(supplier), maturity_date=(self.today() + dt.timedelta(days=days)).isoformat(),
                invoice_allocations=[{"invoice": str(invoice.pk), "amount": str(face)}],
            )
            services.bill_submit(bill_id=bill.pk, actor=self.world.user(supplier))
            services.bill_accept(bill_id=bill.pk, actor=self.world.user(debtor))
        self.bills.append(bill.pk)
        return bill

    @rule(key=st.sampled_from(TRADERS), amount=cents)
    def deposit(self, key: str, amount: Decimal) -> None:
        deposit_record(organization=self.org[key], amount=str(amount), currency="CNY", actor=None,
                       reference=f"HYP-D-{next(_refs)}", reason="stateful test")
        self.books[key] += amount
        self.in_system += amount

    @rule(key=st.sampled_from(TRADERS), amount=st.one_of(st.just("all"), cents))
    def withdraw(self, key: str, amount: object) -> None:
        value = self.books[key] if amount == "all" else amount
        assert isinstance(value, Decimal)
        if value == 0:
            value = CENT
        done = self.attempt(
            lambda: withdrawal_record(organization=self.org[key], amount=str(value), currency="CNY", actor=None,
                                      reference=f"HYP-W-{next(_refs)}", reason="stateful test"),
            expected=value <= self.books[key],
        )
        if done is not None:
            self.books[key] -= value
            self.in_system -= value

    @rule(supplier=st.sampled_from(SUPPLIERS), debtor=st.sampled_from(DEBTORS), face=faces, days=st.integers(1, 45))
    def create(self, supplier: str, debtor: str, face: Decimal, days: int) -> None:
        self.new_bill(supplier, debtor, face, days)

    @rule(index=picks, aim=aims, rate=rates)
    def list_bill(self, index: int, aim: bool, rate: str) -> None:
        bill = self.pick(index, aim, BillState.ACCEPTED)
        expected = bill.state == BillState.ACCEPTED and self.today() < bill.maturity_date
        self.attempt(lambda: services.bill_list(bill_id=bill.pk, actor=self.user(bill.holder_id), rate=rate),
                     expected)

    @rule(index=picks, aim=aims, financier=st.sampled_from(FINANCIERS))
    def buy(self, index: int, aim: bool, financier: str) -> None:
        bill = self.pick(index, aim, BillState.LISTED)
        days = (bill.maturity_date - self.today()).days
        price = price_of(bill.face, bill.asking_rate, days) if bill.asking_rate is not None else None
        expected = (bill.state == BillState.LISTED and days >= 1 and bill.holder_id != self.org[financier].pk
                    and price is not None and price <= self.books[financier])
        purchase = self.attempt(lambda: services.bill_buy(bill_id=bill.pk, actor=self.world.user(financier)),
                                expected)
        if isinstance(purchase, BillPurchase):
            assert price is not None and (purchase.price, purchase.days) == (price, days)
            self.pay(financier, self.username[bill.holder_id], price)

    @rule(index=picks, aim=aims, financier=st.sampled_from(FINANCIERS), rate=rates,
          hours=st.integers(1, 100))
    def offer(self, index: int, aim: bool, financier: str, rate: str, hours: int) -> None:
        bill = self.pick(index, aim, BillState.LISTED)
        # Half an hour past the hour: an expiry never coincides with a step's moment (whole days apart).
        expires = START + dt.timedelta(days=self.day, hours=hours, minutes=30)
        expected = bill.state == BillState.LISTED and self.today() < bill.maturity_date
        made = self.attempt(lambda: services.offer_make(bill_id=bill.pk, actor=self.world.user(financier),
                                                        rate=rate, expires_at=expires.isoformat()), expected)
        if isinstance(made, BillOffer):
            self.offers.append(made.pk)

    @precondition(lambda self: self.offers)
    @rule(index=picks, aim=aims)
    def accept_offer(self, index: int, aim: bool) -> None:
        offers = BillOffer.objects.filter(pk__in=self.offers).select_related("bill", "financier").order_by("pk")
        candidates = (list(offers.filter(status=OfferStatus.OPEN)) if aim else []) or list(offers)
        offer = candidates[index % len(candidates)]
        bill = offer.bill
        days = (bill.maturity_date - self.today()).days
        price = price_of(bill.face, offer.rate, days)
        financier = self.username[offer.financier_id]
        moment = START + dt.timedelta(days=self.day)
        expected = (offer.status == OfferStatus.OPEN and offer.holder_seq == bill.holder_seq
                    and bill.state == BillState.LISTED and days >= 1 and moment < offer.expires_at
                    and price <= self.books[financier])
        purchase = self.attempt(lambda: services.offer_accept(offer_id=offer.pk, actor=self.user(bill.holder_id)),
                                expected)
        if isinstance(purchase, BillPurchase):
            assert (purchase.price, purchase.rate, purchase.offer_id) == (price, offer.rate, offer.pk)
            assert not BillOffer.objects.filter(bill=bill, status=OfferStatus.OPEN).exists()  # the others lapsed
            self.pay(financier, self.username[bill.holder_id], price)

    @precondition(lambda self: self.offers)
    @rule(index=picks)
    def withdraw_offer(self, index: int) -> None:
        offer = BillOffer.objects.get(pk=self.offers[index % len(self.offers)])
        self.attempt(lambda: services.offer_withdraw(offer_id=offer.pk, actor=self.user(offer.financier_id)),
                     expected=offer.status == OfferStatus.OPEN)

    @rule(index=picks, aim=aims)
    def settle(self, index: int, aim: bool) -> None:
        """The debtor pays, on time or late (or is refused: before maturity, or short of cash)."""
        bill = self.pick(index, aim, *SETTLEABLE, due=True)
        debtor = self.username[bill.debtor_id]
        late = (self.today() - bill.maturity_date).days
        expected = bill.state in SETTLEABLE and late >= 0 and bill.face <= self.books[debtor]
        done = self.attempt(lambda: services.bill_settle(bill_id=bill.pk, actor=self.world.user(debtor)), expected)
        if done is not None:
            settlement = BillSettlement.objects.get(bill=bill)
            assert (settlement.kind, settlement.days_late) == (("late", late) if late else ("at_maturity", 0))
            self.pay(debtor, self.username[bill.holder_id], bill.face)

    @rule(index=picks, aim=aims)
    def request_early_settlement(self, index: int, aim: bool) -> None:
        bill = self.pick(index, aim, *HELD_OPEN)
        asked = EarlySettlementRequest.objects.filter(bill=bill, holder_seq=bill.holder_seq).exists()
        expected = bill.state in HELD_OPEN and self.today() < bill.maturity_date and not asked
        self.attempt(lambda: services.bill_request_early_settlement(bill_id=bill.pk, actor=self.user(bill.debtor_id)),
                     expected)

    @rule(index=picks, aim=aims)
    def accept_early_settlement(self, index: int, aim: bool) -> None:
        bill = self.pick(index, aim, *HELD_OPEN, early_settlement_requests__holder_seq=F("holder_seq"),
                         early_settlement_requests__settled_at__isnull=True)
        debtor = self.username[bill.debtor_id]
        pending = EarlySettlementRequest.objects.filter(bill=bill, holder_seq=bill.holder_seq,
                                                        settled_at__isnull=True).exists()
        expected = (bill.state in HELD_OPEN and self.today() < bill.maturity_date and pending
                    and bill.face <= self.books[debtor])
        done = self.attempt(lambda: services.bill_accept_early_settlement(bill_id=bill.pk,
                                                                          actor=self.user(bill.holder_id)), expected)
        if done is not None:
            settlement = BillSettlement.objects.get(bill=bill)
            assert (settlement.kind, settlement.face, settlement.days_late) == ("early", bill.face, 0)
            self.pay(debtor, self.username[bill.holder_id], bill.face)

    @rule(days=st.integers(1, 20))
    def advance(self, days: int) -> None:
        """The clock moves forward; the day's sweep has not run yet (a debtor may settle on time by hand)."""
        self.day += days

    @rule(days=st.integers(0, 20))
    def advance_and_sweep(self, days: int) -> None:
        """The clock moves forward and the daily sweep runs: bills that matured meanwhile are paid from their
        debtors' cash where it covers the face (late, if they matured before today), the others go overdue."""
        self.day += days
        today = self.today()
        already = set(BillSettlement.objects.values_list("bill_id", flat=True))
        due = {b.pk: b for b in Bill.objects.filter(pk__in=self.bills, state__in=HELD_OPEN, maturity_date__lte=today)}
        with self.now():
            services.bills_mark_overdue_and_default()
        for settlement in BillSettlement.objects.exclude(bill_id__in=already).select_related("bill"):
            bill = due.pop(settlement.bill_id)  # only a bill due and held open is settled by the sweep
            late = (today - bill.maturity_date).days
            assert (settlement.kind, settlement.days_late) == (("late", late) if late else ("automatic", 0))
            assert (settlement.payer_id, settlement.payee_id, settlement.face) == (
                bill.debtor_id, bill.holder_id, bill.face)
            self.pay(self.username[bill.debtor_id], self.username[bill.holder_id], bill.face)
        for bill in Bill.objects.filter(pk__in=due):  # not paid: the debtor's cash does not cover the face
            assert self.books[self.username[bill.debtor_id]] < bill.face, bill.number
            if bill.maturity_date < today:
                assert bill.state in (BillState.OVERDUE, BillState.DEFAULTED), bill.number
            else:
                assert bill.state == due[bill.pk].state, bill.number

    # -- invariants ---------------------------------------------------------------------------------------

    @invariant()
    def the_books_balance(self) -> None:
        cash = dict(with_balances(Account.objects.filter(kind=AccountKind.CASH)).values_list("organization_id",
                                                                                              "balance"))
        assert {key: cash.get(self.org[key].pk, D("0.00")) for key in TRADERS} == self.books
        assert all(balance >= 0 for balance in cash.values()), cash
        unbalanced = Posting.objects.order_by().values("entry_id").annotate(t=Sum("amount")).exclude(t=0)
        assert not unbalanced.exists(), list(unbalanced)
        clearing = Posting.objects.filter(account__kind=AccountKind.BANK_CLEARING).aggregate(t=Sum("amount"))["t"]
        assert sum(cash.values(), D("0.00")) == self.in_system == -(clearing or D("0.00"))
        assert ledger_problems() == []


def test_money_flows_keep_the_books(db):
    MoneyMachine.world = build_world()
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(max_examples=8, stateful_step_count=30, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )
