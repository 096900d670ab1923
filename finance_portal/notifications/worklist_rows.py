"""The pieces of the landing pages' work queues (``worklists`` builds each role's from them): a queue's rows,
its figures, and the reads that fill them in few queries.

A newcomer must know two things. ``bill_rows`` reads the first rows of several queues of bills in one query
(a UNION ALL of sliced selects of the few columns a row shows), and ``counted`` reads a queue's first rows
with its count in one query (``COUNT(*) OVER ()`` is computed before the LIMIT).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from types import SimpleNamespace
from typing import Any

from django.db.models import Count, F, QuerySet, Value, Window
from django.urls import reverse

from bills.models import Bill
from finance_portal.organizations.models import Organization

ROWS = 5  # rows shown per queue


@dataclass(frozen=True)
class Row:
    label: str  # the bill number (or organization, transaction)
    url: str
    party: str = ""  # the counterparty's name
    amount: Decimal | None = None
    currency: str = ""
    day: dt.date | None = None  # a calendar date (maturity)
    moment: dt.datetime | None = None  # an instant (requested, expires)
    note: str = ""
    alert: bool = False


@dataclass(frozen=True)
class Queue:
    key: str
    title: str
    count: int
    see_all: str
    rows: list[Row] = field(default_factory=list)
    totals: list[tuple[Decimal, str]] = field(default_factory=list)  # (amount, currency), per currency
    hint: str = ""


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    amounts: list[tuple[Decimal, str]] = field(default_factory=list)  # money figures, per currency
    text: str = ""  # or a plain figure
    url: str = ""
    note: str = ""
    alert: bool = False


@dataclass
class Dashboard:
    queues: list[Queue] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


def bill_url(bill_id: Any) -> str:
    return reverse("bills:detail", args=[bill_id])


def bills_url(state: str = "") -> str:
    return reverse("bills:list") + (f"?state={state}" if state else "")


_DISPLAY_NAME = vars(Organization)["display_name"].fget  # the property's function: one source of the rule


def _party_name(legal_name: str | None, legal_name_zh: str | None) -> str:
    """``Organization.display_name`` of a party read as two columns (no model built for it)."""
    if legal_name is None:
        return ""
    return str(_DISPLAY_NAME(SimpleNamespace(legal_name=legal_name, legal_name_zh=legal_name_zh or "")))


@dataclass(frozen=True)
class BillQueue:
    """The rows one queue shows: its bills, the party named on each row and their order."""

    key: str
    bills: QuerySet[Bill]
    party: str
    order: tuple[str, ...] = ("maturity_date", "id")


def _sorted(rows: list[tuple[Any, ...]], order: tuple[str, ...], at: dict[str, int]) -> list[tuple[Any, ...]]:
    """``rows`` in ``order`` (field names, ``-`` for descending): a UNION ALL keeps no order of its parts."""
    for name in reversed(order):
        rows.sort(key=itemgetter(at[name.lstrip("-")]), reverse=name.startswith("-"))
    return rows


def bill_rows(queues: Iterable[BillQueue]) -> dict[str, list[Row]]:
    """The first ``ROWS`` bills of each queue, all queues in one query (a UNION ALL of sliced selects of the
    few columns a row shows, the party's names joined); an empty ``queues`` costs nothing."""
    fields = ("queue", "id", "number", "face", "currency", "maturity_date", "created_at", "party_name", "party_zh")
    at = {name: i for i, name in enumerate(fields)}
    queues = list(queues)
    parts = [q.bills.order_by(*q.order).annotate(queue=Value(q.key), party_name=F(f"{q.party}__legal_name"),
                                                 party_zh=F(f"{q.party}__legal_name_zh"))
             .values_list(*fields)[:ROWS] for q in queues]
    out: dict[str, list[tuple[Any, ...]]] = {}
    if parts:
        union = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:], all=True)
        for row in union:
            out.setdefault(row[0], []).append(row)
    orders = {q.key: q.order for q in queues}
    return {key: [Row(label=r[2], url=bill_url(r[1]), party=_party_name(r[7], r[8]), amount=r[3], currency=r[4],
                      day=r[5]) for r in _sorted(out.get(key, []), order, at)]
            for key, order in orders.items()}


def counted(qs: QuerySet[Any], order: tuple[str, ...]) -> tuple[list[Any], int]:
    """The first ``ROWS`` of ``qs`` in ``order`` and how many there are in all, in one query (``COUNT(*)
    OVER ()`` is computed before the LIMIT)."""
    rows = list(qs.annotate(n_total=Window(Count("pk"))).order_by(*order)[:ROWS])
    return rows, (rows[0].n_total if rows else 0)
