"""Input rules of invoice registration: identity by the Chinese numbering rules (service and database),
hostile amounts and text, through the service, the API and the upload form. A refusal names the field and
writes nothing.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from rest_framework.test import APIClient

from finance_portal.errors import Conflict, InvalidInput
from invoices.errors import InvoiceDuplicate, InvoiceNumberTaken
from invoices.models import Invoice
from invoices.services import invoice_verify
from tests.conftest import login
from tests.invoices.conftest import fields, pdf_bytes, unique, upload

pytestmark = pytest.mark.django_db

LIST = "/api/v1/invoices/"


def digital_number() -> str:
    return f"2644{unique():016d}"


def _raw(invoice: Invoice, **changes: object) -> None:
    values = {f.attname: getattr(invoice, f.attname) for f in Invoice._meta.concrete_fields if f.attname != "id"}
    values.update(file_sha256=f"{unique():064x}", **changes)
    with transaction.atomic():
        Invoice.objects.create(**values)


def _constraint(err: pytest.ExceptionInfo[IntegrityError]) -> str:
    return err.value.__cause__.diag.constraint_name  # type: ignore[union-attr]


# --- identity: old formats by code + number, 数电票 by the 20-digit number alone ----------------------------


def test_an_eight_digit_number_under_another_code_is_another_invoice_as_numbers_restart_per_code(register):
    first = register(invoice_code="4403221130", invoice_number="00000001")
    second = register("supplier2", invoice_code="044031900111", invoice_number="00000001")
    assert first.invoice_number == second.invoice_number and first.invoice_code != second.invoice_code


@pytest.mark.parametrize("code", ["4403221130", "044031900111"])
@pytest.mark.parametrize("who", ["supplier", "supplier2"])
def test_a_digital_number_is_never_registered_again_by_inventing_a_code(register, nothing_written, code, who):
    number = digital_number()
    register(invoice_code="", invoice_number=number)
    with pytest.raises(InvoiceNumberTaken) as err:
        register(who, invoice_code=code, invoice_number=number)
    assert err.value.http_status == 409 and err.value.code == "invoice_number_taken"
    assert err.value.field == "invoice_number" and "20-digit" in err.value.message
    nothing_written(1)


def test_a_digital_number_registered_twice_without_code_is_a_duplicate(register, nothing_written):
    number = digital_number()
    register(invoice_code="", invoice_number=number)
    with pytest.raises(InvoiceDuplicate) as err:
        register("supplier2", invoice_code="", invoice_number=number)
    assert err.value.code == "duplicate_invoice" and "another organization" in err.value.message
    nothing_written(1)


def test_a_new_digital_number_with_a_code_is_refused_as_it_has_none(register, nothing_written):
    with pytest.raises(InvalidInput, match="no invoice code") as err:
        register(invoice_code="4403221130", invoice_number=digital_number())
    assert err.value.field == "invoice_code"
    nothing_written(0)


def test_an_eight_digit_number_needs_its_code(register, nothing_written):
    with pytest.raises(InvalidInput, match="give the code") as err:
        register(invoice_code="", invoice_number="12345678")
    assert err.value.field == "invoice_code"
    nothing_written(0)


@pytest.mark.parametrize("digits", [9, 10, 12, 19])
def test_numbers_of_neither_format_are_refused(register, nothing_written, digits):
    with pytest.raises(InvalidInput) as err:
        register(invoice_number="1" * digits)
    assert err.value.field == "invoice_number" and "8 digits" in err.value.message
    nothing_written(0)


def test_a_digital_number_stored_with_a_code_before_the_rule_still_blocks_it(register, nothing_written):
    legacy = register()
    number = digital_number()
    _raw(legacy, invoice_code="4403221130", invoice_number=number)  # the database allows one such row
    with pytest.raises(InvoiceNumberTaken):
        register("supplier2", invoice_code="", invoice_number=number)
    assert Invoice.objects.filter(invoice_number=number).count() == 1


def test_the_database_refuses_a_digital_number_under_any_other_code(register):
    number = digital_number()
    invoice = register(invoice_code="", invoice_number=number)
    for code in ("4403221130", "044031900111"):
        with pytest.raises(IntegrityError) as err:
            _raw(invoice, invoice_code=code)
        assert _constraint(err) == "invoice_digital_number_once"
    with pytest.raises(IntegrityError) as err:
        _raw(invoice)
    assert _constraint(err) in ("invoice_digital_number_once", "invoice_registered_once")


def test_the_database_refuses_the_same_code_and_number_and_allows_the_number_under_another_code(register):
    invoice = register(invoice_code="4403221130", invoice_number="87654321")
    with pytest.raises(IntegrityError) as err:
        _raw(invoice)
    assert _constraint(err) == "invoice_registered_once"
    _raw(invoice, invoice_code="4403221131")
    assert Invoice.objects.filter(invoice_number="87654321").count() == 2


@pytest.mark.parametrize("code", ["ABCDEFGHIJ", "44032211301", "１２３４５６７８９０", "4403221130 "])
def test_the_database_refuses_a_malformed_code(register, code):
    with pytest.raises(IntegrityError) as err:
        _raw(register(), invoice_code=code, invoice_number="99999999")
    assert _constraint(err) == "invoice_code_format"


# --- amounts ----------------------------------------------------------------------------------------------

HOSTILE_AMOUNTS = ["1e999999999", "1e-999999999", "9" * 400, "NaN", "Infinity", "-0", "１２３", "١٢٣", "1e2"]
AMOUNT_FIELDS = ["amount_excl_tax", "tax_amount", "total_amount"]


def _amounts(field: str, value: str) -> dict[str, str]:
    amounts = {"amount_excl_tax": "100.00", "tax_amount": "0", "total_amount": "100.00"}
    amounts[field] = value
    return amounts


@pytest.mark.parametrize("value", HOSTILE_AMOUNTS)
@pytest.mark.parametrize("field", AMOUNT_FIELDS)
def test_hostile_amounts_are_refused_by_the_service_naming_the_field(register, nothing_written, field, value):
    if field == "tax_amount" and value == "-0":
        assert register(**_amounts(field, value)).tax_amount == 0  # zero tax is allowed, and -0 is zero
        return
    with pytest.raises(InvalidInput) as err:
        register(**_amounts(field, value))
    assert err.value.field == field
    nothing_written(0)


@pytest.mark.parametrize("value", ["１２３", "١٢٣"])
def test_non_ascii_digits_get_the_ascii_message(register, value):
    with pytest.raises(InvalidInput, match="ASCII digits 0-9"):
        register(**_amounts("total_amount", value))


def api(users: dict[str, object], username: str = "supplier") -> APIClient:
    client = APIClient()
    client.force_authenticate(users[username])
    return client


def api_form(**overrides: object) -> dict[str, object]:
    data = fields(**{"file": upload("invoice.pdf", pdf_bytes()), **overrides})
    if isinstance(data["issue_date"], datetime.date):
        data["issue_date"] = data["issue_date"].isoformat()
    return data


def assert_error_shape(body: dict[str, object], field: str | None) -> None:
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]
    if field is not None:
        assert body["field"] == field, body
        assert isinstance(body[field], list) and body[field], body
    for key, value in body.items():
        if key not in ("detail", "code", "field"):
            assert isinstance(value, list) and all(isinstance(m, str) for m in value), body


@pytest.mark.parametrize("value", ["1e999999999", "9" * 400, "NaN", "１２３", "١٢٣"])
@pytest.mark.parametrize("field", AMOUNT_FIELDS)
def test_hostile_amounts_through_the_api_are_a_400_naming_the_field(users, nothing_written, field, value):
    response = api(users).post(LIST, api_form(**_amounts(field, value)), format="multipart")
    assert response.status_code == 400, response.content
    assert_error_shape(response.json(), field)
    nothing_written(0)


@pytest.mark.parametrize("value", ["1e999999999", "１２３"])
def test_hostile_amounts_through_the_upload_form_are_a_400_on_the_field(users, nothing_written, value):
    client = login(Client(), "supplier")
    data = api_form(**_amounts("total_amount", value))
    response = client.post("/invoices/upload/", data)
    assert response.status_code == 400
    assert response.context["form"].errors["total_amount"]
    nothing_written(0)


# --- text fields: control characters and non-ASCII digits --------------------------------------------------

TEXT_FIELDS = ["invoice_code", "invoice_number", "buyer_credit_code", "currency"]
CONTROL = ["\x00", "\x1b", "\x7f", "\u202e", "\x85"]


@pytest.mark.parametrize("bad", CONTROL, ids=[f"U+{ord(c):04X}" for c in CONTROL])
@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_control_characters_in_any_text_field_are_refused_by_the_service(register, nothing_written, field, bad):
    value = {"invoice_code": "4403221130", "invoice_number": "12345678", "currency": "CNY"}.get(field, "X")
    with pytest.raises(InvalidInput) as err:
        register(**{field: value[:4] + bad + value[4:]})
    assert err.value.field == field
    nothing_written(0)


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\u202e"], ids=["NUL", "SOH", "RLO"])
@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_control_characters_through_the_api_are_a_400_naming_the_field(users, nothing_written, field, bad):
    value = {"invoice_code": "4403221130", "invoice_number": "12345678", "currency": "CNY"}.get(field, "X")
    response = api(users).post(LIST, api_form(**{field: value + bad}), format="multipart")
    assert response.status_code == 400, response.content
    assert_error_shape(response.json(), field)
    nothing_written(0)


def test_a_nul_byte_through_the_upload_form_is_a_400_on_the_field(users, nothing_written):
    response = login(Client(), "supplier").post("/invoices/upload/", api_form(invoice_number="1234\x005678"))
    assert response.status_code == 400
    assert response.context["form"].errors["invoice_number"]
    nothing_written(0)


@pytest.mark.parametrize(
    "field, value", [("invoice_number", "１２３４５６７８"), ("invoice_code", "٤٤٠٣٢٢١١٣٠"), ("invoice_number", "1234567８")]
)
def test_non_ascii_digits_in_code_or_number_are_refused(register, nothing_written, field, value):
    with pytest.raises(InvalidInput, match="ASCII digits 0-9") as err:
        register(**{field: value})
    assert err.value.field == field
    nothing_written(0)


def test_a_malformed_buyer_credit_code_is_refused_before_any_lookup(register, nothing_written):
    with pytest.raises(InvalidInput, match="not a unified social credit code") as err:
        register(buyer_credit_code="91440300MA5F0003")
    assert err.value.field == "buyer_credit_code"
    nothing_written(0)


@pytest.mark.parametrize("note", ["bad\x00note", "bell\x07", "\u202eevil"])
def test_control_characters_in_a_verdict_note_are_refused_and_nothing_changes(register, users, note):
    invoice = register()
    with pytest.raises(InvalidInput) as err:
        invoice_verify(invoice_id=invoice.pk, actor=users["buyer"], verdict="disputed", note=note)
    assert err.value.field == "note"
    invoice.refresh_from_db()
    assert invoice.status == "registered" and invoice.events.count() == 1


def test_a_verdict_note_may_span_lines(register, users):
    invoice = register()
    done = invoice_verify(invoice_id=invoice.pk, actor=users["buyer"], verdict="disputed", note="Goods short.\r\n\tBox 3")
    assert done.verification_note == "Goods short.\r\n\tBox 3"


@pytest.mark.parametrize("body", [{"verdict": "disputed", "note": "x\x00"}, {"verdict": "verified\x00"},
                                  {"verdict": ""}, {}, {"verdict": "disputed", "note": "\x01"}])
def test_bad_verdicts_through_the_api_are_a_400_in_the_error_shape(users, register, body):
    invoice = register()
    response = api(users, "buyer").post(f"{LIST}{invoice.pk}/verify/", body, format="json")
    assert response.status_code == 400, response.content
    assert_error_shape(response.json(), None)
    assert response.json().get("field") in ("verdict", "note")


# --- every 4xx of the invoices API has the one error shape -----------------------------------------------


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"invoice_number": None}, "invoice_number"),  # DRF: required
        ({"buyer_credit_code": ""}, "buyer_credit_code"),  # DRF: blank
        ({"issue_date": "08/10/2026"}, "issue_date"),  # DRF: date format
        ({"file": None}, "file"),  # DRF: required
        ({"file": upload("a.pdf", b"")}, "file"),  # DRF: empty file
        ({"total_amount": "11299.99"}, "total_amount"),  # service
    ],
)
def test_drf_and_service_validation_errors_share_the_shape(users, nothing_written, overrides, field):
    data = {k: v for k, v in api_form(**overrides).items() if v is not None}
    response = api(users).post(LIST, data, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert_error_shape(body, field)
    assert body["code"] == "invalid"
    nothing_written(0)


def test_several_drf_field_errors_are_all_listed(users, nothing_written):
    response = api(users).post(LIST, {"invoice_number": "12345678"}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert_error_shape(body, "file")
    assert {"file", "buyer_credit_code", "issue_date", "amount_excl_tax"} <= set(body)


def test_other_4xx_answers_have_the_shape_too(users, register):
    invoice = register()
    cases = [
        (api(users).get(f"{LIST}{invoice.pk}x/"), 404, "not_found"),
        (api(users).post(LIST, {"invoice_number": "1"}, format="json"), 415, "unsupported_media_type"),
        (api(users).delete(f"{LIST}{invoice.pk}/"), 405, "method_not_allowed"),
        (APIClient().get(LIST), 403, "not_authenticated"),
        (api(users, "buyer").get(LIST, {"status": "paid"}), 400, "invalid"),
        (api(users, "supplier").post(f"{LIST}{invoice.pk}/verify/", {"verdict": "verified"}, format="json"), 403,
         "not_permitted"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.content
        assert_error_shape(response.json(), None)
        assert response.json()["code"] == code


def test_a_number_taken_under_another_code_is_a_409_invoice_number_taken_through_the_api(users, register):
    number = digital_number()
    register(invoice_code="", invoice_number=number)
    response = api(users, "supplier2").post(LIST, api_form(invoice_code="4403221130", invoice_number=number),
                                            format="multipart")
    assert response.status_code == 409
    assert_error_shape(response.json(), "invoice_number")
    assert response.json()["code"] == "invoice_number_taken"


def test_the_schema_documents_the_error_shape_on_every_invoice_operation(users):
    schema = api(users).get("/api/schema/", {"format": "json"}).json()
    operations = [(path, method, op) for path, item in schema["paths"].items() if path.startswith("/api/v1/invoices/")
                  for method, op in item.items()]
    assert len(operations) >= 5
    for path, method, op in operations:
        errors = {code: r for code, r in op["responses"].items() if code.startswith("4")}
        assert "403" in errors, (path, method)  # not logged in, or not allowed
        for code, response in errors.items():
            described = response["content"]["application/json"]["schema"]
            assert set(described["required"]) == {"detail", "code"}, (path, method, code)
            assert described["additionalProperties"]["type"] == "array"
    upload = schema["paths"]["/api/v1/invoices/"]["post"]["responses"]
    assert {"400", "403", "409", "415"} <= set(upload)


def test_conflict_is_the_base_of_the_new_refusal():
    assert issubclass(InvoiceNumberTaken, Conflict) and issubclass(InvoiceNumberTaken, InvoiceDuplicate)


@pytest.mark.parametrize(
    "query",
    [{"seller": "9" * 50}, {"buyer": "-" + "9" * 30}, {"seller": "1e999999999"}, {"buyer": "NaN"}, {"seller": "١٢"},
     {"issued_after": "２０２６-01-01"}, {"issued_before": "2026-02-30"}, {"buyer_credit_code": "\x00"},
     {"status": "\u202e"}, {"page": "1e999999999"}, {"page_size": "9" * 400}, {"currency": "x" * 10_000}],
    ids=lambda q: repr(q)[:40],
)
def test_odd_list_filters_never_answer_500_and_errors_have_the_shape(users, register, query):
    register()
    response = api(users, "regulator").get(LIST, query)
    assert response.status_code in (200, 400, 404), response.content[:300]
    if response.status_code >= 400:
        assert_error_shape(response.json(), None)
