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

from bills.events import bill_chain_verify
from bills.models import Bill, BillAllocation, BillEvent, BillPurchase, BillState, EventType
from finance_portal.ledger.selectors import is_platform_staff
from finance_portal.organizations.selectors import membership_of
from finance_portal.oversight import rules
from finance_portal.oversight.models import FreezeRequest, OversightFlag
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


def invoice_facts() -> Iterator[rules.InvoiceFacts]:
    """Invoices allocated to two or more bills, with each allocation's bill and whether it is live or financed."""
    shared = (BillAllocation.objects.values("invoice_id").annotate(n=Count("bill_id")).filter(n__gte=2)
              .values_list("invoice_id", flat=True))
    rows = (BillAllocation.objects.filter(invoice_id__in=list(shared))
            .select_related("invoice", "bill").order_by("invoice_id", "bill__number"))
    financed = _financed_roots()
    by_invoice: dict[Any, list[BillAllocation]] = defaultdict(list)
    for row in rows:
        by_invoice[row.invoice_id].append(row)
    for allocations in by_invoice.values():
        inv = allocations[0].invoice
        yield rules.InvoiceFacts(
            invoice_id=inv.pk, invoice_number=inv.invoice_number, seller_id=inv.seller_id,
            total=inv.total_amount, currency=inv.currency,
            allocations=tuple(rules.AllocationFacts(
                bill_id=a.bill_id, bill_number=a.bill.number, amount=a.amount,
                live=a.bill.state not in ENDED_STATES, financed=a.bill_id in financed) for a in allocations),
        )


def backing_facts() -> Iterator[rules.BackingFacts]:
    """Root bills whose face exceeds the total of their allocations (the database picks them; the rule explains)."""
    qs = (Bill.objects.filter(root__isnull=True)
          .annotate(allocated=Sum("allocations__amount"))
          .filter(Q(allocated__isnull=True) | Q(face__gt=F("allocated")))
          .prefetch_related(Prefetch("allocations", queryset=BillAllocation.objects.select_related("invoice"))))
    for bill in qs:
        yield rules.BackingFacts(
            bill_id=bill.pk, bill_number=bill.number, creditor_id=bill.creditor_id, face=bill.face,
            currency=bill.currency, allocated=bill.allocated or Decimal("0"),  # type: ignore[attr-defined]
            invoices=[a.invoice.invoice_number for a in bill.allocations.all()],
        )


HOLDER_EVENTS = (EventType.RECEIVE, EventType.BUY)


def holder_histories() -> Iterator[tuple[Bill, list[rules.HolderStep]]]:
    """Each bill that changed holder at least twice, with its holders in order (the creditor first)."""
    candidates = (BillEvent.objects.filter(type__in=HOLDER_EVENTS).values("bill_id").annotate(n=Count("id"))
                  .filter(n__gte=2).values_list("bill_id", flat=True))
    bills = Bill.objects.filter(pk__in=list(candidates)).select_related("creditor").prefetch_related(
        Prefetch("events", queryset=BillEvent.objects.filter(type__in=HOLDER_EVENTS).select_related("actor")
                 .order_by("seq"), to_attr="holder_events"))
    for bill in bills:
        steps = [rules.HolderStep(bill.creditor_id, bill.creditor.credit_code, 0)]
        steps += [rules.HolderStep(e.actor_id, e.actor.credit_code, e.seq)
                  for e in bill.holder_events]  # type: ignore[attr-defined]
        yield bill, steps


def financing_facts() -> list[rules.FinancingFacts]:
    """Bills bought after their acceptance: when each was accepted and first bought."""
    accepted: dict[Any, dt.datetime] = {}
    for bill_id, at in (BillEvent.objects.filter(type=EventType.ACCEPT).order_by("seq")
                        .values_list("bill_id", "occurred_at")):
        accepted.setdefault(bill_id, at)
    facts: dict[Any, rules.FinancingFacts] = {}
    rows = (BillEvent.objects.filter(type=EventType.BUY, bill_id__in=list(accepted)).order_by("seq")
            .values_list("bill_id", "occurred_at", "bill__number", "bill__debtor_id", "bill__face", "bill__currency"))
    for bill_id, at, number, debtor_id, face, currency in rows:
        if bill_id not in facts:
            facts[bill_id] = rules.FinancingFacts(bill_id, number, debtor_id, face, currency, accepted[bill_id], at)
    return list(facts.values())


def creditor_histories(history_size: int) -> Iterator[tuple[Bill, list[Decimal]]]:
    """Each root bill with the faces of up to ``history_size`` earlier root bills of its creditor (oldest first)."""
    by_creditor: dict[int, list[Bill]] = defaultdict(list)
    for bill in Bill.objects.filter(root__isnull=True).order_by("created_at", "id").only(
            "id", "number", "creditor_id", "face", "currency", "created_at"):
        by_creditor[bill.creditor_id].append(bill)
    for bills in by_creditor.values():
        for i, bill in enumerate(bills):
            yield bill, [b.face for b in bills[max(0, i - history_size): i] if b.currency == bill.currency]


def long_tenor_bills(limit_days: int) -> QuerySet[Bill]:
    return Bill.objects.filter(root__isnull=True, maturity_date__gt=F("issue_date") + dt.timedelta(days=limit_days))


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


def oversight_settings() -> dict[str, Any]:
    return {
        "window_minutes": settings.OVERSIGHT_QUICK_FINANCING_MINUTES,
        "threshold": settings.OVERSIGHT_QUICK_FINANCING_COUNT,
        "factor": Decimal(str(settings.OVERSIGHT_OUTLIER_FACTOR)),
        "min_history": settings.OVERSIGHT_OUTLIER_MIN_HISTORY,
        "history": settings.OVERSIGHT_OUTLIER_HISTORY,
        "tenor_days": settings.BILL_MAX_TENOR_DAYS,
    }
