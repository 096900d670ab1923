"""Creating bills: a supplier drafts one from its invoices (``create``); a core enterprise issues one it owes
directly to a supplier (``issue``). Invoices are locked in id order and their unallocated room checked; the
database's deferred allocation trigger is the last guard against over-allocation."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from bills import clock
from bills.errors import BillInvalid, InvoiceOverAllocated
from bills.events import amount_text
from bills.models import RELEASED_STATES, Bill, BillAllocation, BillState, EventType
from bills.services import inputs
from bills.services.core import append_event, genesis_details, guard_creation, new_bill
from finance_portal.money import parse_amount, validate_currency
from finance_portal.organizations.models import Organization
from finance_portal.users import User
from invoices.models import Invoice, InvoiceStatus


def lock_invoices_with_room(
    allocations: list[tuple[uuid.UUID, Decimal]], *, seller: Organization, buyer: Organization | None, currency: str
) -> dict[uuid.UUID, Invoice]:
    """Lock the invoices (in id order: no deadlock between two creators) and check each has room left.

    Refuses invoices that are not the seller's (or not owed by ``buyer`` when given), in another currency,
    disputed, or with less unallocated than asked. Returns the invoices by id.
    """
    ids = sorted(invoice_id for invoice_id, _ in allocations)
    invoices = {inv.pk: inv for inv in Invoice.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    used = dict(
        BillAllocation.objects.filter(invoice_id__in=ids)
        .exclude(bill__state__in=RELEASED_STATES)
        .values_list("invoice_id")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "total")
    )
    for i, (invoice_id, amount) in enumerate(allocations):
        field = f"invoice_allocations[{i}]"
        invoice = invoices.get(invoice_id)
        if invoice is None or invoice.seller_id != seller.pk or (buyer is not None and invoice.buyer_id != buyer.pk):
            if buyer is not None:
                missing = gettext("No invoice %(invoice)s issued by %(seller)s to %(buyer)s is registered.")
            else:
                missing = gettext("No invoice %(invoice)s issued by %(seller)s is registered.")
            raise BillInvalid(missing % {"invoice": invoice_id, "seller": seller.legal_name,
                                         "buyer": buyer.legal_name if buyer else ""}, field=f"{field}.invoice")
        if invoice.currency != currency:
            raise BillInvalid(
                gettext("Invoice %(number)s is in %(invoice_currency)s, the bill in %(currency)s.")
                % {"number": invoice.invoice_number, "invoice_currency": invoice.currency, "currency": currency},
                field=f"{field}.invoice",
            )
        if invoice.status == InvoiceStatus.DISPUTED:
            raise BillInvalid(
                gettext("Invoice %(number)s is disputed by its buyer and cannot back a bill.")
                % {"number": invoice.invoice_number},
                field=f"{field}.invoice",
            )
        room = invoice.total_amount - used.get(invoice_id, Decimal("0"))
        if amount > room:
            raise InvoiceOverAllocated(
                gettext("Invoice %(number)s has %(room)s %(currency)s left unallocated of its %(total)s; "
                        "%(asked)s was asked.")
                % {"number": invoice.invoice_number, "room": amount_text(room, currency), "currency": currency,
                   "total": amount_text(invoice.total_amount, currency), "asked": amount_text(amount, currency)},
                field=f"{field}.amount",
            )
    return invoices


def _invoice_details(allocations: list[tuple[uuid.UUID, Decimal]], currency: str) -> list[dict[str, str]]:
    return [{"invoice": str(i), "amount": amount_text(a, currency)} for i, a in allocations]


def obligation_policies_run(*, debtor: Organization, face: Decimal, currency: str, number: str) -> None:
    """Run the checks named in ``settings.BILL_OBLIGATION_POLICIES`` (dotted paths) before ``debtor`` comes to
    owe ``face`` more: when a core enterprise issues a bill and when it accepts one. A policy refuses by raising
    a domain error (e.g. an issuing limit, 409); ``bills`` does not know which app provides them.

    Precondition: inside the transaction that writes the obligation (policies lock what they read)."""
    for path in getattr(settings, "BILL_OBLIGATION_POLICIES", ()):
        import_string(path)(debtor=debtor, face=face, currency=currency, number=number)


def bill_create(
    *,
    actor: User,
    invoice_allocations: Sequence[Mapping[str, object]] | None = None,
    maturity_date: object = None,
    face: object = None,
    currency: object = None,
    reference: object = "",
    reason: object = "",
) -> Bill:
    """A supplier drafts a bill owed by the buyer of its invoices, for the sum of the allocated amounts.

    The invoices must be the supplier's, owed by one onboarded core enterprise (the debtor), in the bill's
    currency, not disputed, and have the allocated amounts still unallocated on live bills. ``face``, when
    given, must equal that sum.
    """
    org = guard_creation("create", actor=actor)
    currency = validate_currency(currency or settings.DEFAULT_CURRENCY)
    allocations = inputs.parse_allocations(invoice_allocations, currency=currency, required=True)
    total = sum((amount for _, amount in allocations), Decimal("0"))
    if face is not None and face != "":
        face_amount = parse_amount(face, currency, field="face")
        if face_amount != total:
            raise BillInvalid(
                gettext("The face (%(face)s) must equal the sum of the invoice allocations (%(total)s).")
                % {"face": amount_text(face_amount, currency), "total": amount_text(total, currency)},
                field="face",
            )
    at = clock.now()
    issue_date = clock.day_of(at)
    maturity = inputs.parse_date(maturity_date, field="maturity_date")
    inputs.check_maturity(maturity, issue_date=issue_date)
    reference = inputs.reference_text(reference)
    reason = inputs.reason_text(reason)
    with transaction.atomic():
        invoices = lock_invoices_with_room(allocations, seller=org, buyer=None, currency=currency)
        inputs.check_face(total, currency, field="invoice_allocations")
        buyers = {inv.buyer_id for inv in invoices.values()}
        if len(buyers) != 1:
            raise BillInvalid(gettext("All invoices behind one bill must be owed by the same buyer."),
                              field="invoice_allocations")
        debtor = Organization.objects.get(pk=buyers.pop())
        if not (debtor.is_core_enterprise and debtor.can_act):
            raise BillInvalid(
                gettext("The invoices' buyer %(name)s is not an onboarded core enterprise: it cannot owe a bill.")
                % {"name": debtor.legal_name},
                field="invoice_allocations",
            )
        bill = new_bill(creditor=org, debtor=debtor, holder=org, face=total, currency=currency,
                        issue_date=issue_date, maturity=maturity, state=BillState.DRAFT, at=at, reference=reference)
        BillAllocation.objects.bulk_create(
            [BillAllocation(bill=bill, invoice_id=invoice_id, amount=amount) for invoice_id, amount in allocations]
        )
        append_event(
            bill, type=EventType.CREATE, from_state=None, org=org, user=actor, at=at,
            details=genesis_details(bill, invoices=_invoice_details(allocations, currency), reference=reference,
                                    reason=reason),
        )
    return bill


def bill_issue(
    *,
    actor: User,
    to: object = None,
    face: object = None,
    maturity_date: object = None,
    currency: object = None,
    invoice_allocations: Sequence[Mapping[str, object]] | None = None,
    reference: object = "",
    reason: object = "",
) -> Bill:
    """A core enterprise issues a bill it owes directly to a supplier; it waits for the supplier's receipt.

    The supplier becomes creditor and pending holder; if it refuses, the bill ends rejected, and if it never
    signs, the bill lapses at maturity (``bill_lapse``). Invoice allocations are optional (invoices the
    supplier issued to this core enterprise) and, when given, sum to the face.
    """
    org = guard_creation("issue", actor=actor)
    receiver = inputs.counterparty(to, field="to", acting=org)
    if not receiver.is_supplier:
        raise BillInvalid(gettext("%(name)s is not a supplier: bills are issued to suppliers.")
                          % {"name": receiver.legal_name}, field="to")
    currency = validate_currency(currency or settings.DEFAULT_CURRENCY)
    face_amount = inputs.check_face(parse_amount(face, currency, field="face"), currency)
    allocations = inputs.parse_allocations(invoice_allocations, currency=currency, required=False)
    if allocations:
        total = sum((amount for _, amount in allocations), Decimal("0"))
        if total != face_amount:
            raise BillInvalid(
                gettext("The invoice allocations sum to %(total)s, the face is %(face)s: they must be equal.")
                % {"total": amount_text(total, currency), "face": amount_text(face_amount, currency)},
                field="invoice_allocations",
            )
    at = clock.now()
    issue_date = clock.day_of(at)
    maturity = inputs.parse_date(maturity_date, field="maturity_date")
    inputs.check_maturity(maturity, issue_date=issue_date)
    reference = inputs.reference_text(reference)
    reason = inputs.reason_text(reason)
    with transaction.atomic():
        if allocations:
            lock_invoices_with_room(allocations, seller=receiver, buyer=org, currency=currency)
        obligation_policies_run(debtor=org, face=face_amount, currency=currency, number="(new bill)")
        bill = new_bill(creditor=receiver, debtor=org, holder=org, pending_holder=receiver, face=face_amount,
                        currency=currency, issue_date=issue_date, maturity=maturity,
                        state=BillState.PENDING_RECEIPT, at=at, reference=reference)
        if allocations:
            BillAllocation.objects.bulk_create(
                [BillAllocation(bill=bill, invoice_id=i, amount=a) for i, a in allocations]
            )
        append_event(
            bill, type=EventType.ISSUE, from_state=None, org=org, user=actor, at=at,
            details=genesis_details(bill, receiver=receiver.credit_code,
                                    invoices=_invoice_details(allocations, currency), reference=reference,
                                    reason=reason),
        )
    return bill
