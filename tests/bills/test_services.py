"""Every transition of the bill state machine through its service: the allowed ones, and the refused ones
(wrong state, wrong actor, foreign organization, KYC-suspended actor, after maturity, bad input)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from bills import clock, services
from bills.errors import (
    BillActionNotPermitted,
    BillInvalid,
    BillNotFound,
    BillTransitionRefused,
    InvoiceOverAllocated,
)
from bills.events import bill_chain_verify
from bills.models import Bill, BillAllocation, BillEvent, BillParticipant, BillPurchase, BillState
from bills.selectors import bills_visible_to, invoice_allocated
from bills.tasks import mark_overdue
from chain_adapter.models import AnchorRecord
from finance_portal.errors import DomainError, InvalidInput
from finance_portal.ledger.errors import InsufficientFunds
from finance_portal.organizations.errors import KycNotApproved
from finance_portal.organizations.services import organization_set_kyc
from invoices.models import InvoiceStatus
from tests.bills.factories import (
    accepted,
    cash,
    draft,
    drain,
    financed,
    fund,
    in_days,
    listed,
    make_invoice,
    past,
    pending,
    refresh,
    submitted,
)

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return (
        Bill.objects.count(),
        BillEvent.objects.count(),
        AnchorRecord.objects.count(),
        BillAllocation.objects.count(),
        BillParticipant.objects.count(),
        BillPurchase.objects.count(),
    )


def states(bill: Bill) -> list[tuple[str, str]]:
    return list(BillEvent.objects.filter(bill=bill).order_by("seq").values_list("type", "to_state"))


def sound(*bills: Bill) -> None:
    for bill in bills:
        assert bill_chain_verify(bill) == []


def roles(bill: Bill) -> set[tuple[str, str]]:
    return set(BillParticipant.objects.filter(bill=bill).values_list("organization__credit_code", "role"))


# ---------------------------------------------------------------------------------------------------------
# Allowed transitions
# ---------------------------------------------------------------------------------------------------------


def test_create_drafts_a_bill_owed_by_the_invoices_buyer(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="12000.00")
    bill = services.bill_create(
        actor=world.user("supplier"),
        invoice_allocations=[{"invoice": str(invoice.pk), "amount": "10000.00"}],
        maturity_date=in_days(90).isoformat(),
        reference="PO-1",
    )
    bill = refresh(bill)
    assert bill.state == BillState.DRAFT
    assert (bill.creditor, bill.debtor, bill.holder) == (world.org("supplier"), world.org("buyer"), world.org("supplier"))
    assert bill.face == Decimal("10000.00") and bill.currency == "CNY"
    assert re.fullmatch(rf"BL-{clock.now().year}-\d{{6}}", bill.number)
    assert invoice_allocated(invoice.pk) == Decimal("10000.00")
    event = bill.events.get()
    assert (event.seq, event.type, event.from_state, event.to_state) == (1, "create", "", "draft")
    assert event.actor == world.org("supplier") and event.actor_user == world.user("supplier")
    assert event.anchor.key == bill.bill_key and event.anchor.event_hash == event.hash
    assert roles(bill) == {
        (world.org("supplier").credit_code, "creditor"),
        (world.org("supplier").credit_code, "holder"),
        (world.org("buyer").credit_code, "debtor"),
    }
    sound(bill)


def test_bill_numbers_are_unique_and_sequential(world):
    first, second = draft(world), draft(world)
    n1, n2 = int(first.number.rsplit("-", 1)[1]), int(second.number.rsplit("-", 1)[1])
    assert n2 == n1 + 1


def test_submit_accept(world):
    bill = submitted(world)
    assert bill.state == BillState.SUBMITTED
    bill = services.bill_accept(bill_id=bill.pk, actor=world.user("buyer"))
    assert refresh(bill).state == BillState.ACCEPTED
    assert [t for t, _ in states(bill)] == ["create", "submit", "accept"]
    sound(bill)


def test_reject_needs_a_reason_and_releases_the_invoice(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="5000.00")
    bill = submitted(world, "5000.00", invoice=invoice)
    with pytest.raises(BillInvalid) as err:
        services.bill_reject(bill_id=bill.pk, actor=world.user("buyer"), reason=" ")
    assert err.value.field == "reason"
    services.bill_reject(bill_id=bill.pk, actor=world.user("buyer"), reason="Goods not delivered")
    assert refresh(bill).state == BillState.REJECTED
    assert invoice_allocated(invoice.pk) == 0
    assert draft(world, "5000.00", invoice=invoice).state == BillState.DRAFT
    assert BillEvent.objects.get(bill=bill, seq=3).details["reason"] == "Goods not delivered"


@pytest.mark.parametrize("make", [draft, submitted])
def test_cancel_a_draft_or_submitted_bill(world, make):
    bill = make(world)
    services.bill_cancel(bill_id=bill.pk, actor=world.user("supplier"), reason="Wrong amount")
    assert refresh(bill).state == BillState.CANCELLED
    sound(bill)


def test_issue_then_receive(world):
    bill = services.bill_issue(
        actor=world.user("buyer"), to=world.org("supplier").credit_code, face="8000.00",
        maturity_date=in_days(120).isoformat(),
    )
    bill = refresh(bill)
    assert bill.state == BillState.PENDING_RECEIPT
    assert (bill.debtor, bill.creditor, bill.pending_holder) == (world.org("buyer"), world.org("supplier"), world.org("supplier"))
    services.bill_receive(bill_id=bill.pk, actor=world.user("supplier"))
    bill = refresh(bill)
    assert (bill.state, bill.holder, bill.pending_holder) == (BillState.ACCEPTED, world.org("supplier"), None)
    sound(bill)


def test_issue_with_invoice_allocations(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="8000.00")
    bill = services.bill_issue(
        actor=world.user("buyer"), to=world.org("supplier").credit_code, face="8000.00",
        maturity_date=in_days(120).isoformat(), invoice_allocations=[{"invoice": str(invoice.pk), "amount": "8000.00"}],
    )
    assert invoice_allocated(invoice.pk) == Decimal("8000.00")
    services.bill_refuse(bill_id=bill.pk, actor=world.user("supplier"), reason="Not ours")
    assert refresh(bill).state == BillState.REJECTED
    assert invoice_allocated(invoice.pk) == 0
    sound(bill)


def test_transfer_receive_moves_the_holder_and_keeps_the_past_holder_in_view(world):
    bill = pending(world)
    assert refresh(bill).pending_holder == world.org("supplier2")
    assert bills_visible_to(world.user("supplier2")).filter(pk=bill.pk).exists()
    services.bill_receive(bill_id=bill.pk, actor=world.user("supplier2"))
    bill = refresh(bill)
    assert (bill.state, bill.holder, bill.holder_seq) == (BillState.ACCEPTED, world.org("supplier2"), 2)
    assert (world.org("supplier").credit_code, "past_holder") in roles(bill)
    assert bills_visible_to(world.user("supplier")).filter(pk=bill.pk).exists()
    sound(bill)


def test_refuse_returns_the_bill_to_its_holder_in_its_state(world):
    bill = financed(world)
    services.bill_transfer(bill_id=bill.pk, actor=world.user("financier"), to=world.org("financier2").credit_code)
    services.bill_refuse(bill_id=bill.pk, actor=world.user("financier2"), reason="No appetite")
    bill = refresh(bill)
    assert (bill.state, bill.holder, bill.pending_holder) == (BillState.FINANCED, world.org("financier"), None)
    assert not bills_visible_to(world.user("financier2")).filter(pk=bill.pk).exists()
    sound(bill)


def test_a_financed_bill_received_by_a_new_holder_can_be_financed_again(world):
    bill = financed(world)
    services.bill_transfer(bill_id=bill.pk, actor=world.user("financier"), to=world.org("supplier2").credit_code)
    services.bill_receive(bill_id=bill.pk, actor=world.user("supplier2"))
    assert refresh(bill).state == BillState.ACCEPTED
    services.bill_list(bill_id=bill.pk, actor=world.user("supplier2"), rate="0.05")
    purchase = services.bill_buy(bill_id=bill.pk, actor=world.user("financier2"))
    assert purchase.seller == world.org("supplier2")
    assert BillPurchase.objects.filter(bill=bill).count() == 2
    sound(bill)


def test_a_financier_cannot_finance_the_same_holder_generation_twice_in_the_database(world):
    bill = financed(world)
    first = BillPurchase.objects.get(bill=bill)
    with pytest.raises(IntegrityError), transaction.atomic():
        BillPurchase.objects.create(
            bill=bill, holder_seq=first.holder_seq, seller=first.seller, buyer=world.org("financier2"),
            face=first.face, currency="CNY", rate=first.rate, days=first.days, interest=first.interest,
            price=first.price, purchased_at=first.purchased_at, event=BillEvent.objects.get(bill=bill, seq=1),
        )


def test_split_makes_children_that_sum_to_the_face(world):
    bill = accepted(world, "10000.00")
    services.bill_split(
        bill_id=bill.pk, actor=world.user("supplier"), parts=[{"face": "2500.00"}, {"face": "7500.00"}]
    )
    bill = refresh(bill)
    assert bill.state == BillState.SPLIT
    children = list(bill.children.order_by("face"))
    assert [c.face for c in children] == [Decimal("2500.00"), Decimal("7500.00")]
    split_event = bill.events.get(type="split")
    for child in children:
        assert (child.state, child.holder, child.debtor, child.maturity_date, child.currency, child.root) == (
            BillState.ACCEPTED, bill.holder, bill.debtor, bill.maturity_date, bill.currency, bill
        )
        first = child.events.get(seq=1)
        assert first.type == "split_from"
        assert first.details["parent"] == str(bill.pk) and first.details["parent_event"] == split_event.hash
        assert child.allocations.count() == 0
    assert {c["bill"] for c in split_event.details["children"]} == {str(c.pk) for c in children}
    sound(bill, *children)


def test_split_transfer_offers_one_part_at_once(world):
    bill = accepted(world, "10000.00")
    services.bill_split(
        bill_id=bill.pk,
        actor=world.user("supplier"),
        parts=[{"face": "4000.00", "transfer_to": world.org("supplier2").credit_code}, {"face": "6000.00"}],
    )
    moved = Bill.objects.get(parent=bill, face=Decimal("4000.00"))
    kept = Bill.objects.get(parent=bill, face=Decimal("6000.00"))
    assert (moved.state, moved.pending_holder) == (BillState.PENDING_RECEIPT, world.org("supplier2"))
    assert kept.state == BillState.ACCEPTED
    services.bill_receive(bill_id=moved.pk, actor=world.user("supplier2"))
    assert refresh(moved).holder == world.org("supplier2")
    assert not bills_visible_to(world.user("supplier2")).filter(pk=kept.pk).exists()
    sound(bill, moved, kept)


def test_a_part_of_a_part_keeps_the_first_root(world):
    bill = accepted(world, "9000.00")
    services.bill_split(bill_id=bill.pk, actor=world.user("supplier"), parts=[{"face": "3000.00"}, {"face": "6000.00"}])
    part = Bill.objects.get(parent=bill, face=Decimal("6000.00"))
    services.bill_split(bill_id=part.pk, actor=world.user("supplier"), parts=[{"face": "1000.00"}, {"face": "5000.00"}])
    grandchild = Bill.objects.get(parent=part, face=Decimal("1000.00"))
    assert grandchild.root == bill and grandchild.allocation_root_id == bill.pk


def test_split_of_a_financed_bill_gives_financed_parts(world):
    bill = financed(world, "10000.00")
    services.bill_split(bill_id=bill.pk, actor=world.user("financier"), parts=[{"face": "100.00"}, {"face": "9900.00"}])
    assert set(Bill.objects.filter(parent=bill).values_list("state", flat=True)) == {BillState.FINANCED}


def test_list_and_unlist(world):
    bill = listed(world, rate="0.045")
    assert (refresh(bill).state, refresh(bill).asking_rate) == (BillState.LISTED, Decimal("0.045000"))
    services.bill_unlist(bill_id=bill.pk, actor=world.user("supplier"))
    assert (refresh(bill).state, refresh(bill).asking_rate) == (BillState.ACCEPTED, None)
    assert BillEvent.objects.get(bill=bill, type="list").details["rate"] == "0.045000"
    sound(bill)


def test_buy_prices_with_the_discount_formula(world):
    bill = listed(world, "10000.00", rate="0.036", days=90)
    purchase = services.bill_buy(bill_id=bill.pk, actor=world.user("financier"), rate="0.036")
    assert (purchase.days, purchase.basis, purchase.interest, purchase.price) == (90, 360, Decimal("90.00"), Decimal("9910.00"))
    bill = refresh(bill)
    assert (bill.state, bill.holder, bill.asking_rate) == (BillState.FINANCED, world.org("financier"), None)
    event = purchase.event
    assert event.amounts == {"face": "10000.00", "price": "9910.00", "interest": "90.00"}
    assert event.details["rate"] == "0.036000" and event.details["days"] == 90 and event.details["basis"] == 360
    assert (world.org("supplier").credit_code, "past_holder") in roles(bill)
    sound(bill)


def test_buy_with_the_same_idempotency_key_has_one_effect(world):
    bill = listed(world)
    first = services.bill_buy(bill_id=bill.pk, actor=world.user("financier"), idempotency_key="k-1")
    again = services.bill_buy(bill_id=bill.pk, actor=world.user("financier"), idempotency_key="k-1")
    assert again.pk == first.pk
    assert BillEvent.objects.filter(bill=bill).count() == 5
    other = listed(world)
    before = counts()
    with pytest.raises(BillInvalid) as err:
        services.bill_buy(bill_id=other.pk, actor=world.user("financier"), idempotency_key="k-1")
    assert err.value.field == "idempotency_key"
    assert counts() == before


def test_buy_refuses_a_changed_rate(world):
    bill = listed(world, rate="0.04")
    with pytest.raises(BillTransitionRefused) as err:
        services.bill_buy(bill_id=bill.pk, actor=world.user("financier"), rate="0.036")
    assert err.value.code == "rate_changed"


def test_buy_runs_the_purchase_policies(world, settings):
    settings.BILL_PURCHASE_POLICIES = ["tests.bills.test_services.refuse_everything"]
    bill = listed(world)
    with pytest.raises(InvalidInput, match="over its limit"):
        services.bill_buy(bill_id=bill.pk, actor=world.user("financier"))
    assert refresh(bill).state == BillState.LISTED


def refuse_everything(*, bill, buyer, price):  # a purchase policy for the test above
    raise InvalidInput(f"{buyer} is over its limit for {price}")


@pytest.mark.parametrize("make", [accepted, listed, financed])
def test_settle_on_the_maturity_date_pays_the_holder_the_face(world, make):
    bill = make(world, days=30)
    holder = refresh(bill).holder
    debtor_before, holder_before = cash(world.org("buyer")), cash(holder)
    with past(30):
        services.bill_settle(bill_id=bill.pk, actor=world.user("buyer"))
    bill = refresh(bill)
    assert bill.state == BillState.SETTLED
    event = BillEvent.objects.get(bill=bill, type="settle")
    assert event.details["payee"] == holder.credit_code and event.details["days_late"] == 0
    assert (bill.settlement.kind, bill.settlement.entry_id) == ("at_maturity", event.details["entry"])
    assert cash(world.org("buyer")) == debtor_before - Decimal("10000.00")
    assert cash(holder) == holder_before + Decimal("10000.00")
    sound(bill)


@pytest.mark.parametrize("make", [accepted, listed, financed])
def test_settle_before_maturity_without_the_holders_consent_is_refused(world, make):
    bill = make(world, days=30)
    before = counts()
    with past(29), pytest.raises(BillTransitionRefused) as err:
        services.bill_settle(bill_id=bill.pk, actor=world.user("buyer"))
    assert err.value.code == "not_due" and counts() == before


def test_early_settlement_needs_the_debtors_request_and_the_holders_consent(world):
    bill = financed(world, days=60)
    financier = world.user("financier")
    with pytest.raises(BillTransitionRefused) as err:
        services.bill_accept_early_settlement(bill_id=bill.pk, actor=financier)
    assert err.value.code == "no_request"
    services.bill_request_early_settlement(bill_id=bill.pk, actor=world.user("buyer"), reason="cash to spare")
    with pytest.raises(BillTransitionRefused) as err:
        services.bill_request_early_settlement(bill_id=bill.pk, actor=world.user("buyer"))
    assert err.value.code == "already_requested"
    with pytest.raises(BillActionNotPermitted):
        services.bill_accept_early_settlement(bill_id=bill.pk, actor=world.user("buyer"))
    before = cash(world.org("financier"))
    services.bill_accept_early_settlement(bill_id=bill.pk, actor=financier)
    bill = refresh(bill)
    assert bill.state == BillState.SETTLED and bill.settlement.kind == "early"
    assert cash(world.org("financier")) == before + Decimal("10000.00")  # priced at face
    sound(bill)


def test_a_debtor_without_the_cash_cannot_settle_and_nothing_moves(world):
    bill = accepted(world, days=30)
    drain(world.org("buyer"))
    before = counts()
    with past(30), pytest.raises(InsufficientFunds):
        services.bill_settle(bill_id=bill.pk, actor=world.user("buyer"))
    assert counts() == before and refresh(bill).state == BillState.ACCEPTED


def test_at_maturity_the_sweep_settles_from_the_debtors_cash_where_it_covers_the_face(world):
    covered = accepted(world, days=30)
    uncovered = accepted(world, "20000.00", days=30)
    drain(world.org("buyer"))
    fund(world.org("buyer"), amount="15000.00")
    with past(30):
        counts_ = services.bills_mark_overdue_and_default()
    assert counts_ == {"lapsed": 0, "settled": 1, "overdue": 0, "defaulted": 0}
    assert refresh(covered).settlement.kind == "automatic"
    assert refresh(uncovered).state == BillState.ACCEPTED and cash(world.org("buyer")) == Decimal("5000.00")
    with past(31):
        assert services.bills_mark_overdue_and_default()["overdue"] == 1
    sound(covered, uncovered)


def test_overdue_default_and_late_settlement(world, settings):
    settings.BILL_GRACE_DAYS = 10
    drain(world.org("buyer"))  # nothing settles by itself at maturity
    late = accepted(world, days=30)
    in_transit = pending(world, days=30)
    on_market = listed(world, days=30)
    paid = accepted(world, days=30)
    later = accepted(world, days=200)
    with past(30):
        fund(world.org("buyer"), amount="10000.00")
        services.bill_settle(bill_id=paid.pk, actor=world.user("buyer"))
        assert services.bills_mark_overdue_and_default() == {"lapsed": 0, "settled": 0, "overdue": 0, "defaulted": 0}
    with past(31):
        assert services.bills_mark_overdue_and_default() == {"lapsed": 0, "settled": 0, "overdue": 3, "defaulted": 0}
        assert refresh(late).state == refresh(in_transit).state == refresh(on_market).state == BillState.OVERDUE
        assert refresh(in_transit).pending_holder is None and refresh(on_market).asking_rate is None
        assert refresh(later).state == BillState.ACCEPTED
        event = BillEvent.objects.get(bill=late, type="overdue")
        assert event.actor.is_platform and event.actor_user is None and event.details["reason"]
    with past(33):
        fund(world.org("buyer"), amount="10000.00")
        services.bill_settle(bill_id=on_market.pk, actor=world.user("buyer"))
        assert (refresh(on_market).settlement.kind, refresh(on_market).settlement.days_late) == ("late", 3)
    with past(40):  # the 10th day after maturity is the last of the grace period
        assert services.bills_mark_overdue_and_default() == {"lapsed": 0, "settled": 0, "overdue": 0, "defaulted": 0}
    with past(41):
        assert services.bills_mark_overdue_and_default() == {"lapsed": 0, "settled": 0, "overdue": 0, "defaulted": 2}
    assert refresh(late).state == BillState.DEFAULTED
    assert refresh(on_market).state == BillState.SETTLED
    sound(late, in_transit, on_market, paid, later)


def test_the_celery_task_and_the_command_run_the_same_sweep(world):
    drain(world.org("buyer"))
    bill = accepted(world, days=10)
    with past(11):
        assert mark_overdue.run() == {"lapsed": 0, "settled": 0, "overdue": 1, "defaulted": 0}
    assert mark_overdue.name == "bills.mark_overdue"
    other = accepted(world, days=10)
    with past(11):
        call_command("bills_mark_overdue")
    assert refresh(bill).state == refresh(other).state == BillState.OVERDUE


def test_overdue_by_staff_and_refused_before_maturity(world):
    bill = accepted(world, days=10)
    with pytest.raises(BillTransitionRefused) as err:
        services.bill_mark_overdue(bill_id=bill.pk, actor=world.user("admin"))
    assert err.value.code == "not_due"
    with pytest.raises(BillActionNotPermitted):
        services.bill_mark_overdue(bill_id=bill.pk, actor=world.user("buyer"))
    with past(11):
        services.bill_mark_overdue(bill_id=bill.pk, actor=world.user("admin"), reason="Checked with the bank")
        with pytest.raises(BillTransitionRefused) as err:
            services.bill_mark_defaulted(bill_id=bill.pk, actor=world.user("admin"))
        assert err.value.code == "in_grace"


@pytest.mark.parametrize("make", [accepted, listed, pending, financed, submitted])
def test_freeze_and_unfreeze_return_to_the_state(world, make):
    bill = make(world)
    before = refresh(bill).state
    services.bill_freeze(bill_id=bill.pk, actor=world.user("admin"), reason="Court order 2026-17")
    assert refresh(bill).state == BillState.FROZEN
    services.bill_unfreeze(bill_id=bill.pk, actor=world.user("admin"), reason="Order lifted")
    assert refresh(bill).state == before
    sound(bill)


def test_a_frozen_bill_does_not_move(world):
    bill = accepted(world)
    services.bill_freeze(bill_id=bill.pk, actor=world.user("admin"), reason="Dispute")
    for call in (
        lambda: services.bill_transfer(bill_id=bill.pk, actor=world.user("supplier"), to=world.org("supplier2").credit_code),
        lambda: services.bill_list(bill_id=bill.pk, actor=world.user("supplier"), rate="0.03"),
        lambda: services.bill_settle(bill_id=bill.pk, actor=world.user("buyer")),
    ):
        with pytest.raises(BillTransitionRefused):
            call()


# ---------------------------------------------------------------------------------------------------------
# Refused: wrong state
# ---------------------------------------------------------------------------------------------------------

WRONG_STATE = [
    ("submit", submitted, "supplier", {}),
    ("accept", draft, "buyer", {}),
    ("accept", accepted, "buyer", {}),
    ("reject", accepted, "buyer", {"reason": "late"}),
    ("cancel", accepted, "supplier", {}),
    ("transfer", submitted, "supplier", {"to": "supplier2"}),
    ("transfer", listed, "supplier", {"to": "supplier2"}),
    ("receive", accepted, "supplier", {}),
    ("split", listed, "supplier", {"parts": [{"face": "5000.00"}, {"face": "5000.00"}]}),
    ("list", listed, "supplier", {"rate": "0.03"}),
    ("list", draft, "supplier", {"rate": "0.03"}),
    ("unlist", accepted, "supplier", {}),
    ("settle", submitted, "buyer", {}),
    ("settle", pending, "buyer", {}),
]


def call(action, world, bill, user, kwargs):  # type: ignore[no-untyped-def]
    kwargs = dict(kwargs)
    if "to" in kwargs:
        kwargs["to"] = world.org(kwargs["to"]).credit_code
    fn = getattr(services, f"bill_{action}")
    return fn(bill_id=bill.pk, actor=world.user(user), **kwargs)


@pytest.mark.parametrize(("action", "make", "user", "kwargs"), WRONG_STATE)
def test_wrong_state_is_a_409_that_names_the_rule(world, action, make, user, kwargs):
    bill = make(world)
    before = counts()
    with pytest.raises(BillTransitionRefused) as err:
        call(action, world, bill, user, kwargs)
    assert err.value.http_status == 409 and err.value.code == "wrong_state"
    assert "only a bill that is" in err.value.message
    assert counts() == before


def test_buy_of_an_accepted_bill_is_refused(world):
    bill = accepted(world)
    services.bill_transfer(bill_id=bill.pk, actor=world.user("supplier"), to=world.org("financier").credit_code)
    services.bill_receive(bill_id=bill.pk, actor=world.user("financier"))
    with pytest.raises(BillTransitionRefused):  # the financier sees it, but it is not listed
        services.bill_buy(bill_id=bill.pk, actor=world.user("financier"))


def test_freeze_of_a_settled_bill_and_unfreeze_of_a_live_one_are_refused(world):
    bill = accepted(world)
    with pytest.raises(BillTransitionRefused):
        services.bill_unfreeze(bill_id=bill.pk, actor=world.user("admin"), reason="x")
    with past(90):
        services.bill_settle(bill_id=bill.pk, actor=world.user("buyer"))
    with pytest.raises(BillTransitionRefused):
        services.bill_freeze(bill_id=bill.pk, actor=world.user("admin"), reason="x")


def test_a_second_identical_call_is_refused_not_repeated(world):
    bill = submitted(world)
    services.bill_accept(bill_id=bill.pk, actor=world.user("buyer"))
    with pytest.raises(BillTransitionRefused):
        services.bill_accept(bill_id=bill.pk, actor=world.user("buyer"))
    assert BillEvent.objects.filter(bill=bill, type="accept").count() == 1


# ---------------------------------------------------------------------------------------------------------
# Refused: wrong actor (a party of the bill, but not the one who acts) and oversight roles
# ---------------------------------------------------------------------------------------------------------

WRONG_ACTOR = [
    ("submit", draft, "buyer", {}),
    ("accept", submitted, "supplier", {}),
    ("reject", submitted, "supplier", {"reason": "no"}),
    ("cancel", submitted, "buyer", {}),
    ("transfer", accepted, "buyer", {"to": "supplier2"}),
    ("receive", pending, "supplier", {}),
    ("refuse", pending, "supplier", {}),
    ("split", accepted, "buyer", {"parts": [{"face": "5000.00"}, {"face": "5000.00"}]}),
    ("list", accepted, "buyer", {"rate": "0.03"}),
    ("unlist", listed, "buyer", {}),
    ("buy", listed, "buyer", {}),
    ("settle", accepted, "supplier", {}),
    ("freeze", accepted, "supplier", {"reason": "x"}),
    ("unfreeze", accepted, "buyer", {"reason": "x"}),
    ("transfer", financed, "supplier", {"to": "supplier2"}),
]


@pytest.mark.parametrize(("action", "make", "user", "kwargs"), WRONG_ACTOR)
def test_wrong_actor_is_a_403(world, action, make, user, kwargs):
    bill = make(world)
    before = counts()
    with pytest.raises(BillActionNotPermitted) as err:
        call(action, world, bill, user, kwargs)
    assert err.value.http_status == 403
    assert counts() == before


@pytest.mark.parametrize("user", ["regulator", "admin"])
@pytest.mark.parametrize(
    ("action", "make", "kwargs"),
    [("submit", draft, {}), ("accept", submitted, {}), ("transfer", accepted, {"to": "supplier2"}),
     ("settle", accepted, {}), ("buy", listed, {}), ("list", accepted, {"rate": "0.03"})],
)
def test_regulators_and_platform_staff_read_only(world, user, action, make, kwargs):
    bill = make(world)
    before = counts()
    with pytest.raises(BillActionNotPermitted):
        call(action, world, bill, user, kwargs)
    assert counts() == before


def test_only_platform_staff_freeze(world):
    bill = accepted(world)
    for user in ("regulator", "buyer", "supplier", "financier"):
        with pytest.raises((BillActionNotPermitted, BillNotFound)):
            services.bill_freeze(bill_id=bill.pk, actor=world.user(user), reason="x")
    assert refresh(bill).state == BillState.ACCEPTED


def test_suppliers_create_and_core_enterprises_issue(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"))
    with pytest.raises(BillActionNotPermitted):
        services.bill_create(
            actor=world.user("financier"), invoice_allocations=[{"invoice": str(invoice.pk), "amount": "1.00"}],
            maturity_date=in_days(30).isoformat(),
        )
    with pytest.raises(BillActionNotPermitted):
        services.bill_issue(actor=world.user("supplier"), to=world.org("supplier2").credit_code, face="1.00",
                            maturity_date=in_days(30).isoformat())


# ---------------------------------------------------------------------------------------------------------
# Refused: foreign organization (404, whatever the action)
# ---------------------------------------------------------------------------------------------------------

def pending_to_financier(world, **kw):  # type: ignore[no-untyped-def]
    return pending(world, to="financier", **kw)


FOREIGN = [
    ("submit", draft, {}),
    ("accept", submitted, {}),
    ("reject", submitted, {"reason": "x"}),
    ("cancel", draft, {}),
    ("transfer", accepted, {"to": "financier"}),
    ("receive", pending_to_financier, {}),
    ("refuse", pending_to_financier, {}),
    ("split", accepted, {"parts": [{"face": "5000.00"}, {"face": "5000.00"}]}),
    ("list", accepted, {"rate": "0.03"}),
    ("unlist", listed, {}),
    ("settle", accepted, {}),
    ("buy", accepted, {}),
]


@pytest.mark.parametrize("user", ["supplier2", "buyer2", "financier2"])
@pytest.mark.parametrize(("action", "make", "kwargs"), FOREIGN)
def test_foreign_organizations_get_404(world, user, action, make, kwargs):
    bill = make(world)
    before = counts()
    with pytest.raises(BillNotFound) as err:
        call(action, world, bill, user, kwargs)
    assert err.value.http_status == 404
    assert counts() == before


def test_an_unknown_or_malformed_id_is_404(world):
    for bill_id in ("00000000-0000-0000-0000-000000000000", "nonsense", None):
        with pytest.raises(BillNotFound):
            services.bill_submit(bill_id=bill_id, actor=world.user("supplier"))


# ---------------------------------------------------------------------------------------------------------
# Refused: KYC-suspended actor, and after maturity
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "make", "user", "kwargs"),
    [("submit", draft, "supplier", {}), ("accept", submitted, "buyer", {}),
     ("transfer", accepted, "supplier", {"to": "supplier2"}), ("buy", listed, "financier", {}),
     ("settle", accepted, "buyer", {})],
)
def test_a_kyc_suspended_organization_cannot_act(world, action, make, user, kwargs):
    bill = make(world)
    org = world.user(user).membership.organization
    organization_set_kyc(organization_id=org.pk, status="suspended", actor=None, note="AML review")
    before = counts()
    with pytest.raises(KycNotApproved):
        call(action, world, bill, user, kwargs)
    assert counts() == before


def test_a_kyc_pending_organization_cannot_create(world):
    invoice = make_invoice(world.org("pending"), world.org("buyer"))
    with pytest.raises(KycNotApproved):
        services.bill_create(
            actor=world.user("pending"), invoice_allocations=[{"invoice": str(invoice.pk), "amount": "1.00"}],
            maturity_date=in_days(30).isoformat(),
        )


AFTER_MATURITY = [
    ("submit", draft, "supplier", {}),
    ("accept", submitted, "buyer", {}),
    ("transfer", accepted, "supplier", {"to": "supplier2"}),
    ("receive", pending, "supplier2", {}),
    ("refuse", pending, "supplier2", {}),
    ("split", accepted, "supplier", {"parts": [{"face": "5000.00"}, {"face": "5000.00"}]}),
    ("list", accepted, "supplier", {"rate": "0.03"}),
    ("unlist", listed, "supplier", {}),
    ("buy", listed, "financier", {}),
]


@pytest.mark.parametrize("offset", [0, 5])
@pytest.mark.parametrize(("action", "make", "user", "kwargs"), AFTER_MATURITY)
def test_nothing_moves_on_or_after_maturity(world, action, make, user, kwargs, offset):
    bill = make(world, days=30)
    before = counts()
    with past(30 + offset):
        with pytest.raises(BillTransitionRefused) as err:
            call(action, world, bill, user, kwargs)
    assert err.value.code == "matured"
    assert counts() == before


def test_settlement_still_works_after_maturity(world):
    bill = financed(world, days=30)
    with past(31):
        services.bill_settle(bill_id=bill.pk, actor=world.user("buyer"))
    assert refresh(bill).state == BillState.SETTLED


# ---------------------------------------------------------------------------------------------------------
# Invoice allocations
# ---------------------------------------------------------------------------------------------------------


def test_an_invoice_is_never_allocated_beyond_its_total(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    draft(world, "6000.00", invoice=invoice)
    before = counts()
    with pytest.raises(InvoiceOverAllocated) as err:
        draft(world, "4000.01", invoice=invoice)
    assert err.value.http_status == 409 and "4000.00" in err.value.message
    assert counts() == before
    assert draft(world, "4000.00", invoice=invoice).face == Decimal("4000.00")
    assert invoice_allocated(invoice.pk) == Decimal("10000.00")


def test_split_parts_share_the_roots_allocation(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    bill = accepted(world, "10000.00", invoice=invoice)
    services.bill_split(bill_id=bill.pk, actor=world.user("supplier"), parts=[{"face": "5000.00"}, {"face": "5000.00"}])
    assert invoice_allocated(invoice.pk) == Decimal("10000.00")
    with pytest.raises(InvoiceOverAllocated):
        draft(world, "0.01", invoice=invoice)


def test_the_database_refuses_an_over_allocation(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="100.00")
    draft(world, "100.00", invoice=invoice)
    other = draft(world, "150.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        BillAllocation.objects.create(bill=other, invoice=invoice, amount=Decimal("0.01"))
        with connection.cursor() as cursor:  # the limit is checked at commit (deferred): check it now
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_allocations_combine_several_invoices(world):
    a = make_invoice(world.org("supplier"), world.org("buyer"), total="300.00")
    b = make_invoice(world.org("supplier"), world.org("buyer"), total="700.00")
    bill = services.bill_create(
        actor=world.user("supplier"),
        invoice_allocations=[{"invoice": str(a.pk), "amount": "300.00"}, {"invoice": str(b.pk), "amount": "650.00"}],
        face="950.00",
        maturity_date=in_days(60),
    )
    assert refresh(bill).face == Decimal("950.00")
    assert bill.allocations.count() == 2


# ---------------------------------------------------------------------------------------------------------
# Bad input: each is a 400 naming the field, and nothing is written
# ---------------------------------------------------------------------------------------------------------


def create_kwargs(world, invoice, **over):  # type: ignore[no-untyped-def]
    kwargs = {
        "actor": world.user("supplier"),
        "invoice_allocations": [{"invoice": str(invoice.pk), "amount": "100.00"}],
        "maturity_date": in_days(90).isoformat(),
    }
    kwargs.update(over)
    return kwargs


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"invoice_allocations": [{"invoice": "{inv}", "amount": "-5.00"}]}, "invoice_allocations[0].amount"),
        ({"invoice_allocations": [{"invoice": "{inv}", "amount": "0"}]}, "invoice_allocations[0].amount"),
        ({"invoice_allocations": [{"invoice": "{inv}", "amount": "1.001"}]}, "invoice_allocations[0].amount"),
        ({"invoice_allocations": [{"invoice": "{inv}", "amount": 1.5}]}, "invoice_allocations[0].amount"),
        ({"invoice_allocations": [{"invoice": "{inv}", "amount": "ten"}]}, "invoice_allocations[0].amount"),
        ({"invoice_allocations": [{"invoice": "nope", "amount": "1.00"}]}, "invoice_allocations[0].invoice"),
        ({"invoice_allocations": [{"invoice": "{inv}", "amount": "1.00"}, {"invoice": "{inv}", "amount": "1.00"}]},
         "invoice_allocations[1].invoice"),
        ({"invoice_allocations": []}, "invoice_allocations"),
        ({"invoice_allocations": "x"}, "invoice_allocations"),
        ({"currency": "XXX"}, "currency"),
        ({"currency": "USD"}, "invoice_allocations[0].invoice"),
        ({"face": "99.00"}, "face"),
        ({"maturity_date": "yesterday"}, "maturity_date"),
        ({"maturity_date": "{today}"}, "maturity_date"),
        ({"maturity_date": "{past}"}, "maturity_date"),
        ({"maturity_date": "{far}"}, "maturity_date"),
        ({"reference": "x" * 65}, "reference"),
        ({"reason": "x" * 501}, "reason"),
    ],
)
def test_bad_create_input(world, over, field):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="100.00")
    text = {
        "{inv}": str(invoice.pk),
        "{today}": clock.today().isoformat(),
        "{past}": (clock.today() - dt.timedelta(days=3)).isoformat(),
        "{far}": in_days(366).isoformat(),
    }

    def fill(value):  # type: ignore[no-untyped-def]
        if isinstance(value, str):
            return text.get(value, value)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    before = counts()
    with pytest.raises(DomainError) as err:
        services.bill_create(**create_kwargs(world, invoice, **fill(over)))
    assert err.value.http_status == 400
    assert err.value.field == field
    assert counts() == before


def test_the_tenor_limit_is_inclusive(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="100.00")
    bill = services.bill_create(**create_kwargs(world, invoice, maturity_date=in_days(365).isoformat()))
    assert (bill.maturity_date - bill.issue_date).days == 365


@pytest.mark.parametrize(
    ("seller", "buyer", "status", "field"),
    [
        ("supplier2", "buyer", InvoiceStatus.VERIFIED, "invoice_allocations[0].invoice"),  # not its invoice
        ("supplier", "buyer", InvoiceStatus.DISPUTED, "invoice_allocations[0].invoice"),
        ("supplier", "supplier2", InvoiceStatus.VERIFIED, "invoice_allocations"),  # buyer is no core enterprise
    ],
)
def test_bad_invoices(world, seller, buyer, status, field):
    invoice = make_invoice(world.org(seller), world.org(buyer), total="100.00", status=status)
    before = counts()
    with pytest.raises(BillInvalid) as err:
        services.bill_create(**create_kwargs(world, invoice))
    assert err.value.field == field
    assert counts() == before


def test_invoices_of_two_buyers_cannot_back_one_bill(world):
    a = make_invoice(world.org("supplier"), world.org("buyer"), total="100.00")
    b = make_invoice(world.org("supplier"), world.org("buyer2"), total="100.00")
    with pytest.raises(BillInvalid) as err:
        services.bill_create(**create_kwargs(world, a, invoice_allocations=[
            {"invoice": str(a.pk), "amount": "100.00"}, {"invoice": str(b.pk), "amount": "100.00"}]))
    assert err.value.field == "invoice_allocations"


@pytest.mark.parametrize(
    ("to", "field_part"),
    [("supplier", "self"), ("pending", "not onboarded"), ("regulator", "oversees"), ("buyer", "debtor"),
     ("91440300MA5F0009X", "No organization"), ("", "credit code")],
)
def test_bad_transfer_receivers(world, to, field_part):
    bill = accepted(world)
    code = world.org(to).credit_code if to in world.orgs else to
    before = counts()
    with pytest.raises(BillInvalid) as err:
        services.bill_transfer(bill_id=bill.pk, actor=world.user("supplier"), to=code)
    assert err.value.field == "to"
    assert counts() == before


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        ([{"face": "10000.00"}], "parts"),
        ([{"face": "5000.00"}, {"face": "4999.99"}], "parts"),
        ([{"face": "5000.00"}, {"face": "5000.01"}], "parts"),
        ([{"face": "10000.00"}, {"face": "0"}], "parts[1].face"),
        ([{"face": "10001.00"}, {"face": "-1.00"}], "parts[1].face"),
        ([{"face": "5000.005"}, {"face": "4999.995"}], "parts[0].face"),
        ([{"face": "5000.00"}, {"face": "5000.00", "transfer_to": "nobody"}], "parts[1].transfer_to"),
        ([{"face": "5000.00"}, "5000.00"], "parts[1]"),
        ("10000.00", "parts"),
        ([{"face": "1.00"}] * 10000, "parts"),
    ],
)
def test_bad_split_parts(world, parts, field):
    bill = accepted(world, "10000.00")
    before = counts()
    with pytest.raises(InvalidInput) as err:
        services.bill_split(bill_id=bill.pk, actor=world.user("supplier"), parts=parts)
    assert err.value.field == field
    assert counts() == before


@pytest.mark.parametrize("rate", ["0", "-0.01", "1", "1.5", "0.0000001", "abc", 0.03, None, "NaN"])
def test_bad_asking_rates(world, rate):
    bill = accepted(world)
    with pytest.raises(BillInvalid) as err:
        services.bill_list(bill_id=bill.pk, actor=world.user("supplier"), rate=rate)
    assert err.value.field == "rate"
    assert refresh(bill).state == BillState.ACCEPTED


@pytest.mark.parametrize("over", [{"face": "0"}, {"face": "-1"}, {"currency": "BTC"}, {"to": "financier"}])
def test_bad_issue_input(world, over):
    kwargs = {"actor": world.user("buyer"), "to": world.org("supplier").credit_code, "face": "100.00",
              "maturity_date": in_days(30).isoformat()}
    if "to" in over:
        over = {"to": world.org(over["to"]).credit_code}
    kwargs.update(over)
    before = counts()
    with pytest.raises(InvalidInput):
        services.bill_issue(**kwargs)
    assert counts() == before
