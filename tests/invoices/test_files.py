"""File checks of invoice uploads: type by content, names that contradict it, size limit, hashing."""

import hashlib

import pytest
from django.core.files.base import ContentFile

from invoices.errors import InvoiceInvalid
from invoices.files import clean_filename, inspect_upload
from tests.invoices.conftest import jpeg_bytes, ofd_bytes, pdf_bytes, png_bytes, upload, xml_bytes


@pytest.mark.parametrize(
    "name, make, content_type",
    [
        ("a.pdf", pdf_bytes, "application/pdf"),
        ("a.ofd", ofd_bytes, "application/ofd"),
        ("a.xml", xml_bytes, "application/xml"),
        ("a.png", png_bytes, "image/png"),
        ("a.jpg", jpeg_bytes, "image/jpeg"),
        ("a.JPEG", jpeg_bytes, "image/jpeg"),
    ],
)
def test_each_accepted_type_is_recognised_by_content(name, make, content_type):
    content = make()
    inspected = inspect_upload(upload(name, content))
    assert inspected.kind.content_type == content_type
    assert inspected.size == len(content)
    assert inspected.sha256 == hashlib.sha256(content).hexdigest()
    assert inspected.original_filename == name


def test_a_name_without_extension_is_judged_by_content_alone():
    assert inspect_upload(upload("scan", png_bytes())).kind.content_type == "image/png"


@pytest.mark.parametrize(
    "name, make, words",
    [
        ("invoice.pdf", png_bytes, ["PDF", "PNG"]),
        ("invoice.pdf", jpeg_bytes, ["PDF", "JPEG"]),
        ("invoice.png", pdf_bytes, ["PNG", "PDF"]),
        ("invoice.pdf", ofd_bytes, ["PDF", "OFD"]),
        ("invoice.txt", pdf_bytes, [".txt", "PDF"]),
    ],
)
def test_a_name_that_contradicts_the_content_is_refused(name, make, words):
    with pytest.raises(InvoiceInvalid) as err:
        inspect_upload(upload(name, make()))
    assert err.value.field == "file"
    for word in words:
        assert word in err.value.message


@pytest.mark.parametrize(
    "content, found",
    [
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 300, "application/x-msdownload"),
        (b"GIF89a\x01\x00\x01\x00" + b"\x00" * 20, "image/gif"),
        (b"just some text, not an invoice", "type the platform does not accept"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "type the platform does not accept"),
        (b"<html><body>hi</body></html>", "type the platform does not accept"),
        (b'<!DOCTYPE lol [<!ENTITY a "a">]><r>&a;</r>', "declares a DOCTYPE"),
        (b"<\x00?\x00x\x00m\x00l\x00", "type the platform does not accept"),
    ],
)
def test_other_types_are_refused_naming_what_was_found(content, found):
    with pytest.raises(InvoiceInvalid) as err:
        inspect_upload(upload("invoice", content))
    assert found in err.value.message
    assert err.value.field == "file"


def test_a_zip_without_ofd_xml_is_not_an_ofd():
    with pytest.raises(InvoiceInvalid):
        inspect_upload(upload("invoice.ofd", ofd_bytes(with_ofd_xml=False)))


def test_a_broken_zip_is_refused():
    with pytest.raises(InvoiceInvalid):
        inspect_upload(upload("invoice.ofd", b"PK\x03\x04" + b"\x00" * 100))


@pytest.mark.parametrize("prefix", [b"\xef\xbb\xbf", b"\n  ", b""])
def test_xml_may_start_with_a_bom_or_blank_space_and_without_declaration(prefix):
    content = prefix + b"<Invoice><No>1</No></Invoice>"
    assert inspect_upload(upload("e.xml", content)).kind.content_type == "application/xml"


def test_an_empty_file_is_refused():
    with pytest.raises(InvoiceInvalid, match="empty"):
        inspect_upload(upload("a.pdf", b""))


def test_a_missing_file_is_refused():
    with pytest.raises(InvoiceInvalid) as err:
        inspect_upload(None)
    assert err.value.field == "file"


def test_the_size_limit_is_ten_mebibytes_by_default():
    limit = 10 * 1024 * 1024
    body = pdf_bytes()
    at_limit = body + b"0" * (limit - len(body))
    assert inspect_upload(upload("a.pdf", at_limit)).size == limit
    with pytest.raises(InvoiceInvalid, match="at most 10 MiB"):
        inspect_upload(upload("a.pdf", at_limit + b"0"))


def test_the_size_limit_follows_the_setting(settings):
    settings.INVOICE_MAX_BYTES = 2000
    inspect_upload(upload("a.pdf", pdf_bytes(b"0" * 1000)))
    with pytest.raises(InvoiceInvalid):
        inspect_upload(upload("a.pdf", pdf_bytes(b"0" * 2000)))


def test_a_file_larger_than_its_declared_size_is_still_caught(settings):
    settings.INVOICE_MAX_BYTES = 2000
    lying = ContentFile(pdf_bytes(b"0" * 5000), name="a.pdf")
    lying.size = 10  # what a client might claim
    with pytest.raises(InvoiceInvalid):
        inspect_upload(lying)


@pytest.mark.parametrize(
    "given, kept",
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\me\\发票.pdf", "发票.pdf"),
        ("bad\x00name\r\n.pdf", "badname.pdf"),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
        (None, ""),
    ],
)
def test_the_original_name_keeps_only_a_clean_base_name(given, kept):
    assert clean_filename(given) == kept
