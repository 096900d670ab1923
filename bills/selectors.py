"""Reads on bills shared by the API, the pages, the admin and other apps (DESIGN §8: who sees what).

Suppliers, core enterprises and financiers see the bills they take part in (``BillParticipant``: creditor,
debtor, holder, past holder, pending receiver); financiers also see listed bills through the marketplace;
regulators and platform staff see everything, read-only. Out of reach and absent look the same (404).
The marketplace's reads (listings, their figures and sorts) are in ``bills.listings``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.translation import gettext

from bills import clock, rules
from bills.errors import BillNotFound
from bills.exposure import (  # the reads for the apps above bills, importable from here too
    EXPOSURE_STATES as EXPOSURE_STATES,
)
from bills.exposure import BillHistoryRow as BillHistoryRow
from bills.exposure import bill_history_of as bill_history_of
from bills.exposure import face_owed_by as face_owed_by
from bills.exposure import held_face_owed_by as held_face_owed_by
from bills.exposure import organizations_in_events_after as organizations_in_events_after
from bills.models import (
    RELEASED_STATES,
    Bill,
    BillAllocation,
    BillEvent,
    BillParticipant,
    BillPurchase,
    BillState,
)
from bills.models_money import BillOffer, EarlySettlementRequest
from chain_adapter.models import AnchorRecord, AnchorStatus
from finance_portal.compiled import CompiledRead
from finance_portal.money import discount_price
from finance_portal.organizations.models import Organization
from finance_portal.organizations.selectors import membership_of
from finance_portal.users import Viewer
from invoices.models import Invoice


def viewer_organization(user: Viewer) -> Organization | None:
    membership = membership_of(user)
    return membership.organization if membership else None


def org_sees_everything(org: Organization | None) -> bool:
    return org is not None and (org.is_regulator or org.is_platform)


def user_sees_everything(user: Viewer) -> bool:
    if not user.is_authenticated:
        return False
    return bool(user.is_superuser) or org_sees_everything(viewer_organization(user))


def _with_parties(qs: QuerySet[Bill]) -> QuerySet[Bill]:
    return qs.select_related("creditor", "debtor", "holder", "pending_holder")


def _participant_bills(org_pk: int) -> QuerySet[Bill]:
    return Bill.objects.filter(Exists(BillParticipant.objects.filter(bill_id=OuterRef("pk"), organization_id=org_pk)))


def bills_visible_to_org(org: Organization) -> QuerySet[Bill]:
    return Bill.objects.all() if org_sees_everything(org) else _participant_bills(org.pk)


def bills_visible_to(user: Viewer) -> QuerySet[Bill]:
    """Every bill the user may read, with its parties joined; empty for users outside any organization."""
    if not user.is_authenticated:
        return Bill.objects.none()
    if user.is_superuser:
        return _with_parties(Bill.objects.all())
    org = viewer_organization(user)
    if org is None:
        return Bill.objects.none()
    return _with_parties(bills_visible_to_org(org))


def _viewer_reach(user: Viewer) -> tuple[str, int] | None:
    """How far the user's reading of bills reaches, as ``bills_visible_to`` decides it: ``("all", 0)`` for
    oversight and superusers, ``("org", pk)`` for an organization's participant bills, None for nothing."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ("all", 0)
    org = viewer_organization(user)
    if org is None:
        return None
    return ("all", 0) if org_sees_everything(org) else ("org", org.pk)


def _one_visible_bill(*, pk: uuid.UUID, org: int | None = None, detail: bool) -> QuerySet[Bill]:
    qs = _with_parties(Bill.objects.all() if org is None else _participant_bills(org))
    qs = qs.filter(pk=pk)
    return qs.annotate(**_DETAIL_SQL) if detail else qs


_VISIBLE_BILL = CompiledRead(lambda **values: _one_visible_bill(detail=False, **values), first=True)
_DETAIL_BILL = CompiledRead(lambda **values: _one_visible_bill(detail=True, **values), first=True)


def _read_visible_bill(read: CompiledRead[Bill], user: Viewer, bill_id: object) -> Bill:
    pk = parse_bill_id(bill_id)
    reach = _viewer_reach(user)
    if reach is None:
        raise BillNotFound(gettext("No such bill."))
    bill = read.first(reach[0], pk=pk) if reach[0] == "all" else read.first(reach[0], pk=pk, org=reach[1])
    if bill is None:
        raise BillNotFound(gettext("No such bill."))
    return bill


def org_sees_bill(*, bill: Bill, org: Organization) -> bool:
    return org_sees_everything(org) or BillParticipant.objects.filter(bill_id=bill.pk, organization=org).exists()


def parse_bill_id(bill_id: object) -> uuid.UUID:
    try:
        return bill_id if isinstance(bill_id, uuid.UUID) else uuid.UUID(str(bill_id))
    except (ValueError, TypeError, AttributeError):
        raise BillNotFound(gettext("No such bill.")) from None


def bill_get_visible(*, user: Viewer, bill_id: object) -> Bill:
    """The bill if the user may read it; ``BillNotFound`` otherwise (absent and out of reach look alike)."""
    return _read_visible_bill(_VISIBLE_BILL, user, bill_id)


_ANCHORING_COUNTS = {"events": Count("id"), "anchored": Count("id", filter=Q(anchor__status=AnchorStatus.CONFIRMED)),
                     "failed": Count("id", filter=Q(anchor__status=AnchorStatus.FAILED))}


def _detail_sql() -> dict[str, RawSQL]:
    """The four facts ``bill_get_detail`` reads with the bill, as SQL written once: the same subqueries the ORM
    would build (tests/bills/test_detail_reads.py compares them), without compiling four nested queries on every
    read (about a third of a transition's response time went to that)."""
    bill, event, anchor = (m._meta.db_table for m in (Bill, BillEvent, AnchorRecord))
    early, purchase = EarlySettlementRequest._meta.db_table, BillPurchase._meta.db_table
    outer = f'"{bill}"'
    return {
        "anchoring_figures": RawSQL(
            f"SELECT JSONB_BUILD_OBJECT('events', COUNT(e.id), "
            f"'anchored', COUNT(e.id) FILTER (WHERE a.status = %s), 'failed', COUNT(e.id) FILTER (WHERE a.status = %s)) "
            f'FROM "{event}" e LEFT JOIN "{anchor}" a ON a.id = e.anchor_id WHERE e.bill_id = {outer}.id',
            (AnchorStatus.CONFIRMED.value, AnchorStatus.FAILED.value), output_field=JSONField()),
        "early_settlement_asked": RawSQL(
            f'EXISTS (SELECT 1 FROM "{early}" r WHERE r.bill_id = {outer}.id AND r.holder_seq = {outer}.holder_seq '
            "AND r.settled_at IS NULL)", (), output_field=BooleanField()),
        "has_children": RawSQL(f'EXISTS (SELECT 1 FROM "{bill}" c WHERE c.parent_id = {outer}.id)', (),
                               output_field=BooleanField()),
        "has_purchases": RawSQL(f'EXISTS (SELECT 1 FROM "{purchase}" p WHERE p.bill_id = {outer}.id)', (),
                                output_field=BooleanField()),
    }


def bill_get_detail(*, user: Viewer, bill_id: object) -> Bill:
    """``bill_get_visible`` with what the bill's page and API detail show read in the same query: the anchoring
    counts, the early-settlement fact, and whether it has split parts and purchases at all."""
    bill = _read_visible_bill(_DETAIL_BILL, user, bill_id)
    if not getattr(bill, "has_children", True):  # bill.children reads nothing (as if prefetched)
        none = Bill.objects.none()
        none._result_cache = []  # iterating it compiles nothing either
        bill._prefetched_objects_cache = {"children": none}  # type: ignore[attr-defined]
    return bill


_DETAIL_SQL = _detail_sql()


@dataclass(frozen=True)
class PurchaseQuote:
    """What a purchase of a listed bill costs today (DESIGN §3): actual days to maturity over 360."""

    rate: Decimal
    days: int
    basis: int
    interest: Decimal
    price: Decimal


DAY_COUNT_BASIS = 360


def purchase_quote(*, bill: Bill, rate: Decimal | None = None, today: dt.date | None = None) -> PurchaseQuote | None:
    """The price of ``bill`` at ``rate`` (default: its asking rate) bought ``today`` (default: the clock's);
    None past maturity or unpriced.

    ``interest = face × rate × days / 360``, ``price = face − interest``, rounded half-up to the minor unit.
    """
    rate = rate if rate is not None else bill.asking_rate
    if rate is None:
        return None
    days = (bill.maturity_date - (today or clock.today())).days
    if days < 1:
        return None
    interest, price = discount_price(
        face=bill.face, annual_rate=rate, days=days, currency=bill.currency, basis=DAY_COUNT_BASIS
    )
    return PurchaseQuote(rate=rate, days=days, basis=DAY_COUNT_BASIS, interest=interest, price=price)


def _purchases_of(*, bill: uuid.UUID, org: int | None = None) -> QuerySet[BillPurchase]:
    qs = BillPurchase.objects.filter(bill_id=bill).select_related("buyer", "seller").order_by("purchased_at", "id")
    return qs if org is None else qs.filter(Q(buyer_id=org) | Q(seller_id=org))


_PURCHASES = CompiledRead(_purchases_of)


def bill_purchases_visible(*, bill: Bill, user: Viewer) -> list[BillPurchase]:
    """The purchases of ``bill`` the viewer may see: its own (as buyer or seller); all of them for oversight
    and for the debtor, whose disclosure profile covers every event of its bills (``bills.disclosure``).

    Who sold a claim to whom at what price is commercially secret (DESIGN §8): a past or later holder of
    the bill does not learn what another financier paid.
    """
    if getattr(bill, "has_purchases", True) is False:
        return []
    if user_sees_everything(user):
        return _PURCHASES.rows("all", bill=bill.pk)
    org = viewer_organization(user)
    if org is None:
        return []
    if bill.debtor_id == org.pk:
        return _PURCHASES.rows("all", bill=bill.pk)
    return _PURCHASES.rows("party", bill=bill.pk, org=org.pk)


def bill_events(bill: Bill) -> QuerySet[BillEvent]:
    return BillEvent.objects.filter(bill=bill).select_related("actor", "anchor").order_by("seq")


_ALLOCATIONS = CompiledRead(
    lambda root: BillAllocation.objects.filter(bill_id=root).select_related("invoice").order_by("id"))


def bill_allocations(bill: Bill) -> list[BillAllocation]:
    """The invoice allocations behind a bill: its own, or its root's for a split part."""
    return _ALLOCATIONS.rows(root=bill.allocation_root_id)


def invoice_allocated(invoice_id: uuid.UUID | str) -> Decimal:
    """How much of an invoice live bills use (rejected and cancelled bills release theirs)."""
    total = (
        BillAllocation.objects.filter(invoice_id=invoice_id)
        .exclude(bill__state__in=RELEASED_STATES)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or Decimal("0")


def invoices_with_room(*, org: Organization, limit: int = 100) -> list[tuple[Invoice, Decimal]]:
    """The organization's invoices as a seller with what live bills leave of them, in one query."""
    used = (
        BillAllocation.objects.filter(invoice_id=OuterRef("pk"))
        .exclude(bill__state__in=RELEASED_STATES)
        .values("invoice_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    rows = (
        Invoice.objects.filter(seller=org)
        .exclude(status="disputed")
        .select_related("buyer")
        .annotate(used=Coalesce(Subquery(used), Decimal("0")))
        .order_by("-issue_date", "-created_at")[:limit]
    )
    return [(invoice, invoice.total_amount - invoice.used) for invoice in rows]


def anchoring_status(event: BillEvent) -> dict[str, object]:
    """What the API and pages show of an event's anchoring: pending, sent, anchored at block N, or failed."""
    anchor = event.anchor
    return {
        "status": "anchored" if anchor.status == AnchorStatus.CONFIRMED else anchor.status,
        "block": anchor.block_number,
        "tx_hash": anchor.tx_hash or None,
        "log_index": anchor.log_index,
        "error": anchor.last_error or None if anchor.status == AnchorStatus.FAILED else None,
    }


def bill_anchoring_summary(bill: Bill, events: list[BillEvent] | None = None) -> dict[str, int]:
    """How many of the bill's events are anchored, pending or failed: counted from ``events`` (all of the
    bill's, anchors selected) when given, else from ``bill_get_detail``'s figures, else in one query."""
    if events is not None:
        figures = {"events": len(events),
                   "anchored": sum(e.anchor.status == AnchorStatus.CONFIRMED for e in events),
                   "failed": sum(e.anchor.status == AnchorStatus.FAILED for e in events)}
    elif hasattr(bill, "anchoring_figures"):
        figures = bill.anchoring_figures or {"events": 0, "anchored": 0, "failed": 0}
    else:
        figures = BillEvent.objects.filter(bill=bill).order_by().aggregate(**_ANCHORING_COUNTS)
    return {"events": figures["events"], "anchored": figures["anchored"],
            "pending": figures["events"] - figures["anchored"] - figures["failed"], "failed": figures["failed"]}


def bill_available_actions(*, bill: Bill, user: Viewer) -> list[str]:
    """The actions the user's organization may try on the bill now, as the rule book's guard would decide
    (a hint for pages and the API; the services decide)."""
    org = viewer_organization(user)
    if org is None or not org.can_act:
        return []
    staff = bool(getattr(user, "is_staff", False) and org.is_platform)
    return rules.available(bill=bill, org=org, staff=staff, today=clock.today(), grace_days=settings.BILL_GRACE_DAYS,
                           facts=bill_facts(bill))


def bill_facts(bill: Bill) -> frozenset[str]:
    """The facts about a bill's records that the rule book's ``needs``/``unless`` name (read with the bill by
    ``bill_get_detail``)."""
    asked = getattr(bill, "early_settlement_asked", None)
    if asked is None:
        asked = _early_settlement_asked(bill.pk, bill.holder_seq).exists()
    return frozenset({rules.EARLY_SETTLEMENT_ASKED}) if asked else frozenset()


def _early_settlement_asked(bill_id: Any, holder_seq: Any) -> QuerySet[EarlySettlementRequest]:
    return EarlySettlementRequest.objects.filter(bill_id=bill_id, holder_seq=holder_seq, settled_at__isnull=True)


def offers_visible_to(user: Viewer, *, bill: Bill | None = None) -> QuerySet[BillOffer]:
    """Offers are seen by the bill's holder (all offers on what it holds now) and by the offering financier
    (its own); regulators and platform staff see every offer, read-only. Nobody else sees any."""
    org = viewer_organization(user)
    if org is None:
        return BillOffer.objects.none()
    qs = BillOffer.objects.select_related("bill", "financier")
    if not org_sees_everything(org):
        qs = qs.filter(Q(financier=org) | Q(bill__holder=org, holder_seq=F("bill__holder_seq")))
    if bill is not None:
        qs = qs.filter(bill=bill)
    return qs.order_by("-created_at", "-id")


def offer_quote(offer: BillOffer) -> PurchaseQuote | None:
    """What the offer pays today: the price at the offered rate for the days left to maturity."""
    return purchase_quote(bill=offer.bill, rate=offer.rate)


def bill_for_offers(*, user: Viewer, bill_id: object) -> Bill:
    """The bill whose offers ``user`` asks for: one it may see, or for a financier a listed bill or one it made
    an offer on. Anything else is 404, like a bill that does not exist."""
    pk = parse_bill_id(bill_id)
    org = viewer_organization(user)
    bill = Bill.objects.filter(pk=pk).first()
    if bill is not None and org is not None:
        if org_sees_bill(bill=bill, org=org):
            return bill
        if org.is_financier and (bill.state == BillState.LISTED
                                 or BillOffer.objects.filter(bill=bill, financier=org).exists()):
            return bill
    raise BillNotFound(gettext("No such bill."))

