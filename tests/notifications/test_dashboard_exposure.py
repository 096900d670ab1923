"""The financier dashboard's exposure queue: what the financier holds under each live credit limit, the
holdings read only for the debtors of the limits it shows (finance_portal/notifications/worklists.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from finance_portal.notifications.worklists import _exposure
from sme_credit.services import credit_limit_grant
from tests.bills.factories import financed

pytestmark = pytest.mark.django_db


def grant(world, amount: str, *, debtor: str, supplier: str | None = None):  # type: ignore[no-untyped-def]
    return credit_limit_grant(actor=world.user("financier"), debtor=world.org(debtor).credit_code, amount=amount,
                              supplier=world.org(supplier).credit_code if supplier else None)


def _bill_reads(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if 'FROM "bills_bill"' in q["sql"]]


def test_each_limit_shows_what_is_held_under_it_and_flags_the_one_exceeded(world):
    financed(world, "10000.00")  # buyer, drawn by supplier
    financed(world, "7000.00", supplier="supplier2")  # buyer, drawn by supplier2
    financed(world, "5000.00", debtor="buyer2")
    financed(world, "3000.00", buyer="financier2")  # another financier's holding counts for nobody here
    grant(world, "20000.00", debtor="buyer")
    grant(world, "8000.00", debtor="buyer", supplier="supplier")
    queue = _exposure(world.org("financier"))
    used = sorted((row.amount, row.alert) for row in queue.rows)
    assert used == [(Decimal("10000.00"), True), (Decimal("17000.00"), False)]
    assert queue.count == 2
    grant(world, "1000.00", debtor="buyer2")
    assert sorted(row.amount for row in _exposure(world.org("financier")).rows) == [
        Decimal("5000.00"), Decimal("10000.00"), Decimal("17000.00")]


def test_without_a_limit_the_holdings_are_not_read(world):
    financed(world, "10000.00")
    with CaptureQueriesContext(connection) as ctx:
        queue = _exposure(world.org("financier"))
    assert queue.count == 0 and queue.rows == []
    assert _bill_reads(ctx) == []
    grant(world, "20000.00", debtor="buyer")
    with CaptureQueriesContext(connection) as ctx:
        queue = _exposure(world.org("financier"))
    assert [row.amount for row in queue.rows] == [Decimal("10000.00")]
    reads = _bill_reads(ctx)
    assert len(reads) == 1 and f'"bills_bill"."debtor_id" IN ({world.org("buyer").pk})' in reads[0]


def test_the_dashboard_page_shows_the_exposure(world):
    financed(world, "10000.00")
    grant(world, "8000.00", debtor="buyer")
    client = Client()
    client.force_login(world.user("financier"))
    body = client.get("/home/financier/").content.decode()
    queue = body.split('id="queue-exposure"')[1].split("</article>")[0]
    assert "10,000.00" in queue and world.org("buyer").legal_name in queue
