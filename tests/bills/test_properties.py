"""Property test: random sequences of transitions, by random (often the right, sometimes the wrong) actors,
with the clock moving forward, keep the invariants: every bill's hash chain verifies, split children sum to
their parent, no invoice is over-allocated, and a refused step leaves nothing behind."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bills import clock, services
from bills.events import bill_chain_verify
from bills.models import RELEASED_STATES, Bill, BillAllocation, BillEvent, BillPurchase, BillState
from finance_portal.errors import DomainError
from invoices.models import Invoice
from tests.bills.factories import build_world, make_invoice

pytestmark = pytest.mark.django_db

USERS = ["supplier", "supplier2", "buyer", "buyer2", "financier", "financier2", "regulator", "admin"]
RECEIVERS = ["supplier", "supplier2", "buyer", "financier", "financier2", "pending", "regulator"]
OPS = ["create", "create", "issue", "submit", "accept", "reject", "cancel", "transfer", "receive", "refuse",
       "split", "split_transfer", "list", "unlist", "buy", "settle", "freeze", "unfreeze", "advance", "sweep"]

NATURAL_STATES = {
    "submit": ["draft"], "accept": ["submitted"], "reject": ["submitted"], "cancel": ["draft", "submitted"],
    "transfer": ["accepted", "financed"], "split": ["accepted", "financed"], "split_transfer": ["accepted", "financed"],
    "receive": ["pending_receipt"], "refuse": ["pending_receipt"], "list": ["accepted"], "unlist": ["listed"],
    "buy": ["listed"], "settle": ["accepted", "listed", "financed", "overdue"], "freeze": ["accepted", "listed"],
    "unfreeze": ["frozen"],
}

step = st.tuples(st.sampled_from(OPS), st.integers(0, 40), st.integers(0, 15), st.integers(1, 99))


def user_for(world, bill: Bill | None, op: str, pick: int):  # type: ignore[no-untyped-def]
    """Half the time the party whose turn it is; otherwise anyone."""
    if pick % 2 or bill is None:
        return world.user(USERS[pick % len(USERS)])
    org = {
        "submit": bill.creditor, "cancel": bill.creditor, "accept": bill.debtor, "reject": bill.debtor,
        "settle": bill.debtor, "receive": bill.pending_holder, "refuse": bill.pending_holder,
    }.get(op, bill.holder)
    if op in ("freeze", "unfreeze"):
        return world.user("admin")
    if op == "buy":
        return world.user("financier" if pick % 4 == 0 else "financier2")
    if org is None:
        return world.user(USERS[pick % len(USERS)])
    member = org.memberships.select_related("user").first()
    return member.user if member else world.user(USERS[pick % len(USERS)])


def apply(world, invoices: list[Invoice], op: str, index: int, pick: int, n: int) -> None:  # type: ignore[no-untyped-def]
    bills = Bill.objects.select_related("creditor", "debtor", "holder", "pending_holder").order_by("number")
    if pick % 2 == 0 and op in NATURAL_STATES and bills.filter(state__in=NATURAL_STATES[op]).exists():
        bills = bills.filter(state__in=NATURAL_STATES[op])  # mostly aim at bills the step can apply to
    candidates = list(bills)
    bill = candidates[index % len(candidates)] if candidates else None
    actor = user_for(world, bill, op, pick)
    if op == "create":
        invoice = invoices[index % len(invoices)]
        services.bill_create(
            actor=world.user("supplier" if invoice.seller == world.org("supplier") else "supplier2"),
            invoice_allocations=[{"invoice": str(invoice.pk), "amount": f"{n * 10}.00"}],
            maturity_date=(clock.today() + dt.timedelta(days=10 + n)).isoformat(),
        )
    elif op == "issue":
        services.bill_issue(actor=world.user("buyer"), to=world.org(("supplier", "supplier2")[n % 2]).credit_code,
                            face=f"{n}.50", maturity_date=(clock.today() + dt.timedelta(days=5 + n)).isoformat())
    elif bill is None:
        return
    elif op in ("submit", "accept", "cancel", "receive", "refuse", "unlist", "settle"):
        getattr(services, f"bill_{op}")(bill_id=bill.pk, actor=actor)
    elif op in ("reject", "freeze", "unfreeze"):
        getattr(services, f"bill_{op}")(bill_id=bill.pk, actor=actor, reason=f"step {n}")
    elif op == "transfer":
        services.bill_transfer(bill_id=bill.pk, actor=actor, to=world.org(RECEIVERS[n % len(RECEIVERS)]).credit_code)
    elif op in ("split", "split_transfer"):
        first = (bill.face * n / 100).quantize(Decimal("0.01"))
        parts = [{"face": str(first)}, {"face": str(bill.face - first)}]
        if op == "split_transfer":
            parts[1]["transfer_to"] = world.org(RECEIVERS[n % len(RECEIVERS)]).credit_code
        services.bill_split(bill_id=bill.pk, actor=actor, parts=parts)
    elif op == "list":
        services.bill_list(bill_id=bill.pk, actor=actor, rate=f"0.0{n % 9 + 1}")
    elif op == "buy":
        services.bill_buy(bill_id=bill.pk, actor=actor, idempotency_key=f"k{n % 3}" if n % 2 else None)


def snapshot() -> tuple[int, int, int]:
    return Bill.objects.count(), BillEvent.objects.count(), BillPurchase.objects.count()


def check_invariants() -> None:
    for parent in Bill.objects.filter(state=BillState.SPLIT):
        assert parent.children.aggregate(total=Sum("face"))["total"] == parent.face, parent.number
    for child in Bill.objects.filter(parent__isnull=False).select_related("parent"):
        assert child.parent.state == BillState.SPLIT and child.root_id is not None
    for invoice in Invoice.objects.all():
        used = (
            BillAllocation.objects.filter(invoice=invoice).exclude(bill__state__in=RELEASED_STATES)
            .aggregate(total=Sum("amount"))["total"] or Decimal("0")
        )
        assert used <= invoice.total_amount, invoice.invoice_number
    for bill in Bill.objects.all():
        assert bill_chain_verify(bill) == [], bill.number


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=3, max_size=40))
def test_random_transitions_keep_the_invariants(db, steps):
    world = build_world()
    with transaction.atomic():
        invoices = [
            make_invoice(world.org("supplier"), world.org("buyer"), total="1000.00"),
            make_invoice(world.org("supplier"), world.org("buyer2"), total="500.00"),
            make_invoice(world.org("supplier2"), world.org("buyer"), total="800.00"),
        ]
        moment = clock.now()
        applied: list[str] = []
        for op, index, pick, n in steps:
            if op == "advance":
                moment += dt.timedelta(days=n)
                continue
            with clock.travel_to(moment):
                if op == "sweep":
                    services.bills_mark_overdue_and_default()
                    continue
                before = snapshot()
                try:
                    apply(world, invoices, op, index, pick, n)
                    applied.append(op)
                except DomainError:
                    assert snapshot() == before, op  # a refusal writes nothing
            moment += dt.timedelta(seconds=1)
        check_invariants()
        event(f"applied {len(set(applied) - {'create'})} kinds of transition besides create")
        transaction.set_rollback(True)
