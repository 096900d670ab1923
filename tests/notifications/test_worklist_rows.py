"""The dashboards read their queues in few queries (one UNION ALL for the bill rows, the count of a queue with
its rows, the 7-day rows cut from the 30-day ones): each queue still shows what a plain query of its own
would give, in the same order, with the party's name in the reader's language.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Q, QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from bills import clock
from bills.models import Bill, BillOffer, BillState
from bills.models_money import OfferStatus
from finance_portal.notifications.worklist_rows import ROWS, Dashboard, Queue
from finance_portal.notifications.worklists import HELD_STATES, OWED_STATES, dashboard
from tests.bills.factories import World, build_world
from tests.foundation.test_dashboard_queries import bulk_bills, first_bills

pytestmark = pytest.mark.django_db


def board(world: World, user: str, role: str) -> tuple[Dashboard, int]:
    with CaptureQueriesContext(connection) as captured:
        result = dashboard(user=world.user(user), organization=world.org(user), role=role)
    return result, len(captured.captured_queries)


def queue(result: Dashboard, key: str) -> Queue:
    return next(q for q in result.queues if q.key == key)


def expected(qs: QuerySet[Bill], party: str, *order: str) -> list[tuple[str, str, object]]:
    """What the queue showed when each read its own rows with the parties joined."""
    rows = qs.select_related(party).order_by(*(order or ("maturity_date", "id")))[:ROWS]
    return [(b.number, getattr(b, party).display_name if getattr(b, party) else "", b.maturity_date) for b in rows]


def shown(q: Queue) -> list[tuple[str, str, object]]:
    return [(r.label, r.party, r.day) for r in q.rows]


def windows(days: int) -> Q:
    today = clock.today()
    return Q(maturity_date__gte=today, maturity_date__lte=today + dt.timedelta(days=days))


@pytest.fixture
def busy_world() -> World:
    world = build_world()
    first_bills(world)
    bulk_bills(world, 200)
    buyer = world.org("buyer")
    buyer.legal_name_zh = "岭南电器"
    buyer.save(update_fields=["legal_name_zh"])
    return world


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_supplier_queues_show_what_their_own_queries_would(busy_world: World, language: str) -> None:
    world, org = busy_world, busy_world.org("supplier")
    with translation.override(language):
        result, queries = board(world, "supplier", "supplier")
        held = Bill.objects.filter(holder=org, state__in=HELD_STATES)
        cases = {
            "drafts": expected(Bill.objects.filter(creditor=org, state=BillState.DRAFT), "debtor", "-created_at", "id"),
            "submitted": expected(Bill.objects.filter(creditor=org, state=BillState.SUBMITTED), "debtor"),
            "receipt": expected(Bill.objects.filter(pending_holder=org, state=BillState.PENDING_RECEIPT), "holder"),
            "due7": expected(held.filter(windows(7)), "debtor"),
            "due30": expected(held.filter(windows(30)), "debtor"),
        }
    for key, rows in cases.items():
        assert len(rows) == ROWS, key  # every queue is full: the cut of the rows is tested
        assert shown(queue(result, key)) == rows, key
    if language == "zh-hans":
        assert {r.party for r in queue(result, "drafts").rows} == {"岭南电器"}
    offers = BillOffer.objects.filter(bill__holder=org, status=OfferStatus.OPEN, bill__state=BillState.LISTED,
                                      expires_at__gt=clock.now())
    assert queue(result, "offers").count == offers.count() == 1
    # aggregate, offers (rows and count), disputed invoices (rows and count), the bill rows, cash
    assert queries <= 5


def test_the_due_queues_cut_at_day_7_even_when_fewer_than_five_fall_due_within_it(busy_world: World) -> None:
    world, org = busy_world, busy_world.org("buyer")
    result, _ = board(world, "buyer", "core_enterprise")
    owed = Bill.objects.filter(debtor=org, state__in=OWED_STATES)
    assert shown(queue(result, "due7")) == expected(owed.filter(windows(7)), "holder")
    assert shown(queue(result, "due30")) == expected(owed.filter(windows(30)), "holder")
    assert queue(result, "due7").count == owed.filter(windows(7)).count()
    Bill.objects.filter(pk__in=[b.pk for b in owed.filter(windows(7)).order_by("maturity_date", "id")[2:]]).update(
        maturity_date=clock.today() + dt.timedelta(days=20))
    result, _ = board(world, "buyer", "core_enterprise")
    assert len(queue(result, "due7").rows) == 2
    assert shown(queue(result, "due7")) == expected(owed.filter(windows(7)), "holder")
    assert shown(queue(result, "due30")) == expected(owed.filter(windows(30)), "holder")


def test_the_financier_queues_and_their_queries(busy_world: World) -> None:
    world, org = busy_world, busy_world.org("financier")
    result, queries = board(world, "financier", "financier")
    held = Bill.objects.filter(holder=org, state__in=HELD_STATES)
    assert shown(queue(result, "due30")) == expected(held.filter(windows(30)), "debtor")
    assert shown(queue(result, "due7")) == expected(held.filter(windows(7)), "debtor")
    offers = BillOffer.objects.filter(financier=org, status=OfferStatus.OPEN, bill__state=BillState.LISTED)
    assert queue(result, "offers").count == offers.count()
    # aggregate, offers, market count, due rows, credit limits, holdings under them, cash
    assert queries <= 7


def test_an_organization_with_empty_queues_reads_no_rows() -> None:
    world = build_world()
    assert not Bill.objects.exists()
    result, queries = board(world, "supplier", "supplier")
    assert all(q.count == 0 and q.rows == [] for q in result.queues)
    assert queries <= 4  # the bill rows are not read: every count says zero
