"""The bills REST API: every endpoint's happy path, every bad input (400 naming the field, nothing written),
refused transitions (409 with the rule), filters, pagination, events with anchoring, the marketplace."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from bills import clock
from bills.models import Bill, BillEvent, BillPurchase, BillState
from chain_adapter.models import AnchorRecord, AnchorStatus
from tests.bills.factories import (
    accepted,
    draft,
    financed,
    in_days,
    listed,
    make_invoice,
    pending,
    refresh,
    submitted,
)
from tests.bills.test_services import counts

pytestmark = pytest.mark.django_db


def client_for(world, username: str) -> APIClient:
    client = APIClient()
    client.force_login(world.user(username))
    return client


def post(world, username: str, url: str, body: object = None, **headers: str):  # type: ignore[no-untyped-def]
    return client_for(world, username).post(url, body if body is not None else {}, format="json", headers=headers)


def act(world, username, bill, action, body=None, **headers):  # type: ignore[no-untyped-def]
    return post(world, username, f"/api/v1/bills/{bill.pk}/{action}/", body, **headers)


def create_body(invoice, **over):  # type: ignore[no-untyped-def]
    body = {
        "invoice_allocations": [{"invoice": str(invoice.pk), "amount": "10000.00"}],
        "maturity_date": in_days(90).isoformat(),
    }
    body.update(over)
    return body


# ---------------------------------------------------------------------------------------------------------
# Create, list, detail
# ---------------------------------------------------------------------------------------------------------


def test_create_returns_the_new_bill(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"))
    response = post(world, "supplier", "/api/v1/bills/", create_body(invoice, reference="PO-77"))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "draft" and body["face"] == "10000.00" and body["currency"] == "CNY"
    assert body["debtor"]["credit_code"] == world.org("buyer").credit_code
    assert body["allocations"] == [
        {"invoice": str(invoice.pk), "invoice_number": invoice.invoice_number, "invoice_total": "10000.00",
         "invoice_status": "verified", "amount": "10000.00"}
    ]
    assert body["actions"] == ["submit", "cancel"]
    assert body["anchoring"] == {"events": 1, "anchored": 0, "pending": 1, "failed": 0}
    assert body["bill_key"] == refresh(Bill.objects.get(pk=body["id"])).bill_key


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"invoice_allocations": [{"invoice": "{inv}", "amount": "-1.00"}]}, "invoice_allocations[0].amount"),
        ({"invoice_allocations": [{"invoice": "{inv}", "amount": "0"}]}, "invoice_allocations[0].amount"),
        ({"invoice_allocations": [{"invoice": "{inv}", "amount": "1.005"}]}, "invoice_allocations[0].amount"),
        ({"invoice_allocations": [{"invoice": "{inv}", "amount": 100.5}]}, "invoice_allocations[0].amount"),
        ({"invoice_allocations": [{"invoice": "{inv}", "amount": "1e400"}]}, "invoice_allocations[0].amount"),
        ({"invoice_allocations": [{"invoice": "not-a-uuid", "amount": "1.00"}]}, "invoice_allocations[0].invoice"),
        ({"invoice_allocations": [{"invoice": "00000000-0000-0000-0000-000000000001", "amount": "1.00"}]},
         "invoice_allocations[0].invoice"),
        ({"invoice_allocations": []}, "invoice_allocations"),
        ({"invoice_allocations": None}, "invoice_allocations"),
        ({"invoice_allocations": "abc"}, "invoice_allocations"),
        ({"currency": "ZZZ"}, "currency"),
        ({"face": "9999.99"}, "face"),
        ({"face": 10000.0}, "face"),
        ({"maturity_date": "2026-02-30"}, "maturity_date"),
        ({"maturity_date": "{yesterday}"}, "maturity_date"),
        ({"maturity_date": "{beyond}"}, "maturity_date"),
        ({"maturity_date": None}, "maturity_date"),
        ({"reference": "r" * 65}, "reference"),
    ],
)
def test_create_bad_input_is_a_400_naming_the_field(world, over, field):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"))
    values = {"{inv}": str(invoice.pk), "{yesterday}": (clock.today() - dt.timedelta(days=1)).isoformat(),
              "{beyond}": in_days(400).isoformat()}

    def fill(v):  # type: ignore[no-untyped-def]
        if isinstance(v, list):
            return [fill(x) for x in v]
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        return values.get(v, v) if isinstance(v, str) else v

    before = counts()
    response = post(world, "supplier", "/api/v1/bills/", create_body(invoice, **fill(over)))
    assert response.status_code == 400, response.json()
    assert field in response.json(), response.json()
    assert counts() == before


def test_create_refuses_a_body_that_is_not_an_object(world):
    response = post(world, "supplier", "/api/v1/bills/", ["x"])
    assert response.status_code == 400


def test_create_over_allocation_is_a_409(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    draft(world, "9000.00", invoice=invoice)
    response = post(world, "supplier", "/api/v1/bills/", create_body(invoice))
    assert response.status_code == 409
    assert response.json()["code"] == "invoice_over_allocated" and "1000.00" in response.json()["detail"]


def test_list_is_paginated_and_filtered_to_what_the_user_sees(world):
    mine = [draft(world) for _ in range(3)]
    theirs = draft(world, supplier="supplier2")
    body = client_for(world, "supplier").get("/api/v1/bills/").json()
    assert body["count"] == 3 and {b["id"] for b in body["results"]} == {str(b.pk) for b in mine}
    body = client_for(world, "supplier2").get("/api/v1/bills/").json()
    assert [b["id"] for b in body["results"]] == [str(theirs.pk)]
    assert client_for(world, "buyer").get("/api/v1/bills/").json()["count"] == 4
    assert client_for(world, "regulator").get("/api/v1/bills/").json()["count"] == 4
    page = client_for(world, "supplier").get("/api/v1/bills/?page=2")
    assert page.status_code == 404


def test_list_filters(world):
    a = accepted(world, days=30)
    b = draft(world, days=200)
    c = draft(world, debtor="buyer2", days=100)
    pending(world, days=60)
    client = client_for(world, "supplier")

    def ids(query: str) -> set[str]:
        response = client.get(f"/api/v1/bills/?{query}")
        assert response.status_code == 200, response.json()
        return {x["id"] for x in response.json()["results"]}

    assert ids("state=accepted") == {str(a.pk)}
    assert ids("state=draft&state=accepted") == {str(a.pk), str(b.pk), str(c.pk)}
    assert ids(f"debtor={world.org('buyer2').credit_code}") == {str(c.pk)}
    assert ids(f"debtor={world.org('buyer2').pk}") == {str(c.pk)}
    assert str(a.pk) in ids(f"holder={world.org('supplier').credit_code}")
    assert ids(f"maturity_after={in_days(90)}") == {str(b.pk), str(c.pk)}
    assert ids(f"maturity_before={in_days(45)}") == {str(a.pk)}
    assert ids(f"maturity_after={in_days(50)}&maturity_before={in_days(150)}") != set()
    for bad in ("state=bogus", "maturity_after=tomorrow", "maturity_before=2026-13-01"):
        assert client.get(f"/api/v1/bills/?{bad}").status_code == 400


def test_the_state_filter_repeats_no_bill_and_reads_no_distinct(world):
    """A bill is listed once whatever the filters (the supplier is its creditor and holder, so it has two
    participant rows), and the query has no DISTINCT, which made PostgreSQL sort every match before the LIMIT."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    made = {str(accepted(world).pk) for _ in range(3)} | {str(draft(world).pk) for _ in range(2)}
    client = client_for(world, "supplier")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/api/v1/bills/?state=draft&state=accepted&holder={world.org('supplier').credit_code}")
    rows = [x["id"] for x in response.json()["results"]]
    assert len(rows) == len(set(rows)) == response.json()["count"] and made <= set(rows)
    assert not [q for q in ctx.captured_queries if "DISTINCT" in q["sql"]]


def test_a_party_filter_by_credit_code_filters_the_bills_own_column(world):
    """The credit code is looked up first and the bills are filtered on ``debtor_id``/``holder_id``: with the
    organization joined instead, PostgreSQL could not read the (party, state, created) index in page order. An
    unknown or lower-case code behaves as before (nothing, and the same bills)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    mine = draft(world, debtor="buyer2", days=100)
    client = client_for(world, "supplier")
    code = world.org("buyer2").credit_code
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(f"/api/v1/bills/?debtor={code}").json()
    assert [x["id"] for x in body["results"]] == [str(mine.pk)] and body["count"] == 1
    wheres = [q["sql"].split(" WHERE ", 1)[1] for q in ctx.captured_queries
              if 'FROM "bills_bill"' in q["sql"] and " WHERE " in q["sql"]]
    assert any(f'"bills_bill"."debtor_id" = {world.org("buyer2").pk}' in w for w in wheres), wheres
    assert not [w for w in wheres if "credit_code" in w]  # (the joined parties' columns are selected, not filtered)
    assert client.get(f"/api/v1/bills/?debtor={code.lower()}").json()["count"] == 1
    assert client.get("/api/v1/bills/?debtor=91000000000000000X").json()["count"] == 0
    assert client.get("/api/v1/bills/?holder=91000000000000000X").json()["results"] == []


def test_detail_and_404s(world):
    bill = accepted(world)
    client = client_for(world, "supplier")
    body = client.get(f"/api/v1/bills/{bill.pk}/").json()
    assert body["number"] == bill.number and body["actions"] == ["transfer", "split", "list"]
    for bad in ("00000000-0000-0000-0000-000000000000", "nope"):
        response = client.get(f"/api/v1/bills/{bad}/")
        assert response.status_code == 404 and response.json()["code"] == "bill_not_found"
    assert client_for(world, "supplier2").get(f"/api/v1/bills/{bill.pk}/").status_code == 404


def test_anonymous_callers_are_refused(world):
    bill = accepted(world)
    client = APIClient()
    assert client.get("/api/v1/bills/").status_code in (401, 403)
    assert client.get(f"/api/v1/bills/{bill.pk}/").status_code in (401, 403)
    assert client.post(f"/api/v1/bills/{bill.pk}/settle/", {}, format="json").status_code in (401, 403)


def test_token_authentication(world):
    bill = draft(world)
    user = world.user("supplier")
    user.set_password("pw-for-token-1")
    user.save()
    client = APIClient()
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(f"/api/v1/bills/{bill.pk}/").status_code == 200
    assert client.post(f"/api/v1/bills/{bill.pk}/submit/", {}, format="json").status_code == 200


# ---------------------------------------------------------------------------------------------------------
# One POST per transition
# ---------------------------------------------------------------------------------------------------------


def test_the_whole_life_of_a_bill_through_the_api(world):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"))
    bill_id = post(world, "supplier", "/api/v1/bills/", create_body(invoice)).json()["id"]
    bill = Bill.objects.get(pk=bill_id)

    def ok(user, action, body=None, **headers):  # type: ignore[no-untyped-def]
        response = act(world, user, bill, action, body, **headers)
        assert response.status_code == 200, (action, response.json())
        return response.json()

    assert ok("supplier", "submit")["state"] == "submitted"
    assert ok("buyer", "accept", {"reason": "Goods received"})["state"] == "accepted"
    assert ok("supplier", "list", {"rate": "0.036"})["asking_rate"] == "0.036000"
    assert ok("supplier", "unlist")["state"] == "accepted"
    assert ok("supplier", "transfer", {"to": world.org("supplier2").credit_code})["state"] == "pending_receipt"
    assert ok("supplier2", "refuse", {"reason": "Not expected"})["state"] == "accepted"
    assert ok("supplier", "transfer", {"to": world.org("supplier2").credit_code})["state"] == "pending_receipt"
    assert ok("supplier2", "receive")["holder"]["credit_code"] == world.org("supplier2").credit_code
    body = ok("supplier2", "split", {"parts": [{"face": "4000.00"}, {"face": "6000.00",
                                                                    "transfer_to": world.org("financier").credit_code}]})
    assert body["state"] == "split" and sorted(c["face"] for c in body["children"]) == ["4000.00", "6000.00"]
    part = Bill.objects.get(parent=bill, face=Decimal("4000.00"))
    response = act(world, "supplier2", part, "list", {"rate": "0.05"})
    assert response.status_code == 200
    bought = act(world, "financier2", part, "buy", {"rate": "0.05"}, **{"Idempotency-Key": "buy-1"})
    assert bought.status_code == 200, bought.json()
    purchase = bought.json()["purchase"]
    assert purchase["buyer"]["credit_code"] == world.org("financier2").credit_code and purchase["basis"] == 360
    again = act(world, "financier2", part, "buy", {"rate": "0.05"}, **{"Idempotency-Key": "buy-1"})
    assert again.status_code == 200 and again.json()["purchase"] == purchase
    assert BillPurchase.objects.filter(bill=part).count() == 1
    assert act(world, "buyer", part, "settle").json()["code"] == "not_due"
    with clock.travel_to(clock.now() + dt.timedelta(days=90)):
        assert act(world, "buyer", part, "settle").json()["state"] == "settled"


def test_reject_cancel_issue_freeze_unfreeze(world):
    bill = submitted(world)
    assert act(world, "buyer", bill, "reject", {}).status_code == 400  # a reason is required
    assert act(world, "buyer", bill, "reject", {"reason": "Wrong price"}).json()["state"] == "rejected"
    other = draft(world)
    assert act(world, "supplier", other, "cancel").json()["state"] == "cancelled"
    response = post(world, "buyer", "/api/v1/bills/issue/", {
        "to": world.org("supplier2").credit_code, "face": "5000.00", "maturity_date": in_days(60).isoformat()})
    assert response.status_code == 201, response.json()
    issued = Bill.objects.get(pk=response.json()["id"])
    assert response.json()["actions"] == []  # the debtor waits for the supplier
    assert act(world, "supplier2", issued, "receive").json()["state"] == "accepted"
    assert act(world, "admin", issued, "freeze", {"reason": "Court order"}).json()["state"] == "frozen"
    assert act(world, "admin", issued, "unfreeze", {"reason": "Lifted"}).json()["state"] == "accepted"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "to"),
        ({"to": "", "face": "1.00", "maturity_date": "{m}"}, "to"),
        ({"to": "{s}", "face": "0", "maturity_date": "{m}"}, "face"),
        ({"to": "{s}", "face": "100.00", "maturity_date": "{m}", "currency": "XBT"}, "currency"),
        ({"to": "{s}", "face": "100.00", "maturity_date": "2020-01-01"}, "maturity_date"),
        ({"to": "{f}", "face": "1.00", "maturity_date": "{m}"}, "to"),
    ],
)
def test_issue_bad_input(world, body, field):
    values = {"{s}": world.org("supplier").credit_code, "{f}": world.org("financier").credit_code,
              "{m}": in_days(30).isoformat()}
    body = {k: values.get(v, v) for k, v in body.items()}
    before = counts()
    response = post(world, "buyer", "/api/v1/bills/issue/", body)
    assert response.status_code == 400 and field in response.json(), response.json()
    assert counts() == before


BAD_ACTION_INPUT = [
    ("transfer", accepted, {}, "to"),
    ("transfer", accepted, {"to": "SELF"}, "to"),
    ("transfer", accepted, {"to": "PENDING"}, "to"),
    ("transfer", accepted, {"to": "91440300MA5F0009X"}, "to"),
    ("split", accepted, {}, "parts"),
    ("split", accepted, {"parts": [{"face": "10000.00"}]}, "parts"),
    ("split", accepted, {"parts": [{"face": "3000.00"}, {"face": "3000.00"}]}, "parts"),
    ("split", accepted, {"parts": [{"face": "10000.00"}, {"face": "0.00"}]}, "parts[1].face"),
    ("split", accepted, {"parts": [{"face": 5000.5}, {"face": "4999.50"}]}, "parts[0].face"),
    ("split", accepted, {"parts": [{"face": "5000.00"}, {"face": "5000.00", "transfer_to": "SELF"}]},
     "parts[1].transfer_to"),
    ("list", accepted, {}, "rate"),
    ("list", accepted, {"rate": "0"}, "rate"),
    ("list", accepted, {"rate": "1.2"}, "rate"),
    ("list", accepted, {"rate": 0.03}, "rate"),
    ("list", accepted, {"rate": "3.6%"}, "rate"),
    ("buy", listed, {"rate": "-1"}, "rate"),
    ("reject", submitted, {"reason": ""}, "reason"),
    ("accept", submitted, {"reason": "x" * 501}, "reason"),
]


@pytest.mark.parametrize(("action", "make", "body", "field"), BAD_ACTION_INPUT)
def test_action_bad_input_is_a_400_naming_the_field(world, action, make, body, field):
    bill = make(world, "10000.00")
    user = {"reject": "buyer", "accept": "buyer", "buy": "financier"}.get(action, "supplier")
    codes = {"SELF": world.org("supplier").credit_code, "PENDING": world.org("pending").credit_code}
    if "to" in body:
        body = {**body, "to": codes.get(body["to"], body["to"])}
    if "parts" in body:
        body = {"parts": [{**p, **({"transfer_to": codes[p["transfer_to"]]} if "transfer_to" in p else {})}
                          for p in body["parts"]]}
    before = counts()
    response = act(world, user, bill, action, body)
    assert response.status_code == 400, response.json()
    assert field in response.json(), response.json()
    assert counts() == before


def test_a_bad_idempotency_key_is_a_400(world):
    bill = listed(world)
    response = act(world, "financier", bill, "buy", {}, **{"Idempotency-Key": "x" * 129})
    assert response.status_code == 400 and "idempotency_key" in response.json()
    assert refresh(bill).state == BillState.LISTED


REFUSED = [
    ("submit", accepted, "supplier", {}),
    ("accept", draft, "buyer", {}),
    ("reject", accepted, "buyer", {"reason": "x"}),
    ("cancel", accepted, "supplier", {}),
    ("transfer", draft, "supplier", {"to": "S2"}),
    ("receive", accepted, "supplier", {}),
    ("refuse", accepted, "supplier", {}),
    ("split", submitted, "supplier", {"parts": [{"face": "5000.00"}, {"face": "5000.00"}]}),
    ("list", submitted, "supplier", {"rate": "0.03"}),
    ("unlist", accepted, "supplier", {}),
    ("buy", financed, "financier", {}),
    ("settle", draft, "buyer", {}),
    ("freeze", draft, "admin", {"reason": "x"}),
    ("unfreeze", accepted, "admin", {"reason": "x"}),
]


@pytest.mark.parametrize(("action", "make", "user", "body"), REFUSED)
def test_refused_transitions_are_409_with_the_rule(world, action, make, user, body):
    bill = make(world)
    if "to" in body:
        body = {**body, "to": world.org("supplier2").credit_code}
    before = counts()
    response = act(world, user, bill, action, body)
    assert response.status_code == 409, response.json()
    assert response.json()["code"] in ("wrong_state", "already_bought") and response.json()["detail"]
    assert counts() == before


def test_a_second_buyer_is_told_the_bill_was_bought(world):
    bill = financed(world, buyer="financier")
    response = act(world, "financier2", bill, "buy", {})
    assert response.status_code == 409 and response.json()["code"] == "already_bought"


def test_matured_bills_refuse_with_the_rule(world):
    bill = accepted(world, days=10)
    with clock.travel_to(clock.now() + dt.timedelta(days=10)):
        response = act(world, "supplier", bill, "list", {"rate": "0.03"})
    assert response.status_code == 409 and response.json()["code"] == "matured"


# ---------------------------------------------------------------------------------------------------------
# Events and anchoring
# ---------------------------------------------------------------------------------------------------------


def test_events_in_order_with_their_anchoring(world):
    bill = accepted(world)
    first = BillEvent.objects.get(bill=bill, seq=1)
    AnchorRecord.objects.filter(pk=first.anchor_id).update(
        status=AnchorStatus.CONFIRMED, block_number=42, tx_hash="0x" + "ab" * 32, log_index=0)
    second = BillEvent.objects.get(bill=bill, seq=2)
    AnchorRecord.objects.filter(pk=second.anchor_id).update(status=AnchorStatus.FAILED, last_error="reverted")
    response = client_for(world, "buyer").get(f"/api/v1/bills/{bill.pk}/events/")
    assert response.status_code == 200
    events = response.json()
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert [e["type"] for e in events] == ["create", "submit", "accept"]
    assert events[0]["from_state"] is None and events[0]["to_state"] == "draft"
    assert events[0]["anchoring"] == {"status": "anchored", "block": 42, "tx_hash": "0x" + "ab" * 32,
                                      "log_index": 0, "error": None}
    assert events[1]["anchoring"]["status"] == "failed" and events[1]["anchoring"]["error"] == "reverted"
    assert events[2]["anchoring"]["status"] == "pending" and events[2]["anchoring"]["block"] is None
    assert events[1]["prev_hash"] == events[0]["hash"]
    assert events[0]["canonical"] == first.canonical
    assert client_for(world, "supplier2").get(f"/api/v1/bills/{bill.pk}/events/").status_code == 404


# ---------------------------------------------------------------------------------------------------------
# Marketplace
# ---------------------------------------------------------------------------------------------------------


def test_the_marketplace_shows_financiers_what_they_need_to_price(world):
    bill = listed(world, "10000.00", rate="0.036", days=90)
    accepted(world)  # not listed: not on the market
    response = client_for(world, "financier2").get("/api/v1/marketplace/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    listing = body["results"][0]
    assert listing["id"] == str(bill.pk) and listing["asking_rate"] == "0.036000"
    assert listing["debtor"]["credit_code"] == world.org("buyer").credit_code
    assert listing["quote"] == {"days": 90, "basis": 360, "interest": "90.00", "price": "9910.00"}
    assert listing["invoices"] == {"count": 1, "total": "10000.00", "verified": 1}
    assert listing["anchoring"] == {"events": 4, "unanchored": 4, "status": "pending"}
    assert "holder" not in listing and "creditor" not in listing
    detail = client_for(world, "financier2").get(f"/api/v1/marketplace/{bill.pk}/")
    assert detail.status_code == 200 and detail.json()["id"] == str(bill.pk)
    # A financier sees the listing, not the bill itself.
    assert client_for(world, "financier2").get(f"/api/v1/bills/{bill.pk}/").status_code == 404


def test_a_split_part_on_the_market_shows_its_roots_invoices(world):
    from bills import services

    bill = accepted(world, "10000.00")
    services.bill_split(bill_id=bill.pk, actor=world.user("supplier"), parts=[{"face": "1000.00"}, {"face": "9000.00"}])
    part = Bill.objects.get(parent=bill, face=Decimal("1000.00"))
    services.bill_list(bill_id=part.pk, actor=world.user("supplier"), rate="0.04")
    listing = client_for(world, "financier").get(f"/api/v1/marketplace/{part.pk}/").json()
    assert listing["invoices"]["count"] == 1


def test_the_marketplace_filters_and_refuses_suppliers(world):
    a = listed(world, days=30, rate="0.03")
    listed(world, days=200, rate="0.05", debtor="buyer2")
    client = client_for(world, "financier")
    assert [x["id"] for x in client.get(f"/api/v1/marketplace/?maturity_before={in_days(60)}").json()["results"]] == [
        str(a.pk)]
    assert client.get("/api/v1/marketplace/?min_rate=0.04").json()["count"] == 1
    assert client.get(f"/api/v1/marketplace/?debtor={world.org('buyer2').credit_code}").json()["count"] == 1
    for user in ("supplier", "buyer"):
        response = client_for(world, user).get("/api/v1/marketplace/")
        assert response.status_code == 403 and "financiers" in response.json()["detail"]
    assert client_for(world, "regulator").get("/api/v1/marketplace/").json()["count"] == 2
    assert client.get(f"/api/v1/marketplace/{accepted(world).pk}/").status_code == 404


# ---------------------------------------------------------------------------------------------------------
# Queries per page stay constant in the data size
# ---------------------------------------------------------------------------------------------------------


def _queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/api/v1/bills/", "/api/v1/marketplace/", "/bills/", "/marketplace/"])
def test_list_pages_cost_the_same_queries_for_few_or_many_bills(world, url):
    user = "financier" if "market" in url else "supplier"
    client = client_for(world, user)
    listed(world)
    few = _queries(client, url)
    for _ in range(6):
        listed(world)
    assert _queries(client, url) == few


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/bills/?min_rate=1e999&debtor=99999999999999999&holder=%00", None),
        ("get", "/api/v1/marketplace/?min_rate=1e999&maturity_after=0000-00-00", None),
        ("get", "/api/v1/marketplace/?min_rate=NaN", None),
        ("get", "/api/v1/bills/?page=abc&state=", None),
        ("get", "/api/v1/bills/%00/", None),
        ("get", "/api/v1/bills/{id}/events/?seq=x", None),
        ("post", "/api/v1/bills/{id}/split/", {"parts": [{"face": {"x": 1}}, {"face": ["1"]}]}),
        ("post", "/api/v1/bills/{id}/split/", {"parts": [{"face": "1e-400"}, {"face": "9999.99"}]}),
        ("post", "/api/v1/bills/{id}/transfer/", {"to": "\u0000\u202e" * 20}),
        ("post", "/api/v1/bills/{id}/list/", {"rate": "0." + "1" * 5000}),
        ("post", "/api/v1/bills/{id}/list/", {"rate": "1e-999999999"}),
        ("post", "/api/v1/bills/", {"invoice_allocations": [{"invoice": None, "amount": None}], "maturity_date": "x"}),
        ("post", "/api/v1/bills/", {"invoice_allocations": [{"invoice": "00000000-0000-0000-0000-000000000000",
                                                             "amount": "9" * 40}], "maturity_date": "2027-01-01"}),
        ("post", "/api/v1/bills/issue/", {"to": 5, "face": True, "maturity_date": 20270101}),
    ],
)
def test_odd_input_never_gets_a_500(world, method, path, body):
    bill = accepted(world)
    client = client_for(world, "supplier")
    url = path.replace("{id}", str(bill.pk))
    response = client.get(url) if method == "get" else client.post(url, body, format="json")
    assert 200 <= response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json")
    assert refresh(bill).state == BillState.ACCEPTED
