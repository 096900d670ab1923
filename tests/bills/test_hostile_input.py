"""Hostile input on the bills' forms, actions and filters (issue 13): Unicode digits, huge exponents, NUL bytes,
non-ASCII dates. Each gets a 4xx (or a form error) that says what is wrong, never a 500, and writes nothing.

Digits are ASCII only, in amounts, ids and dates alike: "１２" (full width), "١٢" (Arabic-Indic) and "³" are
refused rather than normalized, the same in forms and API (docs/architecture.md, "Input rules")."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from bills.models import Bill, BillEvent
from tests.bills.factories import accepted, in_days, listed, make_invoice

pytestmark = pytest.mark.django_db

UNICODE_DIGITS = ["³", "１２", "١٢", "٣", "𝟙𝟚"]
BAD_AMOUNTS = ["1e999999999", "1E+999999999", "-1e999999999", "1e-999999999", "NaN", "Infinity", "１２", "١٢",
               "12\x00", "0x10", "1_000", "12,5"]
BAD_TEXT = ["note\x00with NUL", "\x00"]
BAD_DATES = ["２０２６-１２-０１", "2026-13-01", "2026-02-30", "\x00", "9999999999-01-01", "2026-１-01"]


def client_for(world, username: str) -> APIClient:
    client = APIClient()
    client.force_login(world.user(username))
    return client


def written() -> tuple[int, int]:
    return Bill.objects.count(), BillEvent.objects.count()


@pytest.mark.parametrize("value", UNICODE_DIGITS + ["\x00", "9" * 40, "-1", "１"])
@pytest.mark.parametrize("param", ["holder", "debtor"])
def test_bill_list_filters_never_500(world, param, value):
    accepted(world)  # one bill the supplier sees: a filter that failed open would show it
    response = client_for(world, "supplier").get("/api/v1/bills/", {param: value})
    assert response.status_code in (200, 400), (param, value, response.status_code)
    if response.status_code == 200:
        assert response.json()["results"] == []


@pytest.mark.parametrize("params", [
    {"debtor": "³"}, {"debtor": "１２"}, {"min_rate": "1e999999999"}, {"min_rate": "NaN"}, {"min_rate": "\x00"},
    {"maturity_after": "２０２６-０１-０１"}, {"maturity_before": "\x00"}, {"page": "³"}, {"page": "1e999999999"},
])
def test_marketplace_filters_never_500(world, params):
    listed(world)
    response = client_for(world, "financier").get("/api/v1/marketplace/", params)
    assert response.status_code in (200, 400, 404), (params, response.status_code, response.content[:200])
    page = client_for(world, "financier").get("/marketplace/", params)
    assert page.status_code in (200, 400, 404), (params, page.status_code)


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_bad_amounts_on_create_and_issue_are_400_and_write_nothing(world, amount):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    before = written()
    create = client_for(world, "supplier").post("/api/v1/bills/", {
        "invoice_allocations": [{"invoice": str(invoice.pk), "amount": amount}],
        "maturity_date": in_days(90).isoformat()}, format="json")
    assert create.status_code == 400, (amount, create.status_code, create.content[:300])
    assert create.json()["code"] and create.json()["detail"]
    issue = client_for(world, "buyer").post("/api/v1/bills/issue/", {
        "to": world.org("supplier").credit_code, "face": amount, "maturity_date": in_days(90).isoformat()},
        format="json")
    assert issue.status_code == 400, (amount, issue.status_code, issue.content[:300])
    assert written() == before


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_bad_amounts_on_the_draft_page_are_a_form_error(world, amount):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    before = written()
    response = client_for(world, "supplier").post("/bills/new/", {
        f"amount-{invoice.pk}": amount, "maturity_date": in_days(90).isoformat(), "reference": "PO-1"})
    assert response.status_code in (200, 400), (amount, response.status_code)
    assert written() == before


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_bad_amounts_on_split_are_400(world, amount):
    bill = accepted(world, "10000.00")
    before = written()
    response = client_for(world, "supplier").post(f"/api/v1/bills/{bill.pk}/split/", {
        "parts": [{"face": amount}, {"face": "5000.00"}]}, format="json")
    assert response.status_code == 400, (amount, response.status_code, response.content[:300])
    assert written() == before


@pytest.mark.parametrize("text", BAD_TEXT)
def test_nul_bytes_in_a_reference_or_reason_are_refused_400(world, text):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    before = written()
    create = client_for(world, "supplier").post("/api/v1/bills/", {
        "invoice_allocations": [{"invoice": str(invoice.pk), "amount": "10000.00"}],
        "maturity_date": in_days(90).isoformat(), "reference": text}, format="json")
    assert create.status_code == 400, create.content[:300]
    page = client_for(world, "supplier").post("/bills/new/", {
        f"amount-{invoice.pk}": "10000.00", "maturity_date": in_days(90).isoformat(), "reference": text})
    assert page.status_code in (200, 400)
    assert written() == before
    bill = accepted(world, "10000.00")
    before = written()
    reject = client_for(world, "supplier").post(f"/api/v1/bills/{bill.pk}/transfer/", {
        "to": world.org("supplier2").credit_code, "reason": text}, format="json")
    assert reject.status_code == 400, reject.content[:300]
    action_page = client_for(world, "supplier").post(f"/bills/{bill.pk}/transfer/", {
        "to": world.org("supplier2").credit_code, "reason": text})
    assert action_page.status_code in (200, 302, 400)
    assert written() == before


@pytest.mark.parametrize("date", BAD_DATES)
def test_bad_dates_are_400(world, date):
    invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    before = written()
    response = client_for(world, "supplier").post("/api/v1/bills/", {
        "invoice_allocations": [{"invoice": str(invoice.pk), "amount": "10000.00"}], "maturity_date": date},
        format="json")
    assert response.status_code == 400, (date, response.status_code, response.content[:300])
    assert response.json().get("field") == "maturity_date"
    list_filter = client_for(world, "supplier").get("/api/v1/bills/", {"maturity_after": date})
    assert list_filter.status_code in (200, 400)
    assert written() == before


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/invoices/", {"seller": "１２"}), ("/api/v1/invoices/", {"buyer": "³"}),
    ("/api/v1/invoices/", {"issued_after": "２０２６-０１-０１"}), ("/api/v1/bills/", {"maturity_after": "２０２６-０１-０１"}),
    ("/api/v1/marketplace/", {"min_rate": "０.０３"}), ("/api/v1/marketplace/", {"maturity_before": "2026-0１-01"}),
])
def test_non_ascii_digits_in_list_filters_are_a_400_naming_the_parameter(world, path, params):
    response = client_for(world, "financier" if "marketplace" in path else "supplier").get(path, params)
    assert response.status_code == 400, (path, params, response.status_code, response.content[:200])
    body = response.json()
    assert next(iter(params)) in body and "ASCII" in str(body), body
