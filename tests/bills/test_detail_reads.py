"""The bill detail's one-query read (``selectors.bill_get_detail``): the same detail as the plain read with its
separate queries, for every viewer and bill shape, in fewer queries that do not grow with the bill's history."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from bills import selectors, services
from bills.errors import BillNotFound
from bills.models import Bill, BillEvent
from bills.serializers import BillDetailSerializer
from chain_adapter.models import AnchorRecord, AnchorStatus
from tests.bills.factories import accepted, financed, listed, pending

pytestmark = pytest.mark.django_db

VIEWERS = ("supplier", "buyer", "financier", "financier2", "supplier2", "regulator")


def _shapes(world):  # type: ignore[no-untyped-def]
    """Bills of every shape the detail shows: parts and a split parent, purchases, an early-settlement request,
    anchors anchored, failed and pending, a transfer waiting for its receiver."""
    plain = accepted(world)
    sold = financed(world)
    parent = accepted(world, face="9000.00")
    services.bill_split(bill_id=parent.pk, actor=world.user("supplier"),
                        parts=[{"face": "4000.00"}, {"face": "5000.00"}])
    asked = accepted(world)
    services.bill_request_early_settlement(bill_id=asked.pk, actor=world.user("buyer"))
    events = list(BillEvent.objects.filter(bill=sold).order_by("seq"))
    AnchorRecord.objects.filter(pk=events[0].anchor_id).update(status=AnchorStatus.CONFIRMED, block_number=7)
    AnchorRecord.objects.filter(pk=events[1].anchor_id).update(status=AnchorStatus.FAILED, last_error="boom")
    parts = list(Bill.objects.filter(parent=parent))
    return [plain, sold, parent, *parts, asked, pending(world), listed(world)]


def _detail(bill: Bill, user) -> dict:  # type: ignore[no-untyped-def]
    return BillDetailSerializer(bill, context={"request": SimpleNamespace(user=user)}).data  # type: ignore[return-value]


def test_the_one_query_detail_equals_the_plain_read_for_every_viewer_and_shape(world):
    seen = 0
    for bill in _shapes(world):
        for name in VIEWERS:
            user = world.user(name)
            try:
                plain = selectors.bill_get_visible(user=user, bill_id=bill.pk)
            except BillNotFound:
                with pytest.raises(BillNotFound):
                    selectors.bill_get_detail(user=user, bill_id=bill.pk)
                continue
            assert _detail(selectors.bill_get_detail(user=user, bill_id=bill.pk), user) == _detail(plain, user)
            seen += 1
    assert seen > 20


def test_the_anchoring_summary_is_the_same_counted_three_ways(world):
    bill = financed(world)
    events = list(BillEvent.objects.filter(bill=bill).select_related("anchor").order_by("seq"))
    AnchorRecord.objects.filter(pk=events[0].anchor_id).update(status=AnchorStatus.CONFIRMED, block_number=7)
    AnchorRecord.objects.filter(pk=events[1].anchor_id).update(status=AnchorStatus.FAILED)
    events = list(BillEvent.objects.filter(bill=bill).select_related("anchor").order_by("seq"))
    expected = {"events": len(events), "anchored": 1, "pending": len(events) - 2, "failed": 1}
    detail = selectors.bill_get_detail(user=world.user("supplier"), bill_id=bill.pk)
    assert selectors.bill_anchoring_summary(detail) == expected
    assert selectors.bill_anchoring_summary(Bill.objects.get(pk=bill.pk)) == expected
    assert selectors.bill_anchoring_summary(bill, events) == expected
    with CaptureQueriesContext(connection) as ctx:
        selectors.bill_anchoring_summary(detail)
        selectors.bill_anchoring_summary(bill, events)
    assert len(ctx.captured_queries) == 0


def test_the_early_settlement_request_shows_in_the_actions_read_with_the_bill(world):
    bill = accepted(world)
    holder = world.user("supplier")
    assert "accept_early_settlement" not in _detail(selectors.bill_get_detail(user=holder, bill_id=bill.pk), holder)[
        "actions"]
    services.bill_request_early_settlement(bill_id=bill.pk, actor=world.user("buyer"))
    detail = selectors.bill_get_detail(user=holder, bill_id=bill.pk)
    assert detail.early_settlement_asked is True  # type: ignore[attr-defined]
    assert "accept_early_settlement" in _detail(detail, holder)["actions"]


_LAST: list[dict] = []


def _api_queries(world, name: str, bill: Bill) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_login(world.user(name))
    client.get(f"/api/v1/bills/{bill.pk}/")  # warm: the session's first request renews it
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/api/v1/bills/{bill.pk}/")
    assert response.status_code == 200
    _LAST[:] = ctx.captured_queries
    return len(ctx.captured_queries), response.json()


def test_the_detail_api_reads_the_same_few_queries_however_long_the_history(world):
    young = accepted(world)
    old = financed(world)
    services.bill_request_early_settlement(bill_id=old.pk, actor=world.user("buyer"))
    few, _ = _api_queries(world, "supplier", young)
    many, body = _api_queries(world, "supplier", old)
    assert body["purchases"] and body["anchoring"]["events"] >= 4
    assert few <= many <= few + 1  # a bill with purchases reads them; the rest is read with the bill
    # session, user, membership, the bill (with its anchoring, facts, parts and purchases flags),
    # allocations, purchases
    assert many <= 6, "\n".join(q["sql"][:120] for q in _LAST)


def test_a_split_bill_reads_its_parts_and_an_unsplit_one_does_not(world):
    parent = accepted(world, face="9000.00")
    services.bill_split(bill_id=parent.pk, actor=world.user("supplier"), parts=[{"face": "4000.00"},
                                                                                {"face": "5000.00"}])
    plain = accepted(world)
    split_queries, body = _api_queries(world, "supplier", parent)
    plain_queries, plain_body = _api_queries(world, "supplier", plain)
    assert sorted(c["face"] for c in body["children"]) == ["4000.00", "5000.00"]
    assert plain_body["children"] == []
    assert split_queries == plain_queries + 1


def test_the_bill_page_reads_neither_the_anchoring_nor_the_facts_apart(world):
    bill = financed(world)
    client = APIClient()
    client.force_login(world.user("supplier"))
    client.get(f"/bills/{bill.pk}/")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/bills/{bill.pk}/")
    assert response.status_code == 200
    sql = [q["sql"] for q in ctx.captured_queries]
    assert not any(q.startswith('SELECT 1 AS "a" FROM "bills_earlysettlementrequest"') for q in sql)  # with the bill
    assert sum(q.startswith('SELECT "bills_billevent"."id"') for q in sql) == 1  # the history, anchors joined
    assert not any(q.startswith('SELECT "chain_adapter_anchorrecord"."status"') for q in sql)  # counted from it
    assert sum(q.startswith('SELECT "bills_bill"."id"') for q in sql) == 1  # the bill; no parts to read
    events = list(BillEvent.objects.filter(bill=bill).order_by("seq"))
    assert f"0 of {len(events)} events anchored" in response.content.decode()
    AnchorRecord.objects.filter(pk=events[0].anchor_id).update(status=AnchorStatus.CONFIRMED, block_number=7)
    AnchorRecord.objects.filter(pk=events[1].anchor_id).update(status=AnchorStatus.FAILED)
    for url in (f"/bills/{bill.pk}/", f"/bills/{bill.pk}/history/"):
        page = client.get(url).content.decode()
        assert f"1 of {len(events)} events anchored, 1 failed" in page, url


def test_the_facts_written_in_sql_are_what_the_orm_counts(world):
    """``bill_get_detail``'s four facts (SQL written once) against the same facts built with the ORM."""
    from django.db.models import Count, Exists, OuterRef, Q

    from bills.models import BillPurchase
    from bills.models_money import EarlySettlementRequest

    shapes = _shapes(world)
    orm = {b.pk: b for b in Bill.objects.filter(pk__in=[s.pk for s in shapes]).annotate(
        n_events=Count("events", distinct=True),
        n_anchored=Count("events", filter=Q(events__anchor__status=AnchorStatus.CONFIRMED), distinct=True),
        n_failed=Count("events", filter=Q(events__anchor__status=AnchorStatus.FAILED), distinct=True),
        is_asked=Exists(EarlySettlementRequest.objects.filter(bill=OuterRef("pk"), holder_seq=OuterRef("holder_seq"),
                                                           settled_at__isnull=True)),
        is_parent=Exists(Bill.objects.filter(parent=OuterRef("pk"))),
        is_bought=Exists(BillPurchase.objects.filter(bill=OuterRef("pk"))))}
    facts = set()
    for bill in shapes:
        detail = selectors.bill_get_detail(user=world.user("regulator"), bill_id=bill.pk)
        want = orm[bill.pk]
        assert detail.anchoring_figures == {"events": want.n_events, "anchored": want.n_anchored,
                                            "failed": want.n_failed}
        assert (detail.early_settlement_asked, detail.has_children, detail.has_purchases) == (
            want.is_asked, want.is_parent, want.is_bought)
        facts.add((detail.early_settlement_asked, detail.has_children, detail.has_purchases,
                   detail.anchoring_figures["anchored"] > 0, detail.anchoring_figures["failed"] > 0))
    # each fact is seen both true and false among the shapes
    for i in range(5):
        assert {f[i] for f in facts} == {True, False}, i
