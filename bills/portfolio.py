"""Reads behind the portfolio pages: a financier's holdings (cost, face, expected return, annualized yield,
days to maturity), its maturity ladder by ISO week and realized returns, and a seller's claims sold for cash
(price received, discount paid, monthly totals).

The one thing to know: everything here reads ``BillPurchase`` rows of one organization and nothing else, so a
financier never sees the price another financier paid, and every function runs a fixed number of queries
whatever the size of the book (sums and the weekly ladder are grouped in SQL; only the page of rows shown
is fetched). All figures are ``Decimal``. Yields are simple annual rates on the money paid, on the platform's
day-count basis (actual days over 360, DESIGN §3):

    annualized yield = (face − cost) / cost × 360 / days from the purchase to maturity

and for a whole book, weighting each bill by its cost and its days, Σ(face − cost) / Σ(cost × days) × 360.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth, TruncWeek

from bills import clock
from bills.models import Bill, BillEvent, BillPurchase, BillState, EventType
from finance_portal.organizations.models import Organization

ZERO = Decimal("0.00")
DAY_COUNT_BASIS = 360
# A bill no longer held as a financed claim: paid, divided into parts, or never live.
CLOSED_STATES = (BillState.SETTLED, BillState.SPLIT, BillState.CANCELLED, BillState.REJECTED)
REALIZED_WINDOW_DAYS = 90
_MONEY = DecimalField(max_digits=30, decimal_places=2)


def annualized_yield(*, gain: Decimal, cost: Decimal, days: int, basis: int = DAY_COUNT_BASIS) -> Decimal | None:
    """``gain / cost × basis / days`` as an exact Decimal fraction (0.0363… for 3.63… %); None without cost
    or days. Not rounded: pages round when they show it."""
    if cost <= 0 or days <= 0:
        return None
    return _per_year(gain, cost * days, basis)


def _per_year(gain: Decimal, cost_days: Decimal, basis: int = DAY_COUNT_BASIS) -> Decimal | None:
    """``gain × basis / Σ(cost × days)``: one division, so one bill alone and a book of one agree exactly."""
    return gain * basis / cost_days if cost_days > 0 else None


# ---------------------------------------------------------------------------------------------------------
# A financier's holdings
# ---------------------------------------------------------------------------------------------------------


def holdings_of(org: Organization) -> QuerySet[BillPurchase]:
    """The purchases by ``org`` of bills it still holds as bought: not settled, split or cancelled, and no
    change of holder since (``holder_seq``). Soonest maturity first; bill, debtor and seller joined."""
    return (
        BillPurchase.objects.filter(buyer=org, bill__holder=org, bill__holder_seq=F("holder_seq") + 1)
        .exclude(bill__state__in=CLOSED_STATES)
        .select_related("bill", "bill__debtor", "seller")
        .order_by("bill__maturity_date", "bill_id")
    )


@dataclass(frozen=True)
class Holding:
    """One held bill as a position: what it cost, what it pays, and how far it is from paying."""

    purchase: BillPurchase
    bill: Bill
    currency: str
    cost: Decimal
    face: Decimal
    expected_return: Decimal
    annualized_yield: Decimal | None
    days_held_to_maturity: int
    days_to_maturity: int
    purchased_on: dt.date


def holding_rows(purchases: Iterable[BillPurchase], *, today: dt.date) -> list[Holding]:
    """Each purchase (with its bill loaded) as a ``Holding``; no query beyond the iteration."""
    rows = []
    for p in purchases:
        bill = p.bill
        rows.append(Holding(
            purchase=p, bill=bill, currency=p.currency, cost=p.price, face=p.face,
            expected_return=p.face - p.price,
            annualized_yield=annualized_yield(gain=p.face - p.price, cost=p.price, days=p.days, basis=p.basis),
            days_held_to_maturity=p.days, days_to_maturity=(bill.maturity_date - today).days,
            purchased_on=clock.day_of(p.purchased_at),
        ))
    return rows


@dataclass(frozen=True)
class BookTotals:
    """The sums of a book of purchases in one currency, and its cost- and time-weighted annual yield."""

    currency: str
    count: int
    cost: Decimal
    face: Decimal
    expected_return: Decimal
    annualized_yield: Decimal | None


def _book_totals(purchases: QuerySet[BillPurchase]) -> dict[str, BookTotals]:
    rows = (
        purchases.order_by().values("currency")
        .annotate(n=Count("id"), cost=Sum("price"), face_total=Sum("face"), gain=Sum("interest"),
                  cost_days=Sum(ExpressionWrapper(F("price") * F("days"), output_field=_MONEY)))
        .order_by("currency")
    )
    out = {}
    for r in rows:
        out[r["currency"]] = BookTotals(currency=r["currency"], count=r["n"], cost=r["cost"], face=r["face_total"],
                                        expected_return=r["gain"],
                                        annualized_yield=_per_year(r["gain"], r["cost_days"] or ZERO))
    return out


def holdings_totals(org: Organization) -> dict[str, BookTotals]:
    """Per currency: bills held, total cost, face, expected return and the book's annualized yield. One query."""
    return _book_totals(holdings_of(org))


# ---------------------------------------------------------------------------------------------------------
# Maturity ladder
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LadderRung:
    label: str
    monday: dt.date | None
    face: Decimal
    count: int
    share: int  # percent of the largest rung of the currency, for a bar


@dataclass
class Ladder:
    currency: str
    rungs: list[LadderRung] = field(default_factory=list)


def iso_week_label(monday: dt.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def maturity_ladder(org: Organization, *, today: dt.date, weeks: int = 13) -> list[Ladder]:
    """Face falling due per ISO week (Monday to Sunday), from the current week for ``weeks`` weeks, per
    currency; with a rung for what is already past due and one for what falls due later. One query."""
    this_monday = today - dt.timedelta(days=today.weekday())
    last_monday = this_monday + dt.timedelta(weeks=weeks - 1)
    rows = (
        holdings_of(org).order_by()
        .annotate(week=TruncWeek("bill__maturity_date"))
        .values("currency", "week")
        .annotate(face_total=Sum("face"), n=Count("id"))
    )
    buckets: dict[str, dict[str, tuple[Decimal, int]]] = defaultdict(dict)
    for r in rows:
        week = r["week"].date() if isinstance(r["week"], dt.datetime) else r["week"]
        key = "past" if week < this_monday else "later" if week > last_monday else week.isoformat()
        face, n = buckets[r["currency"]].get(key, (ZERO, 0))
        buckets[r["currency"]][key] = (face + r["face_total"], n + r["n"])
    mondays = [this_monday + dt.timedelta(weeks=i) for i in range(weeks)]
    ladders = []
    for currency in sorted(buckets):
        found = buckets[currency]
        slots: list[tuple[str, dt.date | None, str]] = [("Past due", None, "past")] if "past" in found else []
        slots += [(iso_week_label(monday), monday, monday.isoformat()) for monday in mondays]
        if "later" in found:
            slots.append((f"After {iso_week_label(last_monday)}", None, "later"))
        top = max(face for face, _ in found.values())
        ladder = Ladder(currency)
        for label, monday, key in slots:
            face, n = found.get(key, (ZERO, 0))
            share = int((face / top * 100).to_integral_value(ROUND_HALF_UP)) if top > 0 else 0
            ladder.rungs.append(LadderRung(label, monday, face, n, share))
        ladders.append(ladder)
    return ladders


# ---------------------------------------------------------------------------------------------------------
# Realized returns
# ---------------------------------------------------------------------------------------------------------


def _settled_at() -> Subquery:
    return Subquery(
        BillEvent.objects.filter(bill_id=OuterRef("bill_id"), type=EventType.SETTLE)
        .order_by("-seq").values("occurred_at")[:1]
    )


def settled_holdings_of(org: Organization, *, since: dt.datetime) -> QuerySet[BillPurchase]:
    """Purchases by ``org`` of bills it held until the debtor paid it, settled at or after ``since``;
    each with ``settled_at``. Most recently settled first."""
    return (
        BillPurchase.objects.filter(buyer=org, bill__holder=org, bill__holder_seq=F("holder_seq") + 1,
                                    bill__state=BillState.SETTLED)
        .annotate(settled_at=_settled_at())
        .filter(settled_at__gte=since)
        .select_related("bill", "bill__debtor")
        .order_by("-settled_at", "bill_id")
    )


@dataclass(frozen=True)
class Realized:
    purchase: BillPurchase
    bill: Bill
    currency: str
    cost: Decimal
    received: Decimal
    realized_return: Decimal
    days_held: int
    annualized_yield: Decimal | None
    settled_on: dt.date


def realized_rows(purchases: Iterable[BillPurchase]) -> list[Realized]:
    """Each settled purchase (annotated ``settled_at``) with what it earned over the days actually held."""
    rows = []
    for p in purchases:
        settled = clock.day_of(p.settled_at)  # type: ignore[attr-defined]
        held = max((settled - clock.day_of(p.purchased_at)).days, 1)
        gain = p.face - p.price
        rows.append(Realized(
            purchase=p, bill=p.bill, currency=p.currency, cost=p.price, received=p.face, realized_return=gain,
            days_held=held, annualized_yield=annualized_yield(gain=gain, cost=p.price, days=held, basis=p.basis),
            settled_on=settled,
        ))
    return rows


def realized_totals(org: Organization, *, since: dt.datetime) -> dict[str, BookTotals]:
    """Per currency, over the bills settled since ``since``: count, cost, face received, return, and the
    yield weighted by cost and the days to maturity at purchase. One query."""
    return _book_totals(settled_holdings_of(org, since=since))


# ---------------------------------------------------------------------------------------------------------
# A seller's claims sold for cash
# ---------------------------------------------------------------------------------------------------------


def sales_of(org: Organization) -> QuerySet[BillPurchase]:
    """Every sale by ``org`` of a claim to a financier, newest first; bill, debtor and buyer joined."""
    return (
        BillPurchase.objects.filter(seller=org)
        .select_related("bill", "bill__debtor", "buyer")
        .order_by("-purchased_at", "-id")
    )


@dataclass(frozen=True)
class MonthOfSales:
    month: dt.date  # the first day of the month, in the zone asked for
    currency: str
    count: int
    face: Decimal
    received: Decimal
    discount: Decimal
    effective_rate: Decimal | None  # the discount as a yearly cost of the cash received, weighted


def sales_by_month(org: Organization, *, tz: dt.tzinfo) -> list[MonthOfSales]:
    """Per month (in ``tz``) and currency: claims sold, face, cash received, discount paid, and the yearly
    cost of that cash, Σdiscount / Σ(received × days) × 360. Newest month first. One query."""
    rows = (
        BillPurchase.objects.filter(seller=org).order_by()
        .annotate(month=TruncMonth("purchased_at", tzinfo=tz))
        .values("month", "currency")
        .annotate(n=Count("id"), face_total=Sum("face"), received=Sum("price"), discount=Sum("interest"),
                  cost_days=Sum(ExpressionWrapper(F("price") * F("days"), output_field=_MONEY)))
        .order_by("-month", "currency")
    )
    out = []
    for r in rows:
        out.append(MonthOfSales(
            month=r["month"].date() if isinstance(r["month"], dt.datetime) else r["month"], currency=r["currency"],
            count=r["n"], face=r["face_total"], received=r["received"], discount=r["discount"],
            effective_rate=_per_year(r["discount"], r["cost_days"] or ZERO),
        ))
    return out


def sales_totals(org: Organization) -> dict[str, BookTotals]:
    """Per currency, over every sale: count, cash received (``cost``), face, discount (``expected_return``)
    and the weighted yearly cost of the cash. One query."""
    return _book_totals(sales_of(org))
