"""No page issues more SQL queries as data grows: the same count with 10 bills as with 500.

Each page is fetched once before counting (sessions, caches and the content types warm), then counted with
10 bills of every kind (accepted, listed, financed), and counted again after 490 more.
"""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.bills.factories import World, accepted, build_world, financed, listed
from tests.conftest import login

pytestmark = pytest.mark.django_db

MAKERS = (listed, financed, accepted)


def add_bills(world: World, n: int) -> list[object]:
    """``n`` bills of each kind in turn, owed by two debtors, financed by two financiers; every listed bill also
    carries an open offer (what the seller's pages list with it)."""
    from bills.services import offer_make

    made = []
    for i, maker in zip(range(n), itertools.cycle(MAKERS), strict=False):
        kw: dict[str, object] = {"face": f"{1000 + i}.00", "debtor": "buyer2" if i % 2 else "buyer"}
        if maker is financed:
            kw["buyer"] = "financier2" if i % 4 == 1 else "financier"
        bill = maker(world, **kw)  # type: ignore[operator]
        if maker is listed:
            offer_make(bill_id=bill.pk, actor=world.user("financier2"), rate="0.03")  # type: ignore[attr-defined]
        made.append(bill)
    return made


def pages(detail_id: object, listing_id: object) -> list[tuple[str, str]]:
    """(user, path) of every page counted: the issue's list first, then the other pages that list bills."""
    return [
        ("financier", "/marketplace/"),
        ("financier", "/api/v1/marketplace/"),
        ("supplier", "/home/supplier/"),
        ("buyer", "/home/core_enterprise/"),
        ("financier", "/home/financier/"),
        ("regulator", "/home/regulator/"),
        ("admin", "/home/platform/"),
        ("supplier", "/bills/"),
        ("buyer", "/bills/"),
        ("financier", "/bills/"),
        ("regulator", "/bills/"),
        ("supplier", f"/bills/{detail_id}/"),
        ("financier", f"/bills/{detail_id}/"),
        ("financier", f"/marketplace/{listing_id}/"),
        ("supplier", f"/bills/{listing_id}/"),  # the seller's page of a listed bill, with its offers
        ("financier2", "/bills/"),
        ("financier2", "/portfolio/"),
        ("supplier", "/api/v1/bills/"),
        ("financier", "/portfolio/"),
        ("supplier", "/cash/"),
        ("supplier", "/money/"),
        ("financier", "/money/"),
        ("supplier", "/invoices/"),
        ("regulator", "/oversight/"),
        ("regulator", "/oversight/audit/"),
    ]


def count_queries(clients: dict[str, Client], user: str, path: str) -> int:
    client = clients[user]
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (user, path, response.status_code)
    return len(captured.captured_queries)


def measure(clients: dict[str, Client], *ids: object) -> dict[tuple[str, str], int]:
    for user, path in pages(*ids):
        count_queries(clients, user, path)  # warm-up
    return {(user, path): count_queries(clients, user, path) for user, path in pages(*ids)}


def test_pages_issue_the_same_number_of_queries_with_10_and_with_500_bills():
    world = build_world()
    clients = {name: login(Client(), name) for name in ("supplier", "buyer", "financier", "financier2", "regulator", "admin")}
    first = add_bills(world, 10)
    financier = world.org("financier")
    detail_id = next(b for b in first if b.state == "financed" and b.holder == financier).pk  # type: ignore[attr-defined]
    listing_id = next(b for b in first if b.state == "listed").pk  # type: ignore[attr-defined]
    small = measure(clients, detail_id, listing_id)
    more = add_bills(world, 490)
    large = measure(clients, detail_id, listing_id)
    # The pages do show the new bills: the marketplace's pages together list every listed one.
    market = "".join(clients["financier"].get(f"/marketplace/?page={n}").content.decode() for n in range(1, 12))
    assert all(b.number in market for b in more if b.state == "listed")  # type: ignore[attr-defined]
    grown = {f"{user} {path}": (small[key], large[key]) for key in small for user, path in [key] if large[key] != small[key]}
    assert grown == {}, f"queries with 10 bills vs 500: {grown}"
