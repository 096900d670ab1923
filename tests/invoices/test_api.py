"""The invoice REST API: upload, list, detail, download, verdict; errors as 4xx JSON; the permission matrix;
the OpenAPI description of the multipart upload.
"""

import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from finance_portal.organizations.validators import make_credit_code
from invoices.models import Invoice, InvoiceStatus
from tests.invoices.conftest import ROLES, next_number, pdf_bytes, png_bytes, upload, xml_bytes

pytestmark = pytest.mark.django_db

LIST = "/api/v1/invoices/"
BUYER_CODE = make_credit_code("91440300MA5F00033")


def api(users, username=None) -> APIClient:
    client = APIClient()
    if username:
        client.force_authenticate(users[username])
    return client


def form(**overrides):
    data = {
        "file": upload("invoice.pdf", pdf_bytes()),
        "invoice_code": "4403221130",
        "invoice_number": next_number(),
        "buyer_credit_code": BUYER_CODE,
        "issue_date": "2026-10-08",
        "amount_excl_tax": "10000.00",
        "tax_amount": "1300.00",
        "total_amount": "11300.00",
        "currency": "CNY",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- upload -----------------------------------------------------------------------------------------------


def test_a_supplier_uploads_an_invoice(users, platform, media_root):
    content = xml_bytes()
    response = api(users, "supplier").post(
        LIST, form(file=upload("e.xml", content), invoice_number="26440001"), format="multipart"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    invoice = Invoice.objects.get()
    assert body["id"] == str(invoice.pk)
    assert body["invoice_number"] == "26440001"
    assert body["seller"]["credit_code"] == platform["supplier"].credit_code
    assert body["buyer"]["legal_name"] == platform["buyer"].legal_name
    assert (body["amount_excl_tax"], body["tax_amount"], body["total_amount"]) == ("10000.00", "1300.00", "11300.00")
    assert body["file_sha256"] == hashlib.sha256(content).hexdigest()
    assert body["content_type"] == "application/xml" and body["file_size"] == len(content)
    assert body["status"] == "registered"
    assert body["file_url"] == f"/api/v1/invoices/{invoice.pk}/file/"
    assert "file" not in body  # the storage path is never shown


def test_the_currency_defaults_to_cny(users, platform):
    response = api(users, "supplier").post(LIST, form(currency=None), format="multipart")
    assert response.status_code == 201 and response.json()["currency"] == "CNY"


API_BAD_INPUT = [
    ("PNG renamed .pdf", {"file": upload("invoice.pdf", png_bytes())}, "file"),
    ("11 MB file", {"file": upload("big.pdf", pdf_bytes(b"0" * (11 * 1000 * 1000)))}, "file"),
    ("missing file", {"file": None}, "file"),
    ("empty file", {"file": upload("a.pdf", b"")}, "file"),
    ("total is not the sum", {"total_amount": "11299.99"}, "total_amount"),
    ("three decimals", {"tax_amount": "1300.001", "total_amount": "11300.001"}, "tax_amount"),
    ("unknown currency", {"currency": "XXX"}, "currency"),
    ("zero amount", {"amount_excl_tax": "0", "tax_amount": "0", "total_amount": "0"}, "amount_excl_tax"),
    ("negative amount", {"amount_excl_tax": "-1.00", "tax_amount": "0", "total_amount": "-1.00"}, "amount_excl_tax"),
    ("future date", {"issue_date": "2999-01-01"}, "issue_date"),
    ("malformed date", {"issue_date": "08/10/2026"}, "issue_date"),
    ("missing number", {"invoice_number": None}, "invoice_number"),
    ("unknown buyer", {"buyer_credit_code": make_credit_code("91440300MA5F77771")}, "buyer_credit_code"),
    ("buyer is the seller", {"buyer_credit_code": make_credit_code("91440300MA5F00011")}, "buyer_credit_code"),
]


@pytest.mark.parametrize("overrides, field", [c[1:] for c in API_BAD_INPUT], ids=[c[0] for c in API_BAD_INPUT])
def test_bad_input_gets_a_400_naming_the_field_and_nothing_is_written(users, nothing_written, overrides, field):
    response = api(users, "supplier").post(LIST, form(**overrides), format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert field in body and body[field]
    nothing_written(0)


@pytest.mark.parametrize("username", ["financier", "regulator", "admin", "core2"])
def test_organizations_that_are_not_suppliers_get_403(users, nothing_written, username):
    response = api(users, username).post(LIST, form(), format="multipart")
    assert response.status_code == 403
    assert "Only suppliers" in response.json()["detail"]
    nothing_written(0)


def test_an_anonymous_upload_is_refused(users, nothing_written):
    response = APIClient().post(LIST, form(), format="multipart")
    assert response.status_code in (401, 403)
    nothing_written(0)


def test_json_is_not_an_upload_format(users, nothing_written):
    data = form()
    data.pop("file")
    response = api(users, "supplier").post(LIST, data, format="json")
    assert response.status_code == 415
    nothing_written(0)


def test_a_duplicate_from_the_same_organization_gets_409_naming_its_own_invoice(users, nothing_written):
    client = api(users, "supplier")
    content = pdf_bytes()
    assert client.post(LIST, form(file=upload("a.pdf", content), invoice_number="31415926"), format="multipart").status_code == 201
    response = client.post(LIST, form(file=upload("a.pdf", content)), format="multipart")
    assert response.status_code == 409
    assert "31415926" in response.json()["detail"] and response.json()["field"] == "file"
    nothing_written(1)


@pytest.mark.parametrize("same", ["number", "file"])
def test_a_duplicate_from_another_organization_gets_409_without_its_data(users, platform, nothing_written, same):
    content = pdf_bytes()
    first = api(users, "supplier").post(
        LIST, form(file=upload("a.pdf", content), invoice_number="27182818"), format="multipart"
    ).json()
    second = form(invoice_number="27182818") if same == "number" else form(file=upload("b.pdf", content))
    response = api(users, "supplier2").post(LIST, second, format="multipart")
    assert response.status_code == 409
    text = response.content.decode()
    assert "another organization" in text
    for secret in (platform["supplier"].legal_name, platform["supplier"].credit_code, first["id"], first["file_sha256"]):
        assert secret not in text
    nothing_written(1)


# --- reading: the permission matrix -----------------------------------------------------------------------

# Who sees an invoice sold by ``supplier`` to ``buyer``.
SEES = {"supplier": True, "supplier2": False, "buyer": True, "core2": False, "financier": False, "regulator": True, "admin": True}


@pytest.fixture
def invoices(register):
    """One invoice supplier → buyer, one buyer (as a supplier) → core2, one supplier2 → buyer."""
    return {
        "supplier": register("supplier"),
        "buyer_to_core2": register("buyer", buyer_credit_code=make_credit_code("91440300MA5F00991")),
        "supplier2": register("supplier2"),
    }


EXPECTED_LIST = {
    "supplier": {"supplier"},
    "supplier2": {"supplier2"},
    "buyer": {"supplier", "buyer_to_core2", "supplier2"},
    "core2": {"buyer_to_core2"},
    "financier": set(),
    "regulator": {"supplier", "buyer_to_core2", "supplier2"},
    "admin": {"supplier", "buyer_to_core2", "supplier2"},
}


@pytest.mark.parametrize("username", ROLES)
def test_the_list_shows_exactly_what_each_role_may_see(users, invoices, username):
    response = api(users, username).get(LIST)
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {str(invoices[key].pk) for key in EXPECTED_LIST[username]}
    assert response.json()["count"] == len(EXPECTED_LIST[username])


@pytest.mark.parametrize("username", ROLES)
def test_detail_is_404_outside_reach(users, invoices, username):
    response = api(users, username).get(f"{LIST}{invoices['supplier'].pk}/")
    if SEES[username]:
        assert response.status_code == 200 and response.json()["id"] == str(invoices["supplier"].pk)
    else:
        assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("username", ROLES)
def test_the_file_is_404_outside_reach(users, invoices, username):
    response = api(users, username).get(f"{LIST}{invoices['supplier'].pk}/file/")
    assert response.status_code == (200 if SEES[username] else 404)


@pytest.mark.parametrize("username", ROLES)
def test_only_the_buyer_may_give_a_verdict(users, invoices, username):
    response = api(users, username).post(f"{LIST}{invoices['supplier'].pk}/verify/", {"verdict": "verified"}, format="json")
    expected = {"buyer": 200, "supplier": 403, "regulator": 403, "admin": 403}.get(username, 404)
    assert response.status_code == expected
    invoices["supplier"].refresh_from_db()
    assert invoices["supplier"].status == ("verified" if username == "buyer" else "registered")


@pytest.mark.parametrize("path", ["", "file/"])
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "1"])
def test_malformed_and_unknown_ids_are_404(users, path, bad_id):
    assert api(users, "regulator").get(f"{LIST}{bad_id}/{path}").status_code == 404


def test_anonymous_reads_are_refused(users, invoices):
    assert APIClient().get(LIST).status_code in (401, 403)
    assert APIClient().get(f"{LIST}{invoices['supplier'].pk}/file/").status_code in (401, 403)


# --- listing filters and cost -----------------------------------------------------------------------------


def test_the_list_filters_by_status_buyer_and_seller(users, invoices, platform):
    client = api(users, "buyer")
    api(users, "buyer").post(f"{LIST}{invoices['supplier'].pk}/verify/", {"verdict": "verified"}, format="json")

    def ids(query):
        response = client.get(LIST, query)
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    assert ids({"status": "verified"}) == {str(invoices["supplier"].pk)}
    assert ids({"status": "registered"}) == {str(invoices["supplier2"].pk), str(invoices["buyer_to_core2"].pk)}
    assert ids({"seller": platform["supplier2"].pk}) == {str(invoices["supplier2"].pk)}
    assert ids({"buyer": platform["core2"].pk}) == {str(invoices["buyer_to_core2"].pk)}
    assert ids({"seller_credit_code": platform["supplier"].credit_code.lower()}) == {str(invoices["supplier"].pk)}
    assert ids({"buyer_credit_code": platform["buyer"].credit_code}) == {
        str(invoices["supplier"].pk),
        str(invoices["supplier2"].pk),
    }
    assert ids({"issued_after": "2026-10-09"}) == set()


def test_filters_never_widen_what_a_user_sees(users, invoices, platform):
    response = api(users, "supplier2").get(LIST, {"seller": platform["supplier"].pk})
    assert response.json()["count"] == 0


def test_an_unknown_status_filter_is_a_400(users, invoices):
    response = api(users, "buyer").get(LIST, {"status": "paid"})
    assert response.status_code == 400 and "status" in response.json()


def test_the_list_is_paginated(users, register):
    made = {str(register().pk) for _ in range(3)}
    client = api(users, "supplier")
    first = client.get(LIST, {"page_size": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert {r["id"] for r in first["results"] + second["results"]} == made
    assert len(client.get(LIST, {"page_size": 10_000}).json()["results"]) == 3  # capped at 200, not refused


def test_listing_costs_the_same_queries_for_few_or_many_invoices(users, register):
    client = api(users, "regulator")
    register()
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    for _ in range(8):
        register()
        register("supplier2")
    with CaptureQueriesContext(connection) as many:
        assert client.get(LIST).json()["count"] == 17
    assert len(many) == len(few)


# --- download and verdict ---------------------------------------------------------------------------------


def test_the_download_is_an_attachment_with_the_stored_type_and_bytes(users, register):
    content = png_bytes()
    invoice = register(file=upload("scan.png", content), invoice_code="", invoice_number="26440000000000000042")
    response = api(users, "buyer").get(f"{LIST}{invoice.pk}/file/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="invoice-26440000000000000042.png"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_download_honours_any_accept_header(users, register):
    invoice = register()
    response = api(users, "supplier").get(f"{LIST}{invoice.pk}/file/", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_a_file_missing_from_storage_is_a_404_not_a_500(users, register, media_root):
    invoice = register()
    (media_root / invoice.file.name).unlink()
    assert api(users, "supplier").get(f"{LIST}{invoice.pk}/file/").status_code == 404


def test_the_buyer_disputes_through_the_api(users, register):
    invoice = register()
    client = api(users, "buyer")
    refused = client.post(f"{LIST}{invoice.pk}/verify/", {"verdict": "disputed"}, format="json")
    assert refused.status_code == 400 and refused.json()["field"] == "note"
    response = client.post(f"{LIST}{invoice.pk}/verify/", {"verdict": "disputed", "note": "Not delivered"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == InvoiceStatus.DISPUTED and response.json()["verification_note"] == "Not delivered"


def test_a_verdict_that_does_not_follow_the_status_is_409(users, register):
    invoice = register()
    client = api(users, "buyer")
    assert client.post(f"{LIST}{invoice.pk}/verify/", {"verdict": "verified"}, format="json").status_code == 200
    response = client.post(f"{LIST}{invoice.pk}/verify/", {"verdict": "disputed", "note": "late"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invoice_state"


def test_an_unknown_verdict_is_400(users, register):
    invoice = register()
    response = api(users, "buyer").post(f"{LIST}{invoice.pk}/verify/", {"verdict": "maybe"}, format="json")
    assert response.status_code == 400 and "verdict" in response.json()


def test_times_are_aware_utc_in_json(users, register):
    invoice = register()
    body = api(users, "supplier").get(f"{LIST}{invoice.pk}/").json()
    assert body["created_at"].endswith(("Z", "+00:00", "+08:00"))
    assert timezone.is_aware(invoice.created_at)


# --- the OpenAPI description --------------------------------------------------------------------------------


def test_the_schema_describes_the_upload_as_multipart_with_its_fields(users):
    response = api(users, "supplier").get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    post = schema["paths"]["/api/v1/invoices/"]["post"]
    content = post["requestBody"]["content"]
    assert list(content) == ["multipart/form-data"]
    ref = content["multipart/form-data"]["schema"]["$ref"].split("/")[-1]
    component = schema["components"]["schemas"][ref]
    properties = component["properties"]
    assert properties["file"]["format"] == "binary"
    for name in ("invoice_code", "invoice_number", "buyer_credit_code", "issue_date", "amount_excl_tax",
                 "tax_amount", "total_amount", "currency"):
        assert name in properties
    assert {"file", "invoice_number", "buyer_credit_code", "issue_date", "total_amount"} <= set(component["required"])
    assert {"201", "400", "403", "409"} <= set(post["responses"])
    paths = schema["paths"]
    assert "get" in paths["/api/v1/invoices/{id}/"] or "get" in paths.get("/api/v1/invoices/{pk}/", {})
    file_path = next(p for p in paths if p.startswith("/api/v1/invoices/{") and p.endswith("/file/"))
    # The file is served with the type detected at upload, and documented with each of them.
    assert {"application/pdf", "application/ofd", "application/xml", "image/png", "image/jpeg"} == set(
        paths[file_path]["get"]["responses"]["200"]["content"])
    verify_path = next(p for p in paths if p.endswith("/verify/"))
    assert "post" in paths[verify_path]


def test_a_refused_download_is_still_a_json_404_whatever_the_client_accepts(users, register):
    invoice = register()
    response = api(users, "supplier2").get(f"{LIST}{invoice.pk}/file/", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_large_upload_spooled_to_a_temporary_file_is_stored_intact(users, platform, media_root):
    # Above FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) Django streams the upload to a temporary file.
    content = pdf_bytes(b"0" * (5 * 1024 * 1024))
    response = api(users, "supplier").post(LIST, form(file=upload("big.pdf", content)), format="multipart")
    assert response.status_code == 201, response.json()
    stored = Invoice.objects.get().file
    assert (media_root / stored.name).read_bytes() == content
    assert response.json()["file_sha256"] == hashlib.sha256(content).hexdigest()
