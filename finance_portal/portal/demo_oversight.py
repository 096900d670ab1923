"""Demo scenarios for the regulator (DESIGN §9): at least one case of every oversight rule, so a regulator who
signs in to ``make run`` finds flags with their evidence after the sweep.

Everything goes through the real bill services, with the bills' clock moved back, except the two cases that
only an edit behind the application's back can make (a face above its invoices' allocations, a history that no
longer matches its chain): those are plain row updates, as a rogue database user would make them. A tenor beyond
the limit is drawn while the limit was longer (the limit is then lowered to today's). References ``DEMO-O…``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import F
from django.test import override_settings

from bills import clock
from bills import services as bills
from bills.models import Bill, BillAllocation
from finance_portal.organizations.models import Organization


def load_oversight_scenarios(*, orgs: dict[str, Organization], user: dict[str, Any], start: dt.datetime,
                             invoice: Callable[..., Any]) -> None:
    """Precondition: inside the demo's transaction, after the main business (the organizations are funded)."""

    def at(days_ago: float):  # type: ignore[no-untyped-def]
        return clock.travel_to(start - dt.timedelta(days=days_ago))

    def day(offset: int) -> str:
        return (start.date() + dt.timedelta(days=offset)).isoformat()

    def draft(key: str, supplier: str, face: str, maturity_in: int, inv: Any = None, amount: str | None = None):  # type: ignore[no-untyped-def]
        inv = inv or invoice(supplier, face)
        return bills.bill_create(actor=user[supplier], invoice_allocations=[{"invoice": str(inv.pk),
                                                                             "amount": amount or face}],
                                 maturity_date=day(maturity_in), reference=f"DEMO-{key}")

    def accept(bill: Bill, supplier: str) -> None:
        bills.bill_submit(bill_id=bill.pk, actor=user[supplier])
        bills.bill_accept(bill_id=bill.pk, actor=user["buyer"], reason="Goods received.")

    # invoice_reused: one invoice of 60,000 behind two live bills
    with at(12):
        shared = invoice("supplier2", "60000.00")
        first = draft("O01a", "supplier2", "25000.00", 90, inv=shared)
        draft("O01b", "supplier2", "35000.00", 90, inv=shared)
        accept(first, "supplier2")

    # face_above_invoices: an allocation lowered in the database after acceptance
    with at(18):
        lowered = draft("O02", "supplier", "90000.00", 100)
        accept(lowered, "supplier")
    BillAllocation.objects.filter(bill=lowered).update(amount=F("amount") - Decimal("20000.00"))

    # circular_transfer: supplier -> supplier2 -> supplier within a week
    with at(9):
        circular = draft("O03", "supplier", "140000.00", 120)
        accept(circular, "supplier")
    for days_ago, giver, taker in ((7, "supplier", "supplier2"), (5, "supplier2", "supplier")):
        with at(days_ago):
            bills.bill_transfer(bill_id=circular.pk, actor=user[giver], to=orgs[taker].credit_code)
        with at(days_ago - 0.2):
            bills.bill_receive(bill_id=circular.pk, actor=user[taker])

    # quick_financing: the debtor's bills bought within minutes of acceptance, enough of them on one day
    base = (start - dt.timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    for i in range(settings.OVERSIGHT_QUICK_FINANCING_COUNT):
        moment = base + dt.timedelta(minutes=20 * i)
        with clock.travel_to(moment):
            quick = draft(f"O04-{i + 1}", "supplier2", f"{52000 + 3000 * i}.00", 80)
            bills.bill_submit(bill_id=quick.pk, actor=user["supplier2"])
        with clock.travel_to(moment + dt.timedelta(minutes=4)):
            bills.bill_accept(bill_id=quick.pk, actor=user["buyer"])
            bills.bill_list(bill_id=quick.pk, actor=user["supplier2"], rate="0.041")
        with clock.travel_to(moment + dt.timedelta(minutes=11)):
            bills.bill_buy(bill_id=quick.pk, actor=user["financier"], idempotency_key=f"demo-o04-{i + 1}")

    # amount_outlier: the supplier's usual bills run 64,000 to 500,000; this one is 30,000,000
    with at(2):
        outlier = draft("O05", "supplier", "30000000.00", 90)
        bills.bill_submit(bill_id=outlier.pk, actor=user["supplier"])

    # tenor_beyond_limit: drawn for 450 days while the platform allowed 540; the limit is 365 now
    with override_settings(BILL_MAX_TENOR_DAYS=540), at(100):
        long = draft("O06", "supplier2", "72000.00", 350)
        accept(long, "supplier2")

    # chain_mismatch: an accepted bill whose face was changed in the database (a digit added)
    with at(16):
        edited = draft("O07", "supplier", "66000.00", 90)
        accept(edited, "supplier")
    Bill.objects.filter(pk=edited.pk).update(face=Decimal("660000.00"))

    # issued_without_invoices: the core enterprise issues a large bill with no invoice behind it
    with at(4):
        direct = bills.bill_issue(actor=user["buyer"], to=orgs["supplier2"].credit_code, face="1800000.00",
                                  maturity_date=day(150), reference="DEMO-O08", reason="Advance for Q3 capacity.")
    with at(3.5):
        bills.bill_receive(bill_id=direct.pk, actor=user["supplier2"])
