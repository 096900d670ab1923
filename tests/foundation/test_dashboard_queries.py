"""Every role's dashboard issues the same number of SQL queries with 10 bills as with 500.

The first 10 bills go through the services (every queue has rows); the next 490 are written in bulk, straight
into the table, in every state the queues count, falling due within 7 and 30 days, owed and held by the
organizations whose dashboards are counted. The unread-notification badge of the nav is counted too.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bills import clock
from bills.models import Bill, BillState
from bills.services import offer_make
from finance_portal.notifications.models import Notification, NotificationKind
from tests.bills.factories import World, accepted, build_world, draft, financed, listed, pending, submitted
from tests.conftest import login

pytestmark = pytest.mark.django_db

DASHBOARDS = [
    ("supplier", "/home/supplier/"),
    ("supplier2", "/home/supplier/"),
    ("buyer", "/home/core_enterprise/"),
    ("financier", "/home/financier/"),
    ("regulator", "/home/regulator/"),
    ("admin", "/home/platform/"),
]


def first_bills(world: World) -> None:
    draft(world, "1000.00")
    submitted(world, "1100.00")
    accepted(world, "1200.00", days=5)
    pending(world, "1300.00")
    bill = listed(world, "1400.00", days=20)
    offer_make(bill_id=bill.pk, actor=world.user("financier"), rate="0.03")
    financed(world, "1500.00", days=6)
    for _ in range(4):
        accepted(world, "900.00", days=25)


def bulk_bills(world: World, n: int) -> None:
    supplier, supplier2 = world.org("supplier"), world.org("supplier2")
    buyer, financier = world.org("buyer"), world.org("financier")
    now, today = clock.now(), clock.today()
    kinds = itertools.cycle([
        (BillState.DRAFT, supplier, None), (BillState.SUBMITTED, supplier, None), (BillState.ACCEPTED, supplier, None),
        (BillState.LISTED, supplier, None), (BillState.FINANCED, financier, None),
        (BillState.PENDING_RECEIPT, buyer, supplier), (BillState.PENDING_RECEIPT, supplier, supplier2),
    ])
    rows = []
    for i, (state, holder, receiver) in zip(range(n), kinds, strict=False):
        rows.append(Bill(
            number=f"BULK-{i:06d}", state=state, creditor=supplier, debtor=buyer, holder=holder, pending_holder=receiver,
            face=Decimal(1000 + i), currency="CNY", issue_date=today, maturity_date=today + dt.timedelta(days=1 + i % 40),
            asking_rate=Decimal("0.035") if state == BillState.LISTED else None, created_at=now, updated_at=now,
        ))
    made = Bill.objects.bulk_create(rows)
    Notification.objects.bulk_create([
        Notification(organization=supplier, kind=NotificationKind.BILL_TRANSFERRED, bill=b, params={}, created_at=now)
        for b in made[:200]
    ])


def count(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(captured.captured_queries)


def measure(clients: dict[str, Client]) -> dict[tuple[str, str], int]:
    for user, path in DASHBOARDS:
        count(clients[user], path)  # warm-up: session, content types
    return {(user, path): count(clients[user], path) for user, path in DASHBOARDS}


def test_every_dashboard_issues_the_same_number_of_queries_with_10_and_with_500_bills():
    world = build_world()
    clients = {user: login(Client(), user) for user, _ in DASHBOARDS}
    first_bills(world)
    assert Bill.objects.count() >= 10
    small = measure(clients)
    bulk_bills(world, 490)
    large = measure(clients)
    grown = {key: (small[key], large[key]) for key in small if small[key] != large[key]}
    assert grown == {}, f"queries with 10 bills vs 500: {grown}"
    # The dashboards do count the new bills.
    waiting = Bill.objects.filter(state="submitted", debtor=world.org("buyer")).count()
    assert waiting > 70
    body = clients["buyer"].get("/home/core_enterprise/").content.decode()
    queue = body.split('id="queue-accept"')[1].split("</article>")[0]
    assert f'dash-count-some">{waiting}</span>' in queue and queue.count("<li") == 5
