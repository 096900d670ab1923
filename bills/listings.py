"""Reads behind the marketplace: which bills are listed, with the figures a financier prices them by, in which
orders they may be sorted, and one listing by id.

Only financiers, regulators and platform staff may read the marketplace (``marketplace_allowed``); a supplier or
core enterprise is refused, not shown an empty list. A listing carries the parties, the terms, the invoice and
anchoring counts and the parties' credit scores (``ListingFigures``), never a purchase's price or an earlier
holder (DESIGN §8).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings
from django.db.models import Aggregate, Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_noop

from bills.errors import BillActionNotPermitted, BillInvalid, BillNotFound
from bills.models import Bill, BillAllocation, BillEvent, BillState
from bills.selectors import _with_parties, parse_bill_id, viewer_organization
from chain_adapter.models import AnchorStatus
from finance_portal.users import Viewer


def marketplace_allowed(user: Viewer) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    org = viewer_organization(user)
    return org is not None and (org.is_financier or org.is_regulator or org.is_platform)


def _allocation_aggregate(aggregate: Aggregate) -> Subquery:
    """A per-bill subquery over the allocations of the bill's root (a split part has none of its own)."""
    return Subquery(
        BillAllocation.objects.filter(bill_id=Coalesce(OuterRef("root_id"), OuterRef("pk")))
        .values("bill_id")
        .annotate(value=aggregate)
        .values("value")
    )


class ListingFigures(Protocol):
    """What ``marketplace_listings`` annotates on each bill (None where there is nothing to count)."""

    invoice_count: int | None
    invoice_total: Decimal | None
    invoices_verified: int | None
    events_total: int | None
    events_unanchored: int | None


def marketplace_listings(user: Viewer) -> QuerySet[Bill]:
    """Listed bills with what a financier needs to price them (``ListingFigures`` annotated); refused to
    suppliers and core enterprises."""
    if not marketplace_allowed(user):
        raise BillActionNotPermitted(gettext("The marketplace is open to financiers, regulators and platform staff only."))
    return (
        with_scores(_with_parties(Bill.objects.filter(state=BillState.LISTED)))
        .annotate(
            invoice_count=_allocation_aggregate(Count("id")),
            invoice_total=_allocation_aggregate(Sum("invoice__total_amount")),
            invoices_verified=_allocation_aggregate(Count("id", filter=Q(invoice__status="verified"))),
            events_total=Subquery(
                BillEvent.objects.filter(bill_id=OuterRef("pk")).values("bill_id").annotate(n=Count("id")).values("n")
            ),
            events_unanchored=Subquery(
                BillEvent.objects.filter(bill_id=OuterRef("pk"))
                .exclude(anchor__status=AnchorStatus.CONFIRMED)
                .values("bill_id")
                .annotate(n=Count("id"))
                .values("n")
            ),
        )
        .order_by("maturity_date", "id")
    )


# How the marketplace may be ordered: name → (label, ordering). Scores come from the app named by the setting
# ORGANIZATION_SCORE_ANNOTATION (bills does not import it); the best score first, bills without one last.
MARKET_SORTS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "maturity": (gettext_noop("Maturity, soonest first"), ("maturity_date", "id")),
    "rate": (gettext_noop("Asking rate, highest first"), (F("asking_rate").desc(), "maturity_date", "id")),
    "face": (gettext_noop("Face, largest first"), (F("face").desc(), "maturity_date", "id")),
    "debtor_score": (gettext_noop("Debtor's credit score, best first"),
                     (F("debtor_score").desc(nulls_last=True), "maturity_date", "id")),
    "holder_score": (gettext_noop("Seller's credit score, best first"),
                     (F("holder_score").desc(nulls_last=True), "maturity_date", "id")),
}
MARKET_DEFAULT_SORT = "maturity"


def marketplace_sorted(queryset: QuerySet[Bill], sort: str | None) -> QuerySet[Bill]:
    """``queryset`` (from ``marketplace_listings``) in the order ``sort`` names; an unknown name raises
    ``BillInvalid`` (a 400 naming the field ``sort``)."""
    key = sort or MARKET_DEFAULT_SORT
    if key not in MARKET_SORTS:
        raise BillInvalid(gettext("Sort by one of %(sorts)s, not %(given)s.") % {
            "sorts": ", ".join(MARKET_SORTS), "given": repr(str(key)[:40])}, field="sort")
    return queryset.order_by(*MARKET_SORTS[key][1])


def with_scores(queryset: QuerySet[Bill]) -> QuerySet[Bill]:
    """``queryset`` annotated with ``debtor_score`` and ``holder_score`` (each organization's latest credit score,
    None when it has none) by the callable named in ``settings.ORGANIZATION_SCORE_ANNOTATION``."""
    annotate = import_string(settings.ORGANIZATION_SCORE_ANNOTATION)
    return annotate(queryset, debtor_score="debtor_id", holder_score="holder_id")  # type: ignore[no-any-return]


def marketplace_get(*, user: Viewer, bill_id: object) -> Bill:
    pk = parse_bill_id(bill_id)
    bill = marketplace_listings(user).filter(pk=pk).first()
    if bill is None:
        raise BillNotFound(gettext("No such listing."))
    return bill
