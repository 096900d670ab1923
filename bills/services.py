"""Every transition of the bill state machine (DESIGN §3), as one service function each.

Each write follows the same order: ``require_acting_organization`` (KYC), parse the inputs (400), then in one
transaction lock the bill row, check that the user may see it (404), that its organization is the party that
acts (403), the state and the rules (409), change the row, append a ``BillEvent`` chained to the previous
one and register it in the anchoring outbox. A refusal leaves nothing behind.

The system's transitions (overdue, default) act as the platform organization. ``buy`` and ``settle`` record
prices and parties; money moves with the ledger in a later step.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Sum
from django.utils.module_loading import import_string

from bills import clock
from bills.errors import (
    BillActionNotPermitted,
    BillInvalid,
    BillNotFound,
    BillTransitionRefused,
    InvoiceOverAllocated,
)
from bills.events import amount_text, canonical_object, canonical_text, event_hash, rate_text
from bills.models import (
    FREEZABLE_STATES,
    OVERDUE_FROM_STATES,
    RELEASED_STATES,
    SETTLEABLE_STATES,
    Bill,
    BillAllocation,
    BillEvent,
    BillNumberCounter,
    BillParticipant,
    BillPurchase,
    BillState,
    EventType,
    ParticipantRole,
)
from bills.selectors import DAY_COUNT_BASIS, org_sees_bill, parse_bill_id, purchase_quote
from chain_adapter.hashing import ZERO_HASH
from chain_adapter.outbox import anchor_enqueue
from finance_portal.money import parse_amount, validate_currency
from finance_portal.organizations.models import Organization
from finance_portal.organizations.services import require_acting_organization
from invoices.models import Invoice, InvoiceStatus

MAX_PARTS = 20
MAX_ALLOCATIONS = 50
MAX_REASON = 500
RATE_DIGITS = 6


# ---------------------------------------------------------------------------------------------------------
# Input parsing (400s)
# ---------------------------------------------------------------------------------------------------------


def _reason(value: object, *, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise BillInvalid("Give a reason: it is recorded in the bill's history.", field="reason")
    if len(text) > MAX_REASON:
        raise BillInvalid(f"The reason is limited to {MAX_REASON} characters.", field="reason")
    return text


def _parse_date(value: object, *, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise BillInvalid("Give a date (YYYY-MM-DD), not a date and time.", field=field)
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise BillInvalid(f"{value!r} is not a date in the form YYYY-MM-DD.", field=field) from None


def _check_maturity(maturity: dt.date, *, issue_date: dt.date, field: str = "maturity_date") -> None:
    if maturity <= clock.today():
        raise BillInvalid("The maturity date must be after today.", field=field)
    limit = settings.BILL_MAX_TENOR_DAYS
    if (maturity - issue_date).days > limit:
        raise BillInvalid(
            f"The tenor (issue date to maturity) may not exceed {limit} days: mature on or before "
            f"{issue_date + dt.timedelta(days=limit)}.",
            field=field,
        )


def _parse_rate(value: object, *, field: str = "rate") -> Decimal:
    """An annual discount rate as a fraction (``"0.036"`` is 3.6 %): above 0, below 1, six decimals at most."""
    if isinstance(value, float | bool) or value is None:
        raise BillInvalid("Send the rate as a decimal string such as \"0.036\" (3.6 % a year).", field=field)
    try:
        rate = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise BillInvalid(f"{value!r} is not a decimal rate.", field=field) from None
    if not rate.is_finite() or rate <= 0 or rate >= 1:
        raise BillInvalid("The annual rate is a fraction above 0 and below 1 (\"0.036\" is 3.6 %).", field=field)
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_DIGITS)):
        raise BillInvalid(f"The rate has at most {RATE_DIGITS} decimal places.", field=field)
    return rate


def _parse_reference(value: object) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > 64:
        raise BillInvalid("The reference is limited to 64 characters.", field="reference")
    return text


def _counterparty(code: object, *, field: str, acting: Organization) -> Organization:
    """An onboarded (KYC approved) trading organization named by its credit code, other than ``acting``."""
    text = str(code or "").strip().upper()
    if not text:
        raise BillInvalid("Name the receiving organization by its unified social credit code.", field=field)
    org = Organization.objects.filter(credit_code=text).first()
    if org is None:
        raise BillInvalid(f"No organization with credit code {text} is registered on the platform.", field=field)
    if org.pk == acting.pk:
        raise BillInvalid("The receiver must be another organization than yours.", field=field)
    if not org.can_act:
        raise BillInvalid(f"{org.legal_name} is not onboarded (KYC not approved): it cannot receive bills.", field=field)
    if org.is_regulator or org.is_platform:
        raise BillInvalid(f"{org.legal_name} oversees the platform and takes no part in trades.", field=field)
    return org


def _parse_allocations(raw: object, *, currency: str, required: bool) -> list[tuple[uuid.UUID, Decimal]]:
    field = "invoice_allocations"
    if raw is None:
        raw = []
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise BillInvalid("Give the invoice allocations as a list of {invoice, amount}.", field=field)
    if required and not raw:
        raise BillInvalid("A bill is backed by at least one of your invoices.", field=field)
    if len(raw) > MAX_ALLOCATIONS:
        raise BillInvalid(f"A bill is backed by at most {MAX_ALLOCATIONS} invoices.", field=field)
    parsed: list[tuple[uuid.UUID, Decimal]] = []
    seen: set[uuid.UUID] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise BillInvalid("Each allocation is an object {invoice, amount}.", field=f"{field}[{i}]")
        try:
            invoice_id = uuid.UUID(str(item.get("invoice")))
        except (ValueError, TypeError):
            raise BillInvalid("Name the invoice by its id.", field=f"{field}[{i}].invoice") from None
        if invoice_id in seen:
            raise BillInvalid("An invoice appears twice in the allocations.", field=f"{field}[{i}].invoice")
        seen.add(invoice_id)
        amount = parse_amount(item.get("amount"), currency, field=f"{field}[{i}].amount")
        parsed.append((invoice_id, amount))
    return parsed


# ---------------------------------------------------------------------------------------------------------
# Building blocks (callers hold the bill's row lock)
# ---------------------------------------------------------------------------------------------------------


def _next_number(year: int) -> str:
    """``BL-<year>-<6 digits>`` from the year's counter row, locked by the upsert until the commit."""
    table = BillNumberCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (year, last) VALUES (%s, 1) "  # noqa: S608 (table name is ours)
            f"ON CONFLICT (year) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [year],
        )
        (n,) = cursor.fetchone()
    return f"BL-{year}-{n:06d}"


def _lock(bill_id: object) -> Bill:
    pk = parse_bill_id(bill_id)
    try:
        return Bill.objects.select_for_update().get(pk=pk)
    except Bill.DoesNotExist:
        raise BillNotFound("No such bill.") from None


def _lock_visible(bill_id: object, org: Organization) -> Bill:
    bill = _lock(bill_id)
    if not org_sees_bill(bill=bill, org=org):
        raise BillNotFound("No such bill.")
    return bill


def _refuse_oversight(org: Organization, action: str) -> None:
    if org.is_regulator or org.is_platform:
        raise BillActionNotPermitted(
            f"Regulators and platform staff read bills but cannot {action} them.", code="read_only_role"
        )


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise BillActionNotPermitted(message)


def _require_state(bill: Bill, allowed: Iterable[str], action: str) -> None:
    allowed = list(allowed)
    if bill.state not in allowed:
        names = ", ".join(BillState(s).value for s in allowed)
        raise BillTransitionRefused(
            f"Cannot {action} bill {bill.number}: it is {bill.state}, and only a bill that is {names} can be.",
            code="wrong_state",
        )


def _require_before_maturity(bill: Bill, action: str) -> None:
    if clock.today() >= bill.maturity_date:
        raise BillTransitionRefused(
            f"Cannot {action} bill {bill.number}: it matures on {bill.maturity_date}, and on or after maturity "
            "nothing moves but settlement and the system's overdue and default marks.",
            code="matured",
        )


def _participant(bill: Bill, org: Organization, role: str) -> None:
    BillParticipant.objects.get_or_create(bill=bill, organization=org, role=role)


def _drop_participant(bill: Bill, org_id: int, role: str) -> None:
    BillParticipant.objects.filter(bill=bill, organization_id=org_id, role=role).delete()


def _append_event(
    bill: Bill,
    *,
    type: str,
    from_state: str | None,
    org: Organization,
    user: AbstractBaseUser | None,
    at: dt.datetime,
    details: dict[str, Any],
    amounts: dict[str, str] | None = None,
) -> BillEvent:
    """Append the next event of ``bill`` (its state already changed) and register it for anchoring.

    Precondition: the caller holds the bill's row lock (or created the bill in this transaction), so
    sequence numbers and the chain's order are those of the appends.
    """
    last = BillEvent.objects.filter(bill_id=bill.pk).order_by("-seq").values_list("seq", "hash").first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, ZERO_HASH)
    all_amounts = {"face": amount_text(bill.face, bill.currency), **(amounts or {})}
    text = canonical_text(
        canonical_object(
            bill_id=str(bill.pk),
            seq=seq,
            type=type,
            from_state=from_state,
            to_state=bill.state,
            actor_code=org.credit_code,
            occurred_at=at,
            amounts=all_amounts,
            details=details,
            prev=prev,
        )
    )
    digest = event_hash(text)
    anchor = anchor_enqueue(key=bill.bill_key, prev_hash=prev, event_hash=digest)
    return BillEvent.objects.create(
        bill=bill,
        seq=seq,
        type=type,
        from_state=from_state or "",
        to_state=bill.state,
        actor=org,
        actor_user=user if user is not None and user.is_authenticated else None,
        occurred_at=at,
        amounts=all_amounts,
        details=details,
        prev_hash=prev,
        hash=digest,
        canonical=text,
        anchor=anchor,
    )


def _transition(
    bill: Bill,
    *,
    type: str,
    to_state: str,
    org: Organization,
    user: AbstractBaseUser | None,
    reason: str,
    details: dict[str, Any] | None = None,
    amounts: dict[str, str] | None = None,
    **changes: Any,
) -> BillEvent:
    from_state = bill.state
    at = clock.now()
    bill.state = to_state
    bill.updated_at = at
    for name, value in changes.items():
        setattr(bill, name, value)
    bill.save()
    return _append_event(
        bill,
        type=type,
        from_state=from_state,
        org=org,
        user=user,
        at=at,
        details={**(details or {}), "reason": reason},
        amounts=amounts,
    )


def _genesis_details(bill: Bill, **extra: Any) -> dict[str, Any]:
    """What the first event of every bill says about its parties and terms (checked by the chain check)."""
    return {
        "number": bill.number,
        "creditor": bill.creditor.credit_code,
        "debtor": bill.debtor.credit_code,
        "holder": bill.holder.credit_code,
        "currency": bill.currency,
        "issue_date": bill.issue_date.isoformat(),
        "maturity": bill.maturity_date.isoformat(),
        **extra,
    }


def _lock_invoices_with_room(
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
            whose = f"issued by {seller.legal_name}" + (f" to {buyer.legal_name}" if buyer else "")
            raise BillInvalid(f"No invoice {invoice_id} {whose} is registered.", field=f"{field}.invoice")
        if invoice.currency != currency:
            raise BillInvalid(
                f"Invoice {invoice.invoice_number} is in {invoice.currency}, the bill in {currency}.",
                field=f"{field}.invoice",
            )
        if invoice.status == InvoiceStatus.DISPUTED:
            raise BillInvalid(
                f"Invoice {invoice.invoice_number} is disputed by its buyer and cannot back a bill.",
                field=f"{field}.invoice",
            )
        room = invoice.total_amount - used.get(invoice_id, Decimal("0"))
        if amount > room:
            raise InvoiceOverAllocated(
                f"Invoice {invoice.invoice_number} has {amount_text(room, currency)} {currency} left unallocated "
                f"of its {amount_text(invoice.total_amount, currency)}; {amount_text(amount, currency)} was asked.",
                field=f"{field}.amount",
            )
    return invoices


def _new_bill(
    *,
    creditor: Organization,
    debtor: Organization,
    holder: Organization,
    face: Decimal,
    currency: str,
    issue_date: dt.date,
    maturity: dt.date,
    state: str,
    at: dt.datetime,
    reference: str = "",
    pending_holder: Organization | None = None,
    parent: Bill | None = None,
    bill_id: uuid.UUID | None = None,
) -> Bill:
    bill = Bill.objects.create(
        id=bill_id or uuid.uuid4(),
        number=_next_number(at.year),
        state=state,
        creditor=creditor,
        debtor=debtor,
        holder=holder,
        pending_holder=pending_holder,
        face=face,
        currency=currency,
        issue_date=issue_date,
        maturity_date=maturity,
        parent=parent,
        root=(parent.root or parent) if parent else None,
        reference=reference,
        created_at=at,
        updated_at=at,
    )
    _participant(bill, creditor, ParticipantRole.CREDITOR)
    _participant(bill, debtor, ParticipantRole.DEBTOR)
    _participant(bill, holder, ParticipantRole.HOLDER)
    if pending_holder is not None:
        _participant(bill, pending_holder, ParticipantRole.PENDING_RECEIVER)
    return bill


# ---------------------------------------------------------------------------------------------------------
# Creation
# ---------------------------------------------------------------------------------------------------------


def bill_create(
    *,
    actor: AbstractBaseUser,
    invoice_allocations: Sequence[Mapping[str, object]],
    maturity_date: object,
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
    org = require_acting_organization(actor)
    if not org.is_supplier:
        raise BillActionNotPermitted("Only suppliers create bills from their invoices.")
    currency = validate_currency(currency or settings.DEFAULT_CURRENCY)
    allocations = _parse_allocations(invoice_allocations, currency=currency, required=True)
    total = sum((amount for _, amount in allocations), Decimal("0"))
    if face is not None and face != "":
        face_amount = parse_amount(face, currency, field="face")
        if face_amount != total:
            raise BillInvalid(
                f"The face ({amount_text(face_amount, currency)}) must equal the sum of the invoice allocations "
                f"({amount_text(total, currency)}).",
                field="face",
            )
    at = clock.now()
    issue_date = at.date()
    maturity = _parse_date(maturity_date, field="maturity_date")
    _check_maturity(maturity, issue_date=issue_date)
    reference = _parse_reference(reference)
    reason = _reason(reason)
    with transaction.atomic():
        invoices = _lock_invoices_with_room(allocations, seller=org, buyer=None, currency=currency)
        buyers = {inv.buyer_id for inv in invoices.values()}
        if len(buyers) != 1:
            raise BillInvalid("All invoices behind one bill must be owed by the same buyer.", field="invoice_allocations")
        debtor = Organization.objects.get(pk=buyers.pop())
        if not (debtor.is_core_enterprise and debtor.can_act):
            raise BillInvalid(
                f"The invoices' buyer {debtor.legal_name} is not an onboarded core enterprise: it cannot owe a bill.",
                field="invoice_allocations",
            )
        bill = _new_bill(
            creditor=org,
            debtor=debtor,
            holder=org,
            face=total,
            currency=currency,
            issue_date=issue_date,
            maturity=maturity,
            state=BillState.DRAFT,
            at=at,
            reference=reference,
        )
        BillAllocation.objects.bulk_create(
            [BillAllocation(bill=bill, invoice_id=invoice_id, amount=amount) for invoice_id, amount in allocations]
        )
        _append_event(
            bill,
            type=EventType.CREATE,
            from_state=None,
            org=org,
            user=actor,
            at=at,
            details=_genesis_details(
                bill,
                invoices=[{"invoice": str(i), "amount": amount_text(a, currency)} for i, a in allocations],
                reference=reference,
                reason=reason,
            ),
        )
    return bill


def bill_issue(
    *,
    actor: AbstractBaseUser,
    to: object,
    face: object,
    maturity_date: object,
    currency: object = None,
    invoice_allocations: Sequence[Mapping[str, object]] | None = None,
    reference: object = "",
    reason: object = "",
) -> Bill:
    """A core enterprise issues a bill it owes directly to a supplier; it waits for the supplier's receipt.

    The supplier becomes creditor and pending holder; if it refuses, the bill ends rejected. Invoice
    allocations are optional (invoices the supplier issued to this core enterprise) and, when given, sum to
    the face.
    """
    org = require_acting_organization(actor)
    if not org.is_core_enterprise:
        raise BillActionNotPermitted("Only core enterprises issue bills they owe.")
    currency = validate_currency(currency or settings.DEFAULT_CURRENCY)
    face_amount = parse_amount(face, currency, field="face")
    receiver = _counterparty(to, field="to", acting=org)
    if not receiver.is_supplier:
        raise BillInvalid(f"{receiver.legal_name} is not a supplier: bills are issued to suppliers.", field="to")
    allocations = _parse_allocations(invoice_allocations, currency=currency, required=False)
    if allocations:
        total = sum((amount for _, amount in allocations), Decimal("0"))
        if total != face_amount:
            raise BillInvalid(
                f"The invoice allocations sum to {amount_text(total, currency)}, the face is "
                f"{amount_text(face_amount, currency)}: they must be equal.",
                field="invoice_allocations",
            )
    at = clock.now()
    issue_date = at.date()
    maturity = _parse_date(maturity_date, field="maturity_date")
    _check_maturity(maturity, issue_date=issue_date)
    reference = _parse_reference(reference)
    reason = _reason(reason)
    with transaction.atomic():
        if allocations:
            _lock_invoices_with_room(allocations, seller=receiver, buyer=org, currency=currency)
        bill = _new_bill(
            creditor=receiver,
            debtor=org,
            holder=org,
            pending_holder=receiver,
            face=face_amount,
            currency=currency,
            issue_date=issue_date,
            maturity=maturity,
            state=BillState.PENDING_RECEIPT,
            at=at,
            reference=reference,
        )
        if allocations:
            BillAllocation.objects.bulk_create(
                [BillAllocation(bill=bill, invoice_id=i, amount=a) for i, a in allocations]
            )
        _append_event(
            bill,
            type=EventType.ISSUE,
            from_state=None,
            org=org,
            user=actor,
            at=at,
            details=_genesis_details(
                bill,
                receiver=receiver.credit_code,
                invoices=[{"invoice": str(i), "amount": amount_text(a, currency)} for i, a in allocations],
                reference=reference,
                reason=reason,
            ),
        )
    return bill


# ---------------------------------------------------------------------------------------------------------
# Submission and the debtor's answer
# ---------------------------------------------------------------------------------------------------------


def bill_submit(*, bill_id: object, actor: AbstractBaseUser, reason: object = "") -> Bill:
    """The creditor submits its draft to the debtor. Its invoices must still back it (not disputed, room left)."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = _lock_visible(bill_id, org)
        reason = _reason(reason)
        _refuse_oversight(org, "submit")
        _require(bill.creditor_id == org.pk, "Only the bill's creditor submits it.")
        _require_state(bill, [BillState.DRAFT], "submit")
        _require_before_maturity(bill, "submit")
        disputed = bill.allocations.filter(invoice__status=InvoiceStatus.DISPUTED).first()
        if disputed is not None:
            raise BillTransitionRefused(
                f"Cannot submit bill {bill.number}: invoice {disputed.invoice.invoice_number} is disputed by its buyer.",
                code="invoice_disputed",
            )
        for allocation in bill.allocations.select_related("invoice").order_by("invoice_id"):
            invoice = Invoice.objects.select_for_update().get(pk=allocation.invoice_id)
            used = (
                BillAllocation.objects.filter(invoice=invoice)
                .exclude(bill__state__in=RELEASED_STATES)
                .aggregate(total=Sum("amount"))["total"]
            )
            if used > invoice.total_amount:
                raise InvoiceOverAllocated(
                    f"Cannot submit bill {bill.number}: invoice {invoice.invoice_number} is allocated beyond its total.",
                )
        _transition(bill, type=EventType.SUBMIT, to_state=BillState.SUBMITTED, org=org, user=actor, reason=reason)
    return bill


def bill_accept(*, bill_id: object, actor: AbstractBaseUser, reason: object = "") -> Bill:
    """The debtor confirms its undertaking to pay the face at maturity."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = _lock_visible(bill_id, org)
        reason = _reason(reason)
        _refuse_oversight(org, "accept")
        _require(bill.debtor_id == org.pk, "Only the bill's debtor accepts it.")
        _require_state(bill, [BillState.SUBMITTED], "accept")
        _require_before_maturity(bill, "accept")
        _transition(bill, type=EventType.ACCEPT, to_state=BillState.ACCEPTED, org=org, user=actor, reason=reason)
    return bill


def bill_reject(*, bill_id: object, actor: AbstractBaseUser, reason: object) -> Bill:
    """The debtor refuses a submitted bill, saying why. Its invoice allocations are released."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = _lock_visible(bill_id, org)
        reason = _reason(reason, required=True)
        _refuse_oversight(org, "reject")
        _require(bill.debtor_id == org.pk, "Only the bill's debtor rejects it.")
        _require_state(bill, [BillState.SUBMITTED], "reject")
        _transition(bill, type=EventType.REJECT, to_state=BillState.REJECTED, org=org, user=actor, reason=reason)
    return bill


def bill_cancel(*, bill_id: object, actor: AbstractBaseUser, reason: object = "") -> Bill:
    """The creditor withdraws a draft or a submitted bill. Its invoice allocations are released."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = _lock_visible(bill_id, org)
        reason = _reason(reason)
        _refuse_oversight(org, "cancel")
        _require(bill.creditor_id == org.pk, "Only the bill's creditor cancels it.")
        _require_state(bill, [BillState.DRAFT, BillState.SUBMITTED], "cancel")
        _transition(bill, type=EventType.CANCEL, to_state=BillState.CANCELLED, org=org, user=actor, reason=reason)
    return bill


# ---------------------------------------------------------------------------------------------------------
# Transfers
# ---------------------------------------------------------------------------------------------------------


def _offer(bill: Bill, *, receiver: Organization, org: Organization, user: AbstractBaseUser | None, reason: str) -> None:
    """Offer a held bill to ``receiver``. Precondition: the caller holds the lock and checked holder and state."""
    if receiver.pk == bill.debtor_id:
        raise BillInvalid("A bill cannot be transferred to its debtor: the debtor settles it instead.", field="to")
    _participant(bill, receiver, ParticipantRole.PENDING_RECEIVER)
    _transition(
        bill,
        type=EventType.TRANSFER,
        to_state=BillState.PENDING_RECEIPT,
        org=org,
        user=user,
        reason=reason,
        details={"receiver": receiver.credit_code},
        state_before_transfer=bill.state,
        pending_holder=receiver,
    )


def bill_transfer(*, bill_id: object, actor: AbstractBaseUser, to: object, reason: object = "") -> Bill:
    """The holder offers an accepted or financed bill to an onboarded organization; it takes effect on receipt."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = _lock_visible(bill_id, org)
        receiver = _counterparty(to, field="to", acting=org)
        reason = _reason(reason)
        _refuse_oversight(org, "transfer")
        _require(bill.holder_id == org.pk, "Only the bill's holder transfers it.")
        _require_state(bill, [BillState.ACCEPTED, BillState.FINANCED], "transfer")
        _require_before_maturity(bill, "transfer")
        _offer(bill, receiver=receiver, org=org, user=actor, reason=reason)
    return bill


def bill_receive(*, bill_id: object, actor: AbstractBaseUser, reason: object = "") -> Bill:
    """The receiver signs for a transferred (or issued) bill: it becomes the holder and the bill is accepted.

    A bill financed before the transfer comes out accepted: its new holder may finance it again.
    """
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = _lock_visible(bill_id, org)
        reason = _reason(reason)
        _refuse_oversight(org, "receive")
        _require_state(bill, [BillState.PENDING_RECEIPT], "receive")
        _require(bill.pending_holder_id == org.pk, "Only the organization the bill was transferred to signs for it.")
        _require_before_maturity(bill, "receive")
        previous = bill.holder
        _drop_participant(bill, previous.pk, ParticipantRole.HOLDER)
        if previous.pk != bill.debtor_id:
            _participant(bill, previous, ParticipantRole.PAST_HOLDER)
        _drop_participant(bill, org.pk, ParticipantRole.PENDING_RECEIVER)
        _participant(bill, org, ParticipantRole.HOLDER)
        _transition(
            bill,
            type=EventType.RECEIVE,
            to_state=BillState.ACCEPTED,
            org=org,
            user=actor,
            reason=reason,
            details={"holder": org.credit_code, "from_holder": previous.credit_code},
            holder=org,
            pending_holder=None,
            holder_seq=bill.holder_seq + 1,
            state_before_transfer="",
        )
    return bill


def bill_refuse(*, bill_id: object, actor: AbstractBaseUser, reason: object = "") -> Bill:
    """The receiver refuses a transfer: the bill returns to its holder in the state it had. A refused issue
    (a bill the debtor issued directly) ends rejected."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = _lock_visible(bill_id, org)
        reason = _reason(reason)
        _refuse_oversight(org, "refuse")
        _require_state(bill, [BillState.PENDING_RECEIPT], "refuse")
        _require(bill.pending_holder_id == org.pk, "Only the organization the bill was transferred to refuses it.")
        _require_before_maturity(bill, "refuse")
        back_to = bill.state_before_transfer or BillState.REJECTED
        _drop_participant(bill, org.pk, ParticipantRole.PENDING_RECEIVER)
        _transition(
            bill,
            type=EventType.REFUSE,
            to_state=back_to,
            org=org,
            user=actor,
            reason=reason,
            details={"receiver": org.credit_code},
            pending_holder=None,
            state_before_transfer="",
        )
    return bill


# ---------------------------------------------------------------------------------------------------------
# Split
# ---------------------------------------------------------------------------------------------------------


def bill_split(*, bill_id: object, actor: AbstractBaseUser, parts: object, reason: object = "") -> Bill:
    """The holder splits an accepted or financed bill into parts that sum exactly to its face.

    ``parts`` is a list of ``{"face": "...", "transfer_to": "<credit code>" (optional)}``, at least two, each
    above zero. Each part becomes a new bill (own id, number and chain, first event ``split_from`` naming the
    parent and the parent's split event) in the parent's state, with its debtor, maturity, currency and
    holder; a part with ``transfer_to`` is offered to that organization at once (a split-transfer). The
    parent ends ``split``; invoice allocations stay on the root bill. Returns the parent.
    """
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = _lock_visible(bill_id, org)
        reason = _reason(reason)
        if not isinstance(parts, Sequence) or isinstance(parts, str | bytes):
            raise BillInvalid("Give the parts as a list of {face, transfer_to}.", field="parts")
        if not 2 <= len(parts) <= MAX_PARTS:
            raise BillInvalid(f"A split makes between 2 and {MAX_PARTS} parts.", field="parts")
        _refuse_oversight(org, "split")
        _require(bill.holder_id == org.pk, "Only the bill's holder splits it.")
        parsed: list[tuple[Decimal, Organization | None]] = []
        for i, part in enumerate(parts):
            if not isinstance(part, Mapping):
                raise BillInvalid("Each part is an object {face, transfer_to}.", field=f"parts[{i}]")
            amount = parse_amount(part.get("face"), bill.currency, field=f"parts[{i}].face")
            target = part.get("transfer_to")
            receiver = (
                _counterparty(target, field=f"parts[{i}].transfer_to", acting=org) if target not in (None, "") else None
            )
            if receiver is not None and receiver.pk == bill.debtor_id:
                raise BillInvalid(
                    "A part cannot be transferred to the bill's debtor.", field=f"parts[{i}].transfer_to"
                )
            parsed.append((amount, receiver))
        total = sum((amount for amount, _ in parsed), Decimal("0"))
        if total != bill.face:
            raise BillInvalid(
                f"The parts sum to {amount_text(total, bill.currency)}; they must sum exactly to the face, "
                f"{amount_text(bill.face, bill.currency)}.",
                field="parts",
            )
        _require_state(bill, [BillState.ACCEPTED, BillState.FINANCED], "split")
        _require_before_maturity(bill, "split")
        child_state = bill.state
        child_ids = [uuid.uuid4() for _ in parsed]
        split_event = _transition(
            bill,
            type=EventType.SPLIT,
            to_state=BillState.SPLIT,
            org=org,
            user=actor,
            reason=reason,
            details={
                "children": [
                    {"bill": str(cid), "face": amount_text(amount, bill.currency)}
                    for cid, (amount, _) in zip(child_ids, parsed, strict=True)
                ]
            },
        )
        for child_id, (amount, receiver) in zip(child_ids, parsed, strict=True):
            child = _new_bill(
                bill_id=child_id,
                creditor=bill.creditor,
                debtor=bill.debtor,
                holder=org,
                face=amount,
                currency=bill.currency,
                issue_date=bill.issue_date,
                maturity=bill.maturity_date,
                state=child_state,
                at=split_event.occurred_at,
                reference=bill.reference,
                parent=bill,
            )
            _append_event(
                child,
                type=EventType.SPLIT_FROM,
                from_state=None,
                org=org,
                user=actor,
                at=split_event.occurred_at,
                details=_genesis_details(child, parent=str(bill.pk), parent_event=split_event.hash, reason=reason),
            )
            if receiver is not None:
                _offer(child, receiver=receiver, org=org, user=actor, reason=reason)
    return bill


# ---------------------------------------------------------------------------------------------------------
# Marketplace: list, unlist, buy
# ---------------------------------------------------------------------------------------------------------


def bill_list(*, bill_id: object, actor: AbstractBaseUser, rate: object, reason: object = "") -> Bill:
    """The holder offers an accepted bill on the marketplace at an asking annual discount rate."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = _lock_visible(bill_id, org)
        asking = _parse_rate(rate)
        reason = _reason(reason)
        _refuse_oversight(org, "list")
        _require(bill.holder_id == org.pk, "Only the bill's holder lists it.")
        _require_state(bill, [BillState.ACCEPTED], "list")
        _require_before_maturity(bill, "list")
        _transition(
            bill,
            type=EventType.LIST,
            to_state=BillState.LISTED,
            org=org,
            user=actor,
            reason=reason,
            details={"rate": rate_text(asking)},
            asking_rate=asking,
        )
    return bill


def bill_unlist(*, bill_id: object, actor: AbstractBaseUser, reason: object = "") -> Bill:
    """The holder takes its bill off the marketplace."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = _lock_visible(bill_id, org)
        reason = _reason(reason)
        _refuse_oversight(org, "unlist")
        _require(bill.holder_id == org.pk, "Only the bill's holder unlists it.")
        _require_state(bill, [BillState.LISTED], "unlist")
        _require_before_maturity(bill, "unlist")
        _transition(
            bill,
            type=EventType.UNLIST,
            to_state=BillState.ACCEPTED,
            org=org,
            user=actor,
            reason=reason,
            details={"rate": rate_text(bill.asking_rate or Decimal("0"))},
            asking_rate=None,
        )
    return bill


def _parse_idempotency_key(value: object) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > 128 or any(not (32 < ord(c) < 127) for c in text):
        raise BillInvalid(
            "The Idempotency-Key is up to 128 printable ASCII characters without spaces.", field="idempotency_key"
        )
    return text


def _earlier_purchase(key: str, buyer: Organization) -> BillPurchase | None:
    if not key:
        return None
    return BillPurchase.objects.select_related("bill").filter(buyer=buyer, idempotency_key=key).first()


def bill_buy(
    *,
    bill_id: object,
    actor: AbstractBaseUser,
    rate: object = None,
    idempotency_key: object = None,
    reason: object = "",
) -> BillPurchase:
    """A financier buys a listed bill at its asking rate and becomes its holder; exactly one buyer wins.

    Price: ``interest = face × rate × days / 360``, ``price = face − interest`` (half-up to the minor unit),
    days from today (UTC) to maturity. ``rate``, when given, is the rate the buyer saw: a different asking
    rate is refused. The same ``idempotency_key`` from the same organization returns the first purchase and
    has no second effect. The checks named in ``settings.BILL_PURCHASE_POLICIES`` (dotted paths of callables
    ``policy(*, bill, buyer, price)`` raising a domain error) run before the purchase.
    """
    org = require_acting_organization(actor)
    pk = parse_bill_id(bill_id)
    key = _parse_idempotency_key(idempotency_key)
    earlier = _earlier_purchase(key, org)
    if earlier is not None and earlier.bill_id == pk:
        return earlier
    with transaction.atomic():
        bill = _lock(pk)
        earlier = _earlier_purchase(key, org)  # a concurrent request with the same key may have won the lock
        if earlier is not None and earlier.bill_id == pk:
            return earlier
        on_market = bill.state == BillState.LISTED and org.is_financier
        if not on_market and not org_sees_bill(bill=bill, org=org):
            last = BillEvent.objects.filter(bill=bill).order_by("-seq").values_list("type", flat=True).first()
            if org.is_financier and bill.state == BillState.FINANCED and last == EventType.BUY:
                raise BillTransitionRefused(
                    f"Bill {bill.number} has just been bought by another financier.", code="already_bought"
                )
            raise BillNotFound("No such bill.")
        if earlier is not None:
            raise BillInvalid(
                "This Idempotency-Key was already used for a purchase of another bill.", field="idempotency_key"
            )
        expected = _parse_rate(rate) if rate not in (None, "") else None
        reason = _reason(reason)
        _refuse_oversight(org, "buy")
        _require(org.is_financier, "Only financiers buy bills.")
        _require_state(bill, [BillState.LISTED], "buy")
        if bill.holder_id == org.pk:
            raise BillTransitionRefused("You hold this bill: a holder cannot buy its own listing.", code="own_listing")
        _require_before_maturity(bill, "buy")
        asking = bill.asking_rate
        assert asking is not None  # a listed bill has a rate (check constraint)
        if expected is not None and expected != asking:
            raise BillTransitionRefused(
                f"The asking rate of bill {bill.number} is now {rate_text(asking)}, not {rate_text(expected)}.",
                code="rate_changed",
            )
        quote = purchase_quote(bill=bill, rate=asking)
        assert quote is not None  # listed (so it has a rate) and before maturity (so at least one day)
        days, interest, price = quote.days, quote.interest, quote.price
        if price <= 0:
            raise BillTransitionRefused(
                f"At {rate_text(asking)} for {days} days the discount swallows the face: no price is left.",
                code="no_price",
            )
        for path in getattr(settings, "BILL_PURCHASE_POLICIES", ()):
            import_string(path)(bill=bill, buyer=org, price=price)
        seller = bill.holder
        seller_seq = bill.holder_seq
        _drop_participant(bill, seller.pk, ParticipantRole.HOLDER)
        _participant(bill, seller, ParticipantRole.PAST_HOLDER)
        _participant(bill, org, ParticipantRole.HOLDER)
        event = _transition(
            bill,
            type=EventType.BUY,
            to_state=BillState.FINANCED,
            org=org,
            user=actor,
            reason=reason,
            amounts={"price": amount_text(price, bill.currency), "interest": amount_text(interest, bill.currency)},
            details={
                "buyer": org.credit_code,
                "seller": seller.credit_code,
                "rate": rate_text(asking),
                "days": days,
                "basis": DAY_COUNT_BASIS,
            },
            holder=org,
            holder_seq=seller_seq + 1,
            asking_rate=None,
        )
        purchase = BillPurchase.objects.create(
            bill=bill,
            holder_seq=seller_seq,
            seller=seller,
            buyer=org,
            face=bill.face,
            currency=bill.currency,
            rate=asking,
            days=days,
            basis=DAY_COUNT_BASIS,
            interest=interest,
            price=price,
            purchased_at=event.occurred_at,
            idempotency_key=key,
            event=event,
        )
    return purchase


# ---------------------------------------------------------------------------------------------------------
# Maturity: settle, overdue, default
# ---------------------------------------------------------------------------------------------------------


def bill_settle(*, bill_id: object, actor: AbstractBaseUser, reason: object = "") -> Bill:
    """The debtor pays the holder the face value (at or before maturity, or late while overdue)."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = _lock_visible(bill_id, org)
        reason = _reason(reason)
        _refuse_oversight(org, "settle")
        _require(bill.debtor_id == org.pk, "Only the bill's debtor settles it.")
        _require_state(bill, sorted(SETTLEABLE_STATES), "settle")
        _transition(
            bill,
            type=EventType.SETTLE,
            to_state=BillState.SETTLED,
            org=org,
            user=actor,
            reason=reason,
            details={"payer": bill.debtor.credit_code, "payee": bill.holder.credit_code},
            asking_rate=None,
        )
    return bill


def platform_organization() -> Organization:
    """The platform operator: the actor of the system's own transitions."""
    org = Organization.objects.filter(is_platform=True).order_by("pk").first()
    if org is None:
        raise BillTransitionRefused("No platform organization is registered: the system cannot act.", code="no_platform")
    return org


def _system_or_staff(actor: AbstractBaseUser | None, action: str) -> Organization:
    if actor is None:
        return platform_organization()
    org = require_acting_organization(actor)
    if not (org.is_platform and actor.is_staff):
        raise BillActionNotPermitted(f"Only platform staff (or the system) {action}.")
    return org


def bill_mark_overdue(*, bill_id: object, actor: AbstractBaseUser | None = None, reason: object = "") -> Bill:
    """Mark a bill unpaid past its maturity overdue. ``actor`` is platform staff, or None for the system.

    A transfer still waiting for its receiver lapses: the bill stays with its holder.
    """
    org = _system_or_staff(actor, "mark bills overdue")
    reason = _reason(reason)
    with transaction.atomic():
        bill = _lock(bill_id)
        _require_state(bill, sorted(OVERDUE_FROM_STATES), "mark overdue")
        today = clock.today()
        if today <= bill.maturity_date:
            raise BillTransitionRefused(
                f"Bill {bill.number} matures on {bill.maturity_date}: it is not past due.", code="not_due"
            )
        if bill.pending_holder_id is not None:
            _drop_participant(bill, bill.pending_holder_id, ParticipantRole.PENDING_RECEIVER)
        _transition(
            bill,
            type=EventType.OVERDUE,
            to_state=BillState.OVERDUE,
            org=org,
            user=actor,
            reason=reason or f"Unpaid after maturity on {bill.maturity_date}.",
            details={"days_past_due": (today - bill.maturity_date).days},
            pending_holder=None,
            state_before_transfer="",
            asking_rate=None,
        )
    return bill


def bill_mark_defaulted(*, bill_id: object, actor: AbstractBaseUser | None = None, reason: object = "") -> Bill:
    """Mark an overdue bill defaulted once the grace period (``BILL_GRACE_DAYS``) after maturity has run out."""
    org = _system_or_staff(actor, "mark bills defaulted")
    reason = _reason(reason)
    with transaction.atomic():
        bill = _lock(bill_id)
        _require_state(bill, [BillState.OVERDUE], "mark defaulted")
        today = clock.today()
        grace = settings.BILL_GRACE_DAYS
        if (today - bill.maturity_date).days <= grace:
            raise BillTransitionRefused(
                f"Bill {bill.number} is within its {grace}-day grace period after maturity on {bill.maturity_date}.",
                code="in_grace",
            )
        _transition(
            bill,
            type=EventType.DEFAULT,
            to_state=BillState.DEFAULTED,
            org=org,
            user=actor,
            reason=reason or f"Unpaid {grace} days after maturity on {bill.maturity_date}.",
            details={"days_past_due": (today - bill.maturity_date).days, "grace_days": grace},
        )
    return bill


def bills_mark_overdue_and_default() -> dict[str, int]:
    """The daily sweep (Celery beat ``bills.mark_overdue`` and ``manage.py bills_mark_overdue``).

    Marks overdue every bill unpaid past maturity, then defaulted every overdue bill past the grace period,
    each bill in its own transaction; a bill that changed meanwhile is skipped. Returns the counts.
    """
    platform_organization()  # fail loudly, not once per bill, when the system has no organization to act as
    today = clock.today()
    counts = {"overdue": 0, "defaulted": 0}
    due = Bill.objects.filter(state__in=OVERDUE_FROM_STATES, maturity_date__lt=today).values_list("id", flat=True)
    for bill_id in list(due):
        try:
            bill_mark_overdue(bill_id=bill_id)
            counts["overdue"] += 1
        except BillTransitionRefused:
            continue
    cutoff = today - dt.timedelta(days=settings.BILL_GRACE_DAYS)
    late = Bill.objects.filter(state=BillState.OVERDUE, maturity_date__lt=cutoff).values_list("id", flat=True)
    for bill_id in list(late):
        try:
            bill_mark_defaulted(bill_id=bill_id)
            counts["defaulted"] += 1
        except BillTransitionRefused:
            continue
    return counts


# ---------------------------------------------------------------------------------------------------------
# Freeze
# ---------------------------------------------------------------------------------------------------------


def _require_staff(actor: AbstractBaseUser, org: Organization, action: str) -> None:
    if not (org.is_platform and actor.is_staff):
        raise BillActionNotPermitted(f"Only platform staff {action} bills (on a court order or a dispute).")


def bill_freeze(*, bill_id: object, actor: AbstractBaseUser, reason: object) -> Bill:
    """Platform staff freeze a live bill (court order, dispute): nothing moves until it is unfrozen."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = _lock_visible(bill_id, org)
        _require_staff(actor, org, "freeze")
        reason = _reason(reason, required=True)
        _require_state(bill, sorted(FREEZABLE_STATES), "freeze")
        _transition(
            bill,
            type=EventType.FREEZE,
            to_state=BillState.FROZEN,
            org=org,
            user=actor,
            reason=reason,
            state_before_freeze=bill.state,
        )
    return bill


def bill_unfreeze(*, bill_id: object, actor: AbstractBaseUser, reason: object) -> Bill:
    """Platform staff lift a freeze: the bill returns to the state it was frozen in."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = _lock_visible(bill_id, org)
        _require_staff(actor, org, "unfreeze")
        reason = _reason(reason, required=True)
        _require_state(bill, [BillState.FROZEN], "unfreeze")
        _transition(
            bill,
            type=EventType.UNFREEZE,
            to_state=bill.state_before_freeze,
            org=org,
            user=actor,
            reason=reason,
            state_before_freeze="",
        )
    return bill
