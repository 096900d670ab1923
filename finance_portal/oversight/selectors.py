"""Reads of oversight: the facts each rule needs (thin queries feeding ``rules``), the flags, the reconciliation.

Who may read: regulators and platform staff (``is_oversight_user``); everyone else is refused by the views.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from bills.events import bill_chain_verify
from bills.models import Bill, BillAllocation, BillEvent, BillPurchase, BillState, EventType
from finance_portal.ledger.selectors import is_platform_staff
from finance_portal.organizations.selectors import membership_of
from finance_portal.oversight import rules
from finance_portal.oversight.models import FreezeRequest, OversightFlag, ReconciliationRun
from finance_portal.users import Viewer

# A bill in one of these states can no longer be paid, moved or financed.
ENDED_STATES = frozenset({BillState.REJECTED, BillState.CANCELLED, BillState.SETTLED})


def is_regulator(user: Viewer) -> bool:
    if not user.is_authenticated:
        return False
    m = membership_of(user)
    return m is not None and m.organization.is_regulator


def is_oversight_user(user: Viewer) -> bool:
    """Regulators and platform staff: they read everything and may acknowledge flags."""
    return is_regulator(user) or is_platform_staff(user)


# ---------------------------------------------------------------------------------------------------------
# Facts for the rules
# ---------------------------------------------------------------------------------------------------------


def _financed_roots() -> set[uuid.UUID]:
    """Root bills that were bought, themselves or through one of their split parts."""
    return {root or bill for bill, root in BillPurchase.objects.values_list("bill_id", "bill__root_id")}


def invoice_facts(*, invoice_ids: Sequence[Any] | None = None) -> Iterator[rules.InvoiceFacts]:
    """Invoices allocated to two or more bills (all, or those of ``invoice_ids``), with each allocation's bill
    and whether it is live or financed."""
    allocations = BillAllocation.objects.all()
    if invoice_ids is not None:
        allocations = allocations.filter(invoice_id__in=list(invoice_ids))
    shared = (allocations.values("invoice_id").annotate(n=Count("bill_id")).filter(n__gte=2)
              .values_list("invoice_id", flat=True))
    rows = (BillAllocation.objects.filter(invoice_id__in=list(shared))
            .select_related("invoice", "bill").order_by("invoice_id", "bill__number"))
    financed = _financed_roots()
    by_invoice: dict[Any, list[BillAllocation]] = defaultdict(list)
    for row in rows:
        by_invoice[row.invoice_id].append(row)
    for allocations_of_one in by_invoice.values():
        inv = allocations_of_one[0].invoice
        yield rules.InvoiceFacts(
            invoice_id=inv.pk, invoice_number=inv.invoice_number, seller_id=inv.seller_id,
            total=inv.total_amount, currency=inv.currency,
            allocations=tuple(rules.AllocationFacts(
                bill_id=a.bill_id, bill_number=a.bill.number, amount=a.amount,
                live=a.bill.state not in ENDED_STATES, financed=a.bill_id in financed) for a in allocations_of_one),
        )


@dataclass(frozen=True)
class BillScope:
    """What the bill-scoped rules read about one bill: the bill and its root, their invoices, its debtor and
    the day (the platform's calendar) it was first bought, if it was."""

    bill_ids: list[Any]
    invoice_ids: list[Any]
    debtor_id: int
    financed_on: dt.date | None


def bill_scope(bill_id: object) -> BillScope | None:
    try:
        pk = uuid.UUID(str(bill_id))
    except ValueError:
        return None
    bill = Bill.objects.filter(pk=pk).only("id", "root_id", "debtor_id").first()
    if bill is None:
        return None
    ids = [bill.pk] if bill.root_id is None else [bill.pk, bill.root_id]
    invoices = list(BillAllocation.objects.filter(bill_id__in=ids).values_list("invoice_id", flat=True).distinct())
    bought = (BillEvent.objects.filter(bill_id=bill.pk, type=EventType.BUY).order_by("seq")
              .values_list("occurred_at", flat=True).first())
    return BillScope(ids, invoices, bill.debtor_id, timezone.localdate(bought) if bought else None)


def _roots(bill_ids: Sequence[Any] | None) -> QuerySet[Bill]:
    qs = Bill.objects.filter(root__isnull=True)
    return qs if bill_ids is None else qs.filter(pk__in=list(bill_ids))


def backing_facts(*, bill_ids: Sequence[Any] | None = None) -> Iterator[rules.BackingFacts]:
    """Root bills with invoices whose face exceeds the total of their allocations (the database picks them; the
    rule explains). A bill without any invoice is the concern of ``unbacked_bills`` (issued without invoices)."""
    qs = (_roots(bill_ids)
          .annotate(allocated=Sum("allocations__amount"))
          .filter(allocated__isnull=False, face__gt=F("allocated"))
          .prefetch_related(Prefetch("allocations", queryset=BillAllocation.objects.select_related("invoice"))))
    for bill in qs:
        yield rules.BackingFacts(
            bill_id=bill.pk, bill_number=bill.number, creditor_id=bill.creditor_id, face=bill.face,
            currency=bill.currency, allocated=bill.allocated,  # type: ignore[attr-defined]
            invoices=[a.invoice.invoice_number for a in bill.allocations.all()],
        )


def unbacked_bills(*, threshold: Decimal, currency: str, bill_ids: Sequence[Any] | None = None) -> QuerySet[Bill]:
    """Root bills in ``currency`` above ``threshold`` without a single invoice allocation."""
    return (_roots(bill_ids).filter(currency=currency, face__gt=threshold)
            .annotate(allocations_count=Count("allocations")).filter(allocations_count=0).order_by("created_at", "id"))


HOLDER_EVENTS = (EventType.RECEIVE, EventType.BUY)


def holder_histories(*, bill_ids: Sequence[Any] | None = None) -> Iterator[tuple[Bill, list[rules.HolderStep]]]:
    """Each bill (all, or of ``bill_ids``) that changed holder at least twice, with its holders in order and
    when each became holder: the creditor at the bill's first event, then the actor of each receipt or purchase."""
    events = BillEvent.objects.filter(type__in=HOLDER_EVENTS)
    if bill_ids is not None:
        events = events.filter(bill_id__in=list(bill_ids))
    candidates = events.values("bill_id").annotate(n=Count("id")).filter(n__gte=2).values_list("bill_id", flat=True)
    bills = Bill.objects.filter(pk__in=list(candidates)).select_related("creditor").prefetch_related(
        Prefetch("events", queryset=BillEvent.objects.filter(Q(type__in=HOLDER_EVENTS) | Q(seq=1))
                 .select_related("actor").order_by("seq"), to_attr="holder_events"))
    for bill in bills:
        chain = bill.holder_events  # type: ignore[attr-defined]
        first = chain[0]
        steps = [rules.HolderStep(bill.creditor_id, bill.creditor.credit_code, first.seq, first.occurred_at)]
        steps += [rules.HolderStep(e.actor_id, e.actor.credit_code, e.seq, e.occurred_at)
                  for e in chain if e.type in HOLDER_EVENTS]
        yield bill, steps


def financing_facts(*, debtor_id: int | None = None, day: dt.date | None = None) -> list[rules.FinancingFacts]:
    """Bills bought after their acceptance (all, or one debtor's first bought on ``day``, a day of the platform's
    calendar, as ``rules.quick_financing`` groups them): when each was accepted and first bought."""
    accepts = BillEvent.objects.filter(type=EventType.ACCEPT)
    if debtor_id is not None:
        accepts = accepts.filter(bill__debtor_id=debtor_id)
    if day is not None:  # only bills bought that day (their first purchase is checked below)
        # The day's bounds in the platform's time zone (a UTC day missed the purchases made after 16:00 UTC,
        # already the next day in Shanghai: no flag was raised then).
        zone = timezone.get_current_timezone()
        start = timezone.make_aware(dt.datetime.combine(day, dt.time()), zone)
        end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), zone)
        bought = BillEvent.objects.filter(type=EventType.BUY, occurred_at__gte=start, occurred_at__lt=end)
        accepts = accepts.filter(bill_id__in=bought.values("bill_id"))
    accepted: dict[Any, dt.datetime] = {}
    for bill_id, at in accepts.order_by("seq").values_list("bill_id", "occurred_at"):
        accepted.setdefault(bill_id, at)
    facts: dict[Any, rules.FinancingFacts] = {}
    rows = (BillEvent.objects.filter(type=EventType.BUY, bill_id__in=list(accepted)).order_by("seq")
            .values_list("bill_id", "occurred_at", "bill__number", "bill__debtor_id", "bill__face", "bill__currency"))
    for bill_id, at, number, debtor, face, currency in rows:
        if bill_id not in facts:
            facts[bill_id] = rules.FinancingFacts(bill_id, number, debtor, face, currency, accepted[bill_id], at)
    found = list(facts.values())
    if day is not None:
        found = [f for f in found if timezone.localdate(f.financed_at) == day]
    return found


def creditor_histories(history_size: int, *, bill_ids: Sequence[Any] | None = None,
                       ) -> Iterator[tuple[Bill, list[Decimal]]]:
    """Each root bill (all, or of ``bill_ids``) with the faces of up to ``history_size`` earlier root bills of
    its creditor in its currency (oldest first)."""
    creditors = None if bill_ids is None else set(_roots(bill_ids).values_list("creditor_id", flat=True))
    wanted = None if bill_ids is None else {str(i) for i in bill_ids}
    qs = Bill.objects.filter(root__isnull=True)
    if creditors is not None:
        qs = qs.filter(creditor_id__in=creditors)
    by_creditor: dict[int, list[Bill]] = defaultdict(list)
    for bill in qs.order_by("created_at", "id").only("id", "number", "creditor_id", "face", "currency", "created_at"):
        by_creditor[bill.creditor_id].append(bill)
    for bills in by_creditor.values():
        for i, bill in enumerate(bills):
            if wanted is not None and str(bill.pk) not in wanted:
                continue
            earlier = [b.face for b in bills[:i] if b.currency == bill.currency]
            yield bill, earlier[-history_size:]


def long_tenor_bills(limit_days: int, *, bill_ids: Sequence[Any] | None = None) -> QuerySet[Bill]:
    return _roots(bill_ids).filter(maturity_date__gt=F("issue_date") + dt.timedelta(days=limit_days))


def _bills_with_events(bill_ids: Sequence[Any]) -> list[tuple[Bill, list[BillEvent]]]:
    bills = (Bill.objects.filter(pk__in=bill_ids).select_related("creditor", "debtor", "holder", "pending_holder")
             .prefetch_related(Prefetch("events", queryset=BillEvent.objects.select_related("actor", "anchor")
                                        .order_by("seq"), to_attr="chain")))
    by_id = {b.pk: b for b in bills}
    return [(by_id[i], by_id[i].chain) for i in bill_ids if i in by_id]  # type: ignore[attr-defined]


def chain_problems(bill_ids: Sequence[Any]) -> list[tuple[Bill, list[str]]]:
    """``bills.events.bill_chain_verify`` for each bill, in the order given (events read in one query)."""
    return [(bill, bill_chain_verify(bill, events=events)) for bill, events in _bills_with_events(bill_ids)]


def all_bill_ids_in_chunks(size: int = 200) -> Iterator[list[Any]]:
    ids = list(Bill.objects.order_by("created_at", "id").values_list("id", flat=True))
    for start in range(0, len(ids), size):
        yield ids[start: start + size]


# ---------------------------------------------------------------------------------------------------------
# Flags, requests, reconciliation
# ---------------------------------------------------------------------------------------------------------


def flags(*, rule: str | None = None, acknowledged: bool | None = None) -> QuerySet[OversightFlag]:
    qs = OversightFlag.objects.select_related("bill", "organization", "acknowledged_by")
    if rule:
        qs = qs.filter(rule=rule)
    if acknowledged is not None:
        qs = qs.filter(acknowledged_at__isnull=not acknowledged)
    return qs.order_by("rule", "-last_seen", "id")


def open_flag_counts() -> dict[str, int]:
    return dict(OversightFlag.objects.filter(acknowledged_at__isnull=True).values_list("rule")
                .annotate(n=Count("id")).values_list("rule", "n"))


def freeze_requests() -> QuerySet[FreezeRequest]:
    return FreezeRequest.objects.select_related("bill", "requested_by", "decided_by")


@dataclass(frozen=True)
class ReconciliationRow:
    bill_id: Any
    number: str
    state: str
    status: str  # "ok" or "mismatch"
    reasons: list[str]


def reconciliation_rows(bills: Sequence[Bill]) -> list[ReconciliationRow]:
    """Per bill: ok, or mismatch with the problems ``bill_chain_verify`` finds."""
    return [ReconciliationRow(bill.pk, bill.number, bill.state, "mismatch" if problems else "ok", problems)
            for bill, problems in chain_problems([b.pk for b in bills])]


def reconciliation_bills() -> QuerySet[Bill]:
    return Bill.objects.order_by("created_at", "id")


def bill_ids_of_keys(keys: Sequence[str]) -> list[Any]:
    """The bills whose anchoring keys are ``keys`` (other keys, e.g. credit reports', match none)."""
    return list(BillEvent.objects.filter(anchor__key__in=list(keys)).order_by("bill_id")
                .values_list("bill_id", flat=True).distinct())


def reconciliation_runs(limit: int = 10) -> list[ReconciliationRun]:
    """The latest reconciliation runs, newest first."""
    return list(ReconciliationRun.objects.order_by("-started_at", "-id")[:limit])


def oversight_settings() -> dict[str, Any]:
    return {
        "window_minutes": settings.OVERSIGHT_QUICK_FINANCING_MINUTES,
        "threshold": settings.OVERSIGHT_QUICK_FINANCING_COUNT,
        "z_threshold": Decimal(str(settings.OVERSIGHT_OUTLIER_Z)),
        "factor": Decimal(str(settings.OVERSIGHT_OUTLIER_FACTOR)),
        "min_history": settings.OVERSIGHT_OUTLIER_MIN_HISTORY,
        "history": settings.OVERSIGHT_OUTLIER_HISTORY,
        "tenor_days": settings.BILL_MAX_TENOR_DAYS,
        "circular_days": settings.OVERSIGHT_CIRCULAR_WINDOW_DAYS,
        "no_invoice_threshold": Decimal(str(settings.OVERSIGHT_NO_INVOICE_THRESHOLD)),
        "currency": settings.DEFAULT_CURRENCY,
    }
