"""invoice_register and invoice_verify: every rule, every refusal, and that a refusal writes nothing."""

import datetime
import hashlib
import re
import threading
import time
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from finance_portal.errors import Conflict, InvalidInput, NotFound, NotPermitted
from finance_portal.organizations.models import KycStatus
from finance_portal.organizations.services import member_create, organization_create, organization_set_kyc
from finance_portal.organizations.validators import make_credit_code
from invoices.models import Invoice, InvoiceEvent, InvoiceStatus
from invoices.services import invoice_register, invoice_verify
from tests.invoices.conftest import (
    fields,
    jpeg_bytes,
    next_number,
    ofd_bytes,
    pdf_bytes,
    png_bytes,
    stored_files,
    upload,
    xml_bytes,
)

pytestmark = pytest.mark.django_db

BUYER_CODE = make_credit_code("91440300MA5F00033")
SUPPLIER_CODE = make_credit_code("91440300MA5F00011")
SUPPLIER2_CODE = make_credit_code("91441900MA5F00022")


# --- registration ---------------------------------------------------------------------------------------


def test_a_supplier_registers_an_invoice_with_its_file_hashed_and_stored_under_a_random_name(
    users, platform, media_root
):
    content = pdf_bytes()
    invoice = invoice_register(
        actor=users["supplier"], **fields(file=upload("发票 2026-10.pdf", content), invoice_number="44031234")
    )
    invoice.refresh_from_db()
    assert invoice.seller == platform["supplier"] and invoice.buyer == platform["buyer"]
    assert (invoice.invoice_code, invoice.invoice_number) == ("4403221130", "44031234")
    assert invoice.amount_excl_tax == Decimal("10000.00") and invoice.tax_amount == Decimal("1300.00")
    assert invoice.total_amount == Decimal("11300.00") and invoice.currency == "CNY"
    assert invoice.file_sha256 == hashlib.sha256(content).hexdigest()
    assert invoice.file_size == len(content)
    assert invoice.content_type == "application/pdf"
    assert invoice.original_filename == "发票 2026-10.pdf"
    assert invoice.status == InvoiceStatus.REGISTERED
    assert invoice.uploaded_by == users["supplier"]
    assert re.fullmatch(r"invoices/[0-9a-f]{32}", invoice.file.name)
    files = stored_files(media_root)
    assert len(files) == 1 and files[0].read_bytes() == content
    event = InvoiceEvent.objects.get(invoice=invoice)
    assert (event.action, event.to_status, event.actor, event.organization) == (
        "registered",
        "registered",
        users["supplier"],
        platform["supplier"],
    )


@pytest.mark.parametrize(
    "name, make, content_type",
    [
        ("e.ofd", ofd_bytes, "application/ofd"),
        ("e.xml", xml_bytes, "application/xml"),
        ("scan.png", png_bytes, "image/png"),
        ("scan.jpg", jpeg_bytes, "image/jpeg"),
    ],
)
def test_every_accepted_file_type_registers(register, name, make, content_type):
    assert register(file=upload(name, make())).content_type == content_type


def test_a_fully_digital_invoice_has_no_code_and_a_twenty_digit_number(register):
    invoice = register(invoice_code="", invoice_number="26442000000123456789")
    assert invoice.invoice_code == "" and len(invoice.invoice_number) == 20


def test_tax_may_be_zero(register):
    invoice = register(amount_excl_tax="500", tax_amount="0", total_amount="500.00")
    assert invoice.tax_amount == Decimal("0.00") and invoice.total_amount == Decimal("500.00")


def test_amounts_follow_the_currency_minor_unit(register):
    invoice = register(currency="jpy", amount_excl_tax="100000", tax_amount="10000", total_amount="110000")
    assert invoice.currency == "JPY" and invoice.total_amount == Decimal("110000")


def test_an_issue_date_of_today_is_accepted(register):
    assert register(issue_date=timezone.localdate()).issue_date == timezone.localdate()


def test_the_buyer_credit_code_is_matched_case_and_space_insensitively(register, platform):
    assert register(buyer_credit_code=f"  {BUYER_CODE.lower()} ").buyer == platform["buyer"]


def test_the_same_number_under_another_code_is_another_invoice(register):
    register(invoice_code="4403221130", invoice_number="12345678")
    assert register(invoice_code="4403221131", invoice_number="12345678").invoice_number == "12345678"


BAD_INPUT = [
    ("zero amount", {"amount_excl_tax": "0", "tax_amount": "0", "total_amount": "0"}, "amount_excl_tax"),
    ("negative amount", {"amount_excl_tax": "-100.00", "total_amount": "1200.00"}, "amount_excl_tax"),
    ("negative tax", {"tax_amount": "-1.00", "total_amount": "9999.00"}, "tax_amount"),
    ("zero total", {"total_amount": "0"}, "total_amount"),
    ("negative total", {"total_amount": "-11300.00"}, "total_amount"),
    ("three decimals", {"amount_excl_tax": "10000.001", "total_amount": "11300.001"}, "amount_excl_tax"),
    ("three decimals on tax", {"tax_amount": "1300.005"}, "tax_amount"),
    ("decimals on yen", {"currency": "JPY", "amount_excl_tax": "100.5", "tax_amount": "0", "total_amount": "100.5"}, "amount_excl_tax"),
    ("float amount", {"amount_excl_tax": 10000.0}, "amount_excl_tax"),
    ("junk amount", {"total_amount": "11,300"}, "total_amount"),
    ("infinite amount", {"total_amount": "Infinity"}, "total_amount"),
    ("huge amount", {"amount_excl_tax": "1e30", "total_amount": "1e30"}, "amount_excl_tax"),
    ("unknown currency", {"currency": "XXX"}, "currency"),
    ("empty currency", {"currency": ""}, "currency"),
    ("total is not the sum", {"total_amount": "11300.01"}, "total_amount"),
    ("future date", {"issue_date": timezone.localdate() + datetime.timedelta(days=1)}, "issue_date"),
    ("no date", {"issue_date": None}, "issue_date"),
    ("datetime for a date", {"issue_date": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)}, "issue_date"),
    ("garbage date", {"issue_date": "8 Oct"}, "issue_date"),
    ("unknown buyer code", {"buyer_credit_code": make_credit_code("91440300MA5F77771")}, "buyer_credit_code"),
    ("no buyer code", {"buyer_credit_code": ""}, "buyer_credit_code"),
    ("buyer is a plain supplier", {"buyer_credit_code": SUPPLIER2_CODE}, "buyer_credit_code"),
    ("buyer is a financier", {"buyer_credit_code": make_credit_code("91440100MA5F00044")}, "buyer_credit_code"),
    ("buyer is the seller", {"buyer_credit_code": SUPPLIER_CODE}, "buyer_credit_code"),
    ("code of 11 digits", {"invoice_code": "44032211301"}, "invoice_code"),
    ("code with letters", {"invoice_code": "44032211AB"}, "invoice_code"),
    ("no number", {"invoice_number": "  "}, "invoice_number"),
    ("number too short", {"invoice_number": "1234567"}, "invoice_number"),
    ("number with letters", {"invoice_number": "INV-0001"}, "invoice_number"),
    ("number too long", {"invoice_number": "1" * 21}, "invoice_number"),
    ("PNG renamed .pdf", {"file": upload("invoice.pdf", png_bytes())}, "file"),
    ("11 MB file", {"file": upload("big.pdf", pdf_bytes(b"0" * (11 * 1000 * 1000)))}, "file"),
    ("missing file", {"file": None}, "file"),
    ("empty file", {"file": upload("a.pdf", b"")}, "file"),
    ("text file", {"file": upload("a.pdf", b"hello, this is not a PDF")}, "file"),
]


@pytest.mark.parametrize("overrides, field", [case[1:] for case in BAD_INPUT], ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(register, nothing_written, overrides, field):
    with pytest.raises(InvalidInput) as err:
        register(**overrides)
    assert err.value.field == field
    assert err.value.message
    nothing_written(0)


def test_the_buyer_cannot_be_the_sellers_own_organization_even_when_it_is_a_core_enterprise(register, nothing_written):
    # The demo buyer is both a core enterprise and a supplier.
    with pytest.raises(InvalidInput, match="your own organization") as err:
        register("buyer", buyer_credit_code=BUYER_CODE)
    assert err.value.field == "buyer_credit_code"
    nothing_written(0)


def test_a_buyer_that_is_not_kyc_approved_is_refused(register, platform, nothing_written):
    organization_set_kyc(organization_id=platform["buyer"].pk, status=KycStatus.SUSPENDED, actor=None)
    with pytest.raises(InvalidInput, match="KYC") as err:
        register()
    assert err.value.field == "buyer_credit_code"
    nothing_written(0)


def test_a_seller_that_is_not_kyc_approved_cannot_register(users, nothing_written):
    pending = organization_create(
        legal_name="Pending Parts", credit_code=make_credit_code("91440300MA5F00661"), kinds=["supplier"]
    )
    user = member_create(organization=pending, username="pending-user", password="x").user
    with pytest.raises(NotPermitted, match="KYC"):
        invoice_register(actor=user, **fields())
    nothing_written(0)


def test_a_suspended_supplier_cannot_register(register, platform, nothing_written):
    organization_set_kyc(organization_id=platform["supplier"].pk, status=KycStatus.SUSPENDED, actor=None)
    with pytest.raises(NotPermitted):
        register()
    nothing_written(0)


@pytest.mark.parametrize("username", ["financier", "regulator", "admin", "core2"])
def test_organizations_that_are_not_suppliers_cannot_register(register, nothing_written, username):
    with pytest.raises(NotPermitted, match="Only suppliers"):
        register(username)
    nothing_written(0)


def test_a_user_without_an_organization_cannot_register(django_user_model, platform, nothing_written):
    loner = django_user_model.objects.create_user("loner", password="x")
    with pytest.raises(NotPermitted):
        invoice_register(actor=loner, **fields())
    nothing_written(0)


# --- duplicates -----------------------------------------------------------------------------------------


def test_the_same_invoice_number_from_the_same_organization_is_refused_naming_the_existing_one(
    register, nothing_written
):
    first = register(invoice_number="87654321")
    with pytest.raises(Conflict) as err:
        register("supplier", invoice_number="87654321")
    assert err.value.http_status == 409
    assert "87654321" in err.value.message and "already registered" in err.value.message
    assert err.value.field == "invoice_number"
    assert Invoice.objects.get() == first
    nothing_written(1)


def test_the_same_file_from_the_same_organization_is_refused_naming_the_existing_invoice(register, nothing_written):
    content = pdf_bytes()
    register(invoice_number="11112222", file=upload("a.pdf", content))
    with pytest.raises(Conflict) as err:
        register(invoice_number="33334444", file=upload("copy.pdf", content))
    assert "11112222" in err.value.message and err.value.field == "file"
    nothing_written(1)


def _assert_no_leak(message: str, first: Invoice) -> None:
    assert "another organization" in message
    for secret in (
        first.seller.legal_name,
        first.seller.credit_code,
        str(first.pk),
        str(first.total_amount),
        first.file_sha256,
    ):
        assert secret not in message


def test_the_same_invoice_number_from_another_organization_is_refused_without_naming_the_owner(
    register, nothing_written
):
    first = register(invoice_code="4403221130", invoice_number="55556666")
    with pytest.raises(Conflict) as err:
        register("supplier2", invoice_code="4403221130", invoice_number="55556666")
    _assert_no_leak(err.value.message, first)
    assert "your" not in err.value.message
    nothing_written(1)


def test_the_same_file_from_another_organization_is_refused_without_naming_the_owner(register, nothing_written):
    content = pdf_bytes()
    first = register(file=upload("a.pdf", content), invoice_number="77778888")
    with pytest.raises(Conflict) as err:
        register("supplier2", file=upload("mine.pdf", content))
    _assert_no_leak(err.value.message, first)
    assert "77778888" not in err.value.message
    nothing_written(1)


def test_a_duplicate_is_refused_before_the_file_touches_the_disk(register, media_root):
    content = pdf_bytes()
    register(file=upload("a.pdf", content))
    before = {p: p.stat().st_mtime_ns for p in stored_files(media_root)}
    with pytest.raises(Conflict):
        register(file=upload("a.pdf", content))
    assert {p: p.stat().st_mtime_ns for p in stored_files(media_root)} == before


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_loses_at_the_insert_and_its_file_is_removed(users, media_root):
    """B passes the duplicate check while A's row is uncommitted, writes its file, blocks on the unique index,
    and when A commits it fails: its file is deleted and it gets the same clear 409."""
    content = pdf_bytes()
    number = next_number()
    a_inserted = threading.Event()
    outcome: dict[str, object] = {}

    def run_a() -> None:
        try:
            with transaction.atomic():
                outcome["a"] = invoice_register(
                    actor=users["supplier"], **fields(file=upload("a.pdf", content), invoice_number=number)
                )
                a_inserted.set()
                # Commit only once B is waiting for A's row lock on the unique index (at most 10 s).
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not _someone_waits_on_a_lock():
                    time.sleep(0.05)
                outcome["b_was_blocked"] = _someone_waits_on_a_lock()
                outcome["files_while_b_blocked"] = len(stored_files(media_root))
        finally:
            connections.close_all()

    def run_b() -> None:
        a_inserted.wait(10)
        try:
            invoice_register(actor=users["supplier"], **fields(file=upload("b.pdf", content), invoice_number=number))
        except Conflict as err:
            outcome["b"] = err
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run_a), threading.Thread(target=run_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcome["b_was_blocked"] is True
    assert outcome["files_while_b_blocked"] == 2  # B had written its file before it blocked
    assert isinstance(outcome["a"], Invoice)
    assert isinstance(outcome["b"], Conflict) and number in outcome["b"].message
    assert Invoice.objects.count() == 1
    assert len(stored_files(media_root)) == 1
    assert stored_files(media_root)[0].name == Invoice.objects.get().file.name.split("/")[-1]


def _someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # activity is otherwise frozen for the transaction
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


# --- the database's own guards --------------------------------------------------------------------------


def _raw(invoice: Invoice, **changes: object) -> None:
    values = {f.attname: getattr(invoice, f.attname) for f in Invoice._meta.concrete_fields if f.attname != "id"}
    values.update(changes)
    with transaction.atomic():
        Invoice.objects.create(**values)


@pytest.mark.parametrize(
    "changes",
    [
        {"invoice_number": "99990000"},  # same file hash
        {"file_sha256": "f" * 64},  # same code + number
        {"file_sha256": "e" * 64, "invoice_number": "99990001", "total_amount": Decimal("1.00")},
        {"file_sha256": "d" * 64, "invoice_number": "99990002", "amount_excl_tax": Decimal("0"), "tax_amount": Decimal("0"), "total_amount": Decimal("0")},
        {"file_sha256": "c" * 64, "invoice_number": "99990003", "buyer_id": None},
        {"file_sha256": "b" * 64, "invoice_number": "99990004", "currency": "usd"},
        {"file_sha256": "a" * 64, "invoice_number": "99990005", "status": "approved"},
    ],
    ids=["same file", "same code and number", "total not sum", "zero total", "buyer is seller", "bad currency", "bad status"],
)
def test_the_database_refuses_what_the_service_refuses(register, changes):
    invoice = register()
    if "buyer_id" in changes:
        changes["buyer_id"] = invoice.seller_id
    with pytest.raises(IntegrityError):
        _raw(invoice, **changes)


# --- verification ---------------------------------------------------------------------------------------


def test_the_buyer_verifies_an_invoice(register, users, platform):
    invoice = register()
    verified = invoice_verify(invoice_id=invoice.pk, actor=users["buyer"], verdict="verified")
    verified.refresh_from_db()
    assert verified.status == InvoiceStatus.VERIFIED
    assert verified.verified_by == users["buyer"] and verified.verified_at is not None
    event = verified.events.last()
    assert (event.action, event.from_status, event.to_status, event.organization) == (
        "verified",
        "registered",
        "verified",
        platform["buyer"],
    )


def test_the_buyer_disputes_with_a_reason_and_may_verify_later(register, users):
    invoice = register()
    disputed = invoice_verify(invoice_id=str(invoice.pk), actor=users["buyer"], verdict="Disputed", note="Wrong qty")
    assert disputed.status == InvoiceStatus.DISPUTED and disputed.verification_note == "Wrong qty"
    verified = invoice_verify(invoice_id=invoice.pk, actor=users["buyer"], verdict="verified", note="Corrected")
    assert verified.status == InvoiceStatus.VERIFIED
    assert list(invoice.events.values_list("action", flat=True)) == ["registered", "disputed", "verified"]


def test_a_dispute_needs_a_note(register, users):
    invoice = register()
    with pytest.raises(InvalidInput) as err:
        invoice_verify(invoice_id=invoice.pk, actor=users["buyer"], verdict="disputed", note="  ")
    assert err.value.field == "note"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.REGISTERED and invoice.events.count() == 1


def test_a_note_longer_than_500_characters_is_refused(register, users):
    invoice = register()
    with pytest.raises(InvalidInput) as err:
        invoice_verify(invoice_id=invoice.pk, actor=users["buyer"], verdict="disputed", note="x" * 501)
    assert err.value.field == "note"


@pytest.mark.parametrize("verdict", ["approved", "", None, "registered"])
def test_an_unknown_verdict_is_refused(register, users, verdict):
    invoice = register()
    with pytest.raises(InvalidInput) as err:
        invoice_verify(invoice_id=invoice.pk, actor=users["buyer"], verdict=verdict)
    assert err.value.field == "verdict"


@pytest.mark.parametrize("second", ["verified", "disputed"])
def test_a_verified_invoice_is_final(register, users, second):
    invoice = register()
    invoice_verify(invoice_id=invoice.pk, actor=users["buyer"], verdict="verified")
    with pytest.raises(Conflict, match="already verified"):
        invoice_verify(invoice_id=invoice.pk, actor=users["buyer"], verdict=second, note="changed my mind")
    assert invoice.events.count() == 2


def test_a_dispute_is_not_disputed_twice(register, users):
    invoice = register()
    invoice_verify(invoice_id=invoice.pk, actor=users["buyer"], verdict="disputed", note="a")
    with pytest.raises(Conflict):
        invoice_verify(invoice_id=invoice.pk, actor=users["buyer"], verdict="disputed", note="b")


@pytest.mark.parametrize("username", ["supplier", "regulator", "admin"])
def test_only_the_buyer_gives_a_verdict_others_who_see_it_are_not_permitted(register, users, username):
    invoice = register()
    with pytest.raises(NotPermitted):
        invoice_verify(invoice_id=invoice.pk, actor=users[username], verdict="verified")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.REGISTERED


@pytest.mark.parametrize("username", ["supplier2", "core2", "financier"])
def test_organizations_out_of_reach_get_not_found(register, users, username):
    invoice = register()
    with pytest.raises(NotFound):
        invoice_verify(invoice_id=invoice.pk, actor=users[username], verdict="verified")


@pytest.mark.parametrize("invoice_id", ["nope", "", None, 42, "00000000-0000-0000-0000-000000000000"])
def test_a_malformed_or_unknown_id_is_not_found(users, invoice_id):
    with pytest.raises(NotFound):
        invoice_verify(invoice_id=invoice_id, actor=users["buyer"], verdict="verified")


def test_a_suspended_buyer_cannot_give_a_verdict(register, users, platform):
    invoice = register()
    organization_set_kyc(organization_id=platform["buyer"].pk, status=KycStatus.SUSPENDED, actor=None)
    with pytest.raises(NotPermitted, match="KYC"):
        invoice_verify(invoice_id=invoice.pk, actor=users["buyer"], verdict="verified")
