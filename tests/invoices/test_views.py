"""Invoice pages: list, upload form (service errors on the right field), detail, download, buyer verdict."""

import pytest
from django.test import Client

from finance_portal.organizations.validators import make_credit_code
from invoices.models import Invoice, InvoiceStatus
from tests.conftest import login
from tests.invoices.conftest import ROLES, next_number, pdf_bytes, png_bytes, upload

pytestmark = pytest.mark.django_db

SEES = {"supplier": True, "supplier2": False, "buyer": True, "core2": False, "financier": False, "regulator": True, "admin": True}


def page(username) -> Client:
    return login(Client(), username)


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
    return {k: v for k, v in data.items() if v is not None}


def test_pages_need_a_login(users, register):
    invoice = register()
    for url in ("/invoices/", "/invoices/upload/", f"/invoices/{invoice.pk}/", f"/invoices/{invoice.pk}/file/"):
        response = Client().get(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("username", ROLES)
def test_the_list_page_shows_only_what_the_user_may_see(users, register, username):
    mine = register("supplier", invoice_number="40000001")
    other = register("supplier2", invoice_number="40000002", buyer_credit_code=make_credit_code("91440300MA5F00991"))
    response = page(username).get("/invoices/")
    assert response.status_code == 200
    html = response.content.decode()
    assert ("40000001" in html) == SEES[username]
    sees_other = username in ("supplier2", "core2", "regulator", "admin")
    assert ("40000002" in html) == sees_other
    assert (f"/invoices/{mine.pk}/" in html) == SEES[username]
    assert (f"/invoices/{other.pk}/" in html) == sees_other


def test_the_list_page_filters_by_status(users, register):
    register(invoice_number="50000001")
    verified = register(invoice_number="50000002")
    page("buyer").post(f"/invoices/{verified.pk}/verify/", {"verdict": "verified"})
    html = page("supplier").get("/invoices/", {"status": "verified"}).content.decode()
    assert "50000002" in html and "50000001" not in html


def test_the_upload_link_is_offered_to_suppliers_only(users):
    assert b"/invoices/upload/" in page("supplier").get("/invoices/").content
    assert b"/invoices/upload/" not in page("financier").get("/invoices/").content


def test_a_supplier_uploads_through_the_form(users, platform, media_root):
    client = page("supplier")
    response = client.post("/invoices/upload/", form(invoice_number="60000001"))
    invoice = Invoice.objects.get()
    assert response.status_code == 302 and response.url == f"/invoices/{invoice.pk}/"
    assert invoice.seller == platform["supplier"] and invoice.invoice_number == "60000001"
    detail = client.get(response.url).content.decode()
    assert "60000001" in detail and "is registered" in detail


def test_the_upload_form_renders_for_a_supplier(users):
    response = page("supplier").get("/invoices/upload/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html and 'name="file"' in html
    assert 'role="combobox"' in html and 'hx-get="/organizations/search/"' in html  # the buyer picker
    assert '"kind": "core_enterprise"' in html and 'name="buyer_credit_code"' in html


@pytest.mark.parametrize("username", ["financier", "regulator", "core2"])
def test_the_upload_page_refuses_non_suppliers(users, nothing_written, username):
    client = page(username)
    response = client.get("/invoices/upload/")
    assert response.status_code == 403 and b"Only suppliers" in response.content
    assert client.post("/invoices/upload/", form()).status_code == 403
    nothing_written(0)


PAGE_ERRORS = [
    ("PNG renamed .pdf", {"file": upload("invoice.pdf", png_bytes())}, "file", "PNG"),
    ("11 MB file", {"file": upload("big.pdf", pdf_bytes(b"0" * (11 * 1000 * 1000)))}, "file", "at most 10 MiB"),
    ("missing file", {"file": None}, "file", "required"),
    ("total is not the sum", {"total_amount": "11300.02"}, "total_amount", "is not the amount before tax plus the tax"),
    ("three decimals", {"amount_excl_tax": "10000.001", "total_amount": "11300.001"}, "amount_excl_tax", "decimal places"),
    ("zero amount", {"amount_excl_tax": "0", "tax_amount": "0", "total_amount": "0"}, "amount_excl_tax", "greater than zero"),
    ("future date", {"issue_date": "2999-01-01"}, "issue_date", "future"),
    ("unknown buyer", {"buyer_credit_code": make_credit_code("91440300MA5F77771")}, "buyer_credit_code", "No organization"),
    ("buyer is a supplier", {"buyer_credit_code": make_credit_code("91441900MA5F00022")}, "buyer_credit_code", "not a core enterprise"),
]


@pytest.mark.parametrize("overrides, field, words", [c[1:] for c in PAGE_ERRORS], ids=[c[0] for c in PAGE_ERRORS])
def test_service_errors_show_on_the_right_field_and_nothing_is_written(users, nothing_written, overrides, field, words):
    response = page("supplier").post("/invoices/upload/", form(**overrides))
    assert response.status_code == 400
    form_obj = response.context["form"]
    assert any(words in e for e in form_obj.errors[field]), form_obj.errors
    error_id = "id_buyer_credit_code-error" if field == "buyer_credit_code" else f"error-{field}"  # the picker's
    assert f'id="{error_id}"' in response.content.decode()
    nothing_written(0)


def test_a_duplicate_shows_on_the_number_field_with_a_409(users, nothing_written):
    client = page("supplier")
    client.post("/invoices/upload/", form(invoice_number="70000001"))
    response = client.post("/invoices/upload/", form(invoice_number="70000001"))
    assert response.status_code == 409
    assert any("70000001" in e for e in response.context["form"].errors["invoice_number"])
    nothing_written(1)


@pytest.mark.parametrize("username", ROLES)
def test_detail_and_download_are_404_outside_reach(users, register, username):
    content = pdf_bytes()
    invoice = register(file=upload("a.pdf", content), invoice_number="80000001")
    client = page(username)
    detail = client.get(f"/invoices/{invoice.pk}/")
    download = client.get(f"/invoices/{invoice.pk}/file/")
    if SEES[username]:
        assert detail.status_code == 200 and b"80000001" in detail.content
        assert invoice.file_sha256.encode() in detail.content
        assert download.status_code == 200
        assert download["Content-Disposition"] == 'attachment; filename="invoice-4403221130-80000001.pdf"'
        assert b"".join(download.streaming_content) == content
    else:
        assert detail.status_code == 404 and download.status_code == 404


@pytest.mark.parametrize("bad_id", ["x", "00000000-0000-0000-0000-000000000000", "12"])
def test_malformed_ids_are_404(users, bad_id):
    client = page("admin")
    assert client.get(f"/invoices/{bad_id}/").status_code == 404
    assert client.get(f"/invoices/{bad_id}/file/").status_code == 404
    assert client.post(f"/invoices/{bad_id}/verify/", {"verdict": "verified"}).status_code == 404


def test_only_the_buyer_sees_the_verdict_form(users, register):
    invoice = register()
    assert b'name="verdict"' in page("buyer").get(f"/invoices/{invoice.pk}/").content
    for username in ("supplier", "regulator", "admin"):
        assert b'name="verdict"' not in page(username).get(f"/invoices/{invoice.pk}/").content


def test_the_buyer_verifies_from_the_detail_page(users, register):
    invoice = register()
    response = page("buyer").post(f"/invoices/{invoice.pk}/verify/", {"verdict": "verified"}, follow=True)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VERIFIED
    html = response.content.decode()
    assert "is now verified" in html and 'name="verdict"' not in html  # a verified invoice is final


def test_a_dispute_without_a_note_is_refused_on_the_page(users, register):
    invoice = register()
    response = page("buyer").post(f"/invoices/{invoice.pk}/verify/", {"verdict": "disputed"}, follow=True)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.REGISTERED
    assert b"Say why you dispute" in response.content


def test_the_seller_cannot_verify_its_own_invoice_from_the_page(users, register):
    invoice = register()
    response = page("supplier").post(f"/invoices/{invoice.pk}/verify/", {"verdict": "verified"}, follow=True)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.REGISTERED
    assert b"Only the buyer" in response.content


@pytest.mark.parametrize("username", ["supplier2", "core2", "financier"])
def test_a_verdict_from_outside_is_404(users, register, username):
    invoice = register()
    assert page(username).post(f"/invoices/{invoice.pk}/verify/", {"verdict": "verified"}).status_code == 404
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.REGISTERED


def test_the_detail_page_shows_the_history(users, register):
    invoice = register()
    page("buyer").post(f"/invoices/{invoice.pk}/verify/", {"verdict": "disputed", "note": "Quantity is wrong"})
    html = page("supplier").get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Registered" in html and "Disputed by the buyer" in html and "Quantity is wrong" in html
