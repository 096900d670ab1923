"""The upload page answers JSON to the drop zone (static/js/invoice_drop.js): one file per request, the same
service and form as the plain upload, created or refused with the message and the fields at fault."""

import pytest
from django.test import Client

from finance_portal.organizations.validators import make_credit_code
from invoices.models import Invoice
from tests.conftest import login
from tests.invoices.conftest import next_number, pdf_bytes, stored_files, upload

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def form(**overrides):
    data = {
        "file": upload("invoice.pdf", pdf_bytes()),
        "invoice_code": "4403221130",
        "invoice_number": next_number(),
        "buyer_credit_code": make_credit_code("91440300MA5F00033"),
        "issue_date": "2026-10-08",
        "currency": "CNY",
        "amount_excl_tax": "10000.00",
        "tax_amount": "1300.00",
        "total_amount": "11300.00",
    }
    data.update(overrides)
    return data


def test_a_dropped_file_is_registered_and_the_answer_links_to_it(users):
    response = login(Client(), "supplier").post("/invoices/upload/", form(invoice_number="81000001"), **JSON)
    assert response.status_code == 201
    invoice = Invoice.objects.get()
    assert response.json() == {"ok": True, "message": "Invoice No. 81000001 is registered.",
                               "url": f"/invoices/{invoice.pk}/"}


def test_a_refused_file_answers_the_message_and_the_field_and_writes_nothing(users, media_root):
    client = login(Client(), "supplier")
    response = client.post("/invoices/upload/", form(total_amount="1.00"), **JSON)
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and "total_amount" in body["errors"] and body["message"]
    response = client.post("/invoices/upload/", form(file=upload("x.pdf", b"GIF89a not a pdf")), **JSON)
    assert response.status_code == 400 and "file" in response.json()["errors"]
    response = client.post("/invoices/upload/", form(issue_date="yesterday"), **JSON)
    assert response.status_code == 400 and "issue_date" in response.json()["errors"]
    assert not Invoice.objects.exists() and not stored_files(media_root)


def test_a_duplicate_is_a_409_in_json(users):
    client = login(Client(), "supplier")
    assert client.post("/invoices/upload/", form(invoice_number="81000002"), **JSON).status_code == 201
    response = client.post("/invoices/upload/", form(invoice_number="81000002"), **JSON)
    assert response.status_code == 409 and "already registered" in response.json()["message"]


def test_a_non_supplier_gets_its_refusal_in_json(users):
    response = login(Client(), "financier").post("/invoices/upload/", form(), **JSON)
    assert response.status_code == 403 and response.json()["ok"] is False and response.json()["message"]


def test_the_plain_form_still_answers_a_page(users):
    response = login(Client(), "supplier").post("/invoices/upload/", form())
    assert response.status_code == 302 and Invoice.objects.count() == 1


def test_the_upload_page_carries_the_drop_zone_for_the_script(users):
    html = login(Client(), "supplier").get("/invoices/upload/").content.decode()
    assert 'id="invoice-drop"' in html and 'id="drop-item-template"' in html and "js/invoice_drop.js" in html
    assert 'id="invoice-upload-form"' in html and "/invoices/import/" in html
