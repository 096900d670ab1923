"""The bills pages: list, detail with history and action forms, drafting, issuing, the marketplace."""

from __future__ import annotations

import pytest

from bills.models import Bill, BillPurchase, BillState
from tests.bills.factories import accepted, draft, in_days, listed, make_invoice, refresh

pytestmark = pytest.mark.django_db


def as_user(client, world, name):  # type: ignore[no-untyped-def]
    client.force_login(world.user(name))
    return client


def test_the_list_shows_only_the_users_bills(world, client):
    mine, theirs = draft(world), draft(world, supplier="supplier2")
    page = as_user(client, world, "supplier").get("/bills/")
    assert page.status_code == 200
    assert mine.number in page.content.decode() and theirs.number not in page.content.decode()
    page = client.get("/bills/?state=accepted")
    assert mine.number not in page.content.decode()


def test_the_detail_page_shows_history_and_actions_and_hides_foreign_bills(world, client):
    bill = accepted(world)
    page = as_user(client, world, "supplier").get(f"/bills/{bill.pk}/")
    text = page.content.decode()
    assert page.status_code == 200 and bill.number in text and bill.bill_key in text
    assert "Accepted" in text and f"/bills/{bill.pk}/transfer/" in text and f"/bills/{bill.pk}/list/" in text
    assert as_user(client, world, "supplier2").get(f"/bills/{bill.pk}/").status_code == 404


def test_action_forms_call_the_services_and_report_refusals(world, client):
    bill = accepted(world, "10000.00")
    as_user(client, world, "supplier")
    response = client.post(f"/bills/{bill.pk}/list/", {"rate": "150", "confirm": "yes"})  # in percent
    assert response.status_code == 400 and 'id="list-rate-error"' in response.content.decode()
    assert refresh(bill).state == BillState.ACCEPTED
    client.post(f"/bills/{bill.pk}/split/", {"parts-0-face": "4000.00",
                                             "parts-0-transfer_to": world.org("supplier2").credit_code,
                                             "parts-1-face": "6000.00", "confirm": "yes"})
    assert refresh(bill).state == BillState.SPLIT
    part = Bill.objects.get(parent=bill, face="4000.00")
    assert part.state == BillState.PENDING_RECEIPT
    response = as_user(client, world, "supplier2").post(f"/bills/{part.pk}/refuse/", {"reason": "no"})
    assert response.status_code == 302 and response["Location"] == "/bills/"  # no longer theirs to see
    assert client.post(f"/bills/{bill.pk}/settle/").status_code == 404
    assert client.get(f"/bills/{bill.pk}/settle/").status_code == 405


def test_drafting_and_issuing_pages(world, client):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="700.00")
    as_user(client, world, "supplier")
    page = client.get("/bills/new/")
    assert page.status_code == 200 and str(invoice.pk) in page.content.decode()
    assert f'name="amount-{invoice.pk}" value=""' in page.content.decode()
    preselected = client.get(f"/bills/new/?invoice={invoice.pk}").content.decode()
    assert f'name="amount-{invoice.pk}" value="700.00"' in preselected
    response = client.post("/bills/new/", {f"amount-{invoice.pk}": "800.00", "maturity_date": in_days(30).isoformat()})
    assert response.status_code == 200 and "left unallocated" in response.content.decode()
    assert f'name="amount-{invoice.pk}" value="800.00"' in response.content.decode()  # the input is kept
    assert not Bill.objects.exists()
    response = client.post("/bills/new/", {f"amount-{invoice.pk}": "700.00", "maturity_date": in_days(30).isoformat()})
    bill = Bill.objects.get(allocations__invoice=invoice)
    assert response.status_code == 302 and response["Location"] == f"/bills/{bill.pk}/"
    as_user(client, world, "buyer")
    response = client.post("/bills/issue/", {"to": world.org("supplier2").credit_code, "face": "500.00",
                                             "maturity_date": in_days(20).isoformat()})
    assert response.status_code == 302
    assert Bill.objects.filter(debtor=world.org("buyer"), state=BillState.PENDING_RECEIPT).count() == 1


def test_the_marketplace_page_buys_once_per_form(world, client):
    bill = listed(world)
    as_user(client, world, "financier")
    page = client.get("/marketplace/")
    assert page.status_code == 200 and bill.number in page.content.decode()
    key = page.context["rows"][0][2]
    for _ in range(2):  # a double click
        client.post(f"/bills/{bill.pk}/buy/", {"rate": "3.6", "idempotency_key": key, "next": "/marketplace/",
                                               "confirm": "yes"})
    assert BillPurchase.objects.filter(bill=bill).count() == 1
    assert refresh(bill).holder == world.org("financier")
    assert as_user(client, world, "supplier").get("/marketplace/").status_code == 403


def test_pages_need_a_login(client, world):
    assert client.get("/bills/").status_code == 302
    assert client.get("/marketplace/").status_code == 302
