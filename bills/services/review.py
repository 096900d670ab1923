"""The creditor's draft and the debtor's answer: submit, accept, reject, cancel."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext

from bills.errors import BillTransitionRefused, InvoiceOverAllocated
from bills.models import RELEASED_STATES, Bill, BillAllocation
from bills.services.core import guard, transition
from bills.services.creation import obligation_policies_run
from finance_portal.users import User
from invoices.models import Invoice, InvoiceStatus


def bill_submit(*, bill_id: object, actor: User, reason: object = "") -> Bill:
    """The creditor submits its draft to the debtor. Its invoices must still back it (not disputed, room left)."""
    with transaction.atomic():
        g = guard("submit", bill_id=bill_id, actor=actor)
        bill = g.bill
        text = g.reason(reason)
        disputed = bill.allocations.filter(invoice__status=InvoiceStatus.DISPUTED).select_related("invoice").first()
        if disputed is not None:
            raise BillTransitionRefused(
                gettext("Cannot submit bill %(number)s: invoice %(invoice)s is disputed by its buyer.")
                % {"number": bill.number, "invoice": disputed.invoice.invoice_number},
                code="invoice_disputed",
            )
        for allocation in bill.allocations.order_by("invoice_id"):
            invoice = Invoice.objects.select_for_update().get(pk=allocation.invoice_id)
            used = (
                BillAllocation.objects.filter(invoice=invoice)
                .exclude(bill__state__in=RELEASED_STATES)
                .aggregate(total=Sum("amount"))["total"]
            )
            if used > invoice.total_amount:
                raise InvoiceOverAllocated(
                    gettext("Cannot submit bill %(number)s: invoice %(invoice)s is allocated beyond its total.")
                    % {"number": bill.number, "invoice": invoice.invoice_number},
                )
        transition(g, reason=text)
    return bill


def bill_accept(*, bill_id: object, actor: User, reason: object = "") -> Bill:
    """The debtor confirms its undertaking to pay the face at maturity."""
    with transaction.atomic():
        g = guard("accept", bill_id=bill_id, actor=actor)
        text = g.reason(reason)
        bill = g.bill
        obligation_policies_run(debtor=bill.debtor, face=bill.face, currency=bill.currency, number=bill.number)
        transition(g, reason=text)
    return g.bill


def bill_reject(*, bill_id: object, actor: User, reason: object = "") -> Bill:
    """The debtor refuses a submitted bill, saying why. Its invoice allocations are released."""
    with transaction.atomic():
        g = guard("reject", bill_id=bill_id, actor=actor)
        transition(g, reason=g.reason(reason))
    return g.bill


def bill_cancel(*, bill_id: object, actor: User, reason: object = "") -> Bill:
    """The creditor withdraws a draft or a submitted bill. Its invoice allocations are released."""
    with transaction.atomic():
        g = guard("cancel", bill_id=bill_id, actor=actor)
        transition(g, reason=g.reason(reason))
    return g.bill
