"""Hostile uploads are refused by content, whatever their name, and a refusal stores nothing.

Every file is built here, small: XML with DOCTYPEs and entities (XXE, billion laughs), SVG/XHTML and other
script-bearing XML named ``.xml``, PDF and PNG polyglots carrying web-page markup, and ZIP containers (OFD)
that are bombs (1 GiB of zeros in about 1 MB, built without compressing a gibibyte), lie in their headers,
leave the archive with their member names or hide archives inside.
"""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from invoices.errors import InvoiceInvalid
from invoices.files import inspect_upload
from invoices.services import invoice_register
from tests.invoices.conftest import fields, ofd_bytes, pdf_bytes, png_bytes, unique, upload

OFD_XML = b'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.1"/>'
GIB = 1 << 30
MIB = 1 << 20


# --- builders -----------------------------------------------------------------------------------------------


def raw_zip(entries: list[tuple[str, int, bytes, int, int]]) -> bytes:
    """A ZIP written by hand: (name, method, stored bytes, crc, declared uncompressed size) per member.

    Headers say exactly what they are given, so a test can make them lie.
    """
    out = io.BytesIO()
    central = []
    for name, method, data, crc, size in entries:
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, method, 0, 0x21, crc, len(data), size,
                              len(encoded), 0))
        out.write(encoded + data)
        central.append(struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 0, 20, 0, 0, method, 0, 0x21, crc,
                                   len(data), size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), start, 0))
    return out.getvalue()


def stored(name: str, data: bytes) -> tuple[str, int, bytes, int, int]:
    return (name, zipfile.ZIP_STORED, data, zlib.crc32(data), len(data))


def deflated(name: str, data: bytes, *, claim: int | None = None) -> tuple[str, int, bytes, int, int]:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = packer.compress(data) + packer.flush()
    return (name, zipfile.ZIP_DEFLATED, body, zlib.crc32(data), len(data) if claim is None else claim)


def gib_of_zeros() -> tuple[str, int, bytes, int, int]:
    """1 GiB of zeros deflated to about 1 MB, in milliseconds: a fully flushed deflate block of 1 MiB of zeros
    is the same bytes every time, so 1,024 copies and a final empty block decompress to exactly 1 GiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(bytes(MIB)) + packer.flush(zlib.Z_FULL_FLUSH)
    body = block * 1024 + b"\x03\x00"
    return ("Doc_0/Res/font.ttf", zipfile.ZIP_DEFLATED, body, 0x5B64C2B0, GIB)  # crc32 of 1 GiB of zeros


def ofd(*members: tuple[str, int, bytes, int, int], ofd_xml: bytes = OFD_XML) -> bytes:
    return raw_zip([stored("OFD.xml", ofd_xml), stored("Doc_0/Document.xml", f"<Document id='{unique()}'/>".encode()),
                    *members])


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()


XXE = b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<Invoice>&x;</Invoice>'
BILLION_LAUGHS = b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n' + b"".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode() for i in range(1, 10)
) + b"]>\n<lolz>&lol9;</lolz>"
SVG_SCRIPT = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
XHTML_SCRIPT = (
    b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><script>alert(1)</script></body></html>'
)
POLYGLOT = pdf_bytes(b"<html><body><script>fetch('/api/v1/bills/')</script></body></html>")


# name -> (upload name, content, words the refusal carries)
HOSTILE: dict[str, tuple[str, bytes, tuple[str, ...]]] = {
    "XXE (external entity file:///etc/passwd)": ("invoice.xml", XXE, ("DOCTYPE",)),
    "billion laughs": ("invoice.xml", BILLION_LAUGHS, ("DOCTYPE",)),
    "external DTD": ("invoice.xml", b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:1/x.dtd"><r/>', ("DOCTYPE",)),
    "parameter entity": (
        "invoice.xml", b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><r/>', ("DOCTYPE",)),
    "DOCTYPE without a prolog": ("invoice.xml", b'<!DOCTYPE lol [<!ENTITY a "a">]><r>&a;</r>', ("DOCTYPE",)),
    "undeclared entity": ("invoice.xml", b"<Invoice>&passwd;</Invoice>", ("not well-formed",)),
    "SVG with <script> named .xml": ("invoice.xml", SVG_SCRIPT, ("SVG",)),
    "SVG with onload named .xml": (
        "invoice.xml", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', ("SVG",)),
    "XHTML with <script> named .xml": ("invoice.xml", XHTML_SCRIPT, ("XHTML",)),
    "bare <svg> without namespace": ("invoice.xml", b"<svg><g onload='alert(1)'/></svg>", ("<svg>",)),
    "XHTML link inside an invoice": (
        "invoice.xml",
        b'<Invoice><Note><h:a xmlns:h="http://www.w3.org/1999/xhtml" href="#">x</h:a></Note></Invoice>',
        ("XHTML",),
    ),
    "<script> inside an invoice": ("invoice.xml", b"<Invoice><script>alert(1)</script></Invoice>", ("<script>",)),
    "event attribute on an invoice element": ("invoice.xml", b'<Invoice onclick="alert(1)"/>', ("onclick",)),
    "javascript: URL hidden by a character reference": (
        "invoice.xml", b'<Invoice><Link href=" java&#x09;script:alert(1)"/></Invoice>', ("script URL",)),
    "xml-stylesheet instruction": (
        "invoice.xml", b'<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="x.xsl"?><Invoice/>',
        ("stylesheet",)),
    "XInclude": (
        "invoice.xml",
        b'<Invoice xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd"/></Invoice>',
        ("XInclude",)),
    "%PDF + HTML polyglot": ("invoice.pdf", POLYGLOT, ("PDF", "web-page markup")),
    "%PDF with a <script> only": ("invoice.pdf", pdf_bytes(b"<SCRIPT src=//evil></SCRIPT>"), ("web-page markup",)),
    "%PDF with a javascript: URL": ("invoice.pdf", pdf_bytes(b"/URI (javascript:alert(1))"), ("web-page markup",)),
    "PNG + HTML polyglot": ("scan.png", png_bytes() + b"tEXt<html><script>alert(1)</script>", ("PNG", "web-page markup")),
    "OFD bomb: 1 MB expanding to 1 GiB": ("invoice.ofd", ofd(gib_of_zeros()), ("1024 MiB",)),
    "OFD bomb by ratio: 2 MiB of zeros in 2 KB": (
        "invoice.ofd", ofd(deflated("Doc_0/Res/image.bmp", bytes(2 * MIB))), ("times",)),
    "OFD bomb by overall ratio: three members under the floor": (
        "invoice.ofd",
        ofd(*(deflated(f"Doc_0/Res/{i}.bmp", bytes(900 * 1024)) for i in range(3))),
        ("times",),
    ),
    "OFD whose directory lies (claims 100 bytes, holds 5 MiB)": (
        "invoice.ofd", ofd(deflated("Doc_0/Res/a.bin", bytes(5 * MIB), claim=100)), ("OFD",)),
    "OFD member ../evil.xml": ("invoice.ofd", ofd(stored("../evil.xml", b"<r/>")), ("outside the archive",)),
    "OFD member /etc/cron.d/x": ("invoice.ofd", ofd(stored("/etc/cron.d/x", b"x")), ("outside the archive",)),
    "OFD member Doc_0/../../x": ("invoice.ofd", ofd(stored("Doc_0/../../x", b"x")), ("outside the archive",)),
    "OFD member C:\\x": ("invoice.ofd", ofd(stored("C:\\Windows\\x.xml", b"<r/>")), ("outside the archive",)),
    "OFD holding a .zip": ("invoice.ofd", ofd(stored("Doc_0/inner.zip", zipped({"a": b"a"}))), ("another archive",)),
    "OFD holding a ZIP disguised as .bin": (
        "invoice.ofd", ofd(stored("Doc_0/Res/res.bin", zipped({"a": b"a"}))), ("another archive",)),
    "OFD holding a gzip": ("invoice.ofd", ofd(stored("Doc_0/Res/a.dat", b"\x1f\x8b\x08\x00" + bytes(20))),
                           ("another archive",)),
    "OFD whose OFD.xml has a DOCTYPE": ("invoice.ofd", ofd(ofd_xml=XXE), ("OFD.xml", "DOCTYPE")),
    "OFD whose member is billion laughs": (
        "invoice.ofd", ofd(stored("Doc_0/Pages/Page_0/Content.xml", BILLION_LAUGHS)), ("Content.xml", "DOCTYPE")),
    "OFD whose member is an SVG": ("invoice.ofd", ofd(stored("Doc_0/Res/logo.xml", SVG_SCRIPT)), ("SVG",)),
    "OFD with a javascript: action": (
        "invoice.ofd",
        ofd(stored("Doc_0/Annots.xml", b'<ofd:Action xmlns:ofd="http://www.ofdspec.org/2016" Event="CLICK">'
                   b'<ofd:URI URI="javascript:alert(1)"/></ofd:Action>')),
        ("script URL",),
    ),
    "OFD with two members of one name": (
        "invoice.ofd", ofd(stored("Doc_0/a.xml", b"<a/>"), stored("doc_0/A.xml", b"<a/>")), ("two members",)),
    "OFD with a bzip2 member": (
        "invoice.ofd", ofd(("Doc_0/a.xml", zipfile.ZIP_BZIP2, b"BZh9", 0, 4)), ("method 12",)),
}


@pytest.fixture(params=list(HOSTILE), ids=list(HOSTILE))
def hostile(request: pytest.FixtureRequest) -> tuple[str, bytes, tuple[str, ...]]:
    return HOSTILE[request.param]


def test_each_hostile_file_is_refused_by_content_naming_the_file_field(hostile):
    name, content, words = hostile
    with pytest.raises(InvoiceInvalid) as err:
        inspect_upload(upload(name, content))
    assert err.value.field == "file"
    for word in words:
        assert word in err.value.message, err.value.message


def test_each_hostile_file_is_refused_whatever_its_name(hostile):
    _, content, _ = hostile
    for name in ("invoice", "invoice.dat"):
        with pytest.raises(InvoiceInvalid):
            inspect_upload(upload(name, content))


@pytest.mark.django_db
def test_a_refused_hostile_file_stores_nothing_through_the_service(hostile, users, nothing_written):
    name, content, _ = hostile
    with pytest.raises(InvoiceInvalid):
        invoice_register(actor=users["supplier"], **fields(file=upload(name, content)))
    nothing_written(0)


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["XXE (external entity file:///etc/passwd)", "SVG with <script> named .xml",
                                 "%PDF + HTML polyglot", "OFD bomb: 1 MB expanding to 1 GiB"])
def test_a_hostile_upload_through_the_api_is_a_400_in_the_error_shape_and_stores_nothing(
    key, users, nothing_written
):
    name, content, _ = HOSTILE[key]
    client = APIClient()
    client.force_authenticate(users["supplier"])
    data = fields(file=upload(name, content))
    data["issue_date"] = data["issue_date"].isoformat()
    response = client.post("/api/v1/invoices/", data, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["field"] == "file" and body["file"] == [body["detail"]]
    nothing_written(0)


def test_the_gib_bomb_is_refused_from_its_directory_without_decompressing_anything(monkeypatch):
    name, content, _ = HOSTILE["OFD bomb: 1 MB expanding to 1 GiB"]
    assert len(content) < 1_100_000

    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member was opened for decompression")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_open)
    started = time.monotonic()
    with pytest.raises(InvoiceInvalid, match="would expand to 1024 MiB"):
        inspect_upload(upload(name, content))
    assert time.monotonic() - started < 2


def test_the_gib_bomb_really_is_one(monkeypatch):
    """The builder's bytes are a real bomb: a plain inflater yields zeros far beyond the archive's size."""
    _, _, body, _, size = gib_of_zeros()
    inflater = zlib.decompressobj(-15)
    first = inflater.decompress(body, 8 * MIB)
    assert size == GIB and len(first) == 8 * MIB and not first.strip(b"\x00")


def test_a_lying_directory_is_caught_while_streaming(settings):
    """Sizes within every cap in the directory, far more in the stream: refused, never more than the cap read."""
    settings.INVOICE_ZIP_MAX_TOTAL = 1 * MIB
    content = ofd(deflated("Doc_0/Res/a.bin", bytes(20 * MIB), claim=1000))
    with pytest.raises(InvoiceInvalid) as err:
        inspect_upload(upload("invoice.ofd", content))
    assert "OFD" in err.value.message


def test_the_zip_limits_follow_the_settings(settings):
    content = ofd(stored("Doc_0/Res/a.bin", bytes(300 * 1024)))
    assert inspect_upload(upload("invoice.ofd", content)).kind.label == "OFD"
    settings.INVOICE_ZIP_MAX_TOTAL = 256 * 1024
    with pytest.raises(InvoiceInvalid, match="would expand to 0.29 MiB; at most 0.25 MiB"):
        inspect_upload(upload("invoice.ofd", content))
    settings.INVOICE_ZIP_MAX_TOTAL = 64 * MIB
    settings.INVOICE_ZIP_MAX_MEMBERS = 2
    with pytest.raises(InvoiceInvalid, match="holds 3 entries; at most 2"):
        inspect_upload(upload("invoice.ofd", content))


def test_the_ratio_limit_follows_the_setting(settings):
    content = ofd(deflated("Doc_0/Res/image.bmp", bytes(2 * MIB)))
    settings.INVOICE_ZIP_MAX_RATIO = 10_000
    assert inspect_upload(upload("invoice.ofd", content)).kind.label == "OFD"


# --- what stays accepted ------------------------------------------------------------------------------------

REAL_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!-- 数电票 (fully digitalised e-invoice) -->
<EInvoice xmlns="http://www.chinatax.gov.cn/eInvoice" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Version="1.0">
  <Header><EIid>26442000000123456789</EIid><Online>true</Online><Body>office supplies &amp; more &#x4E2D;</Body></Header>
  <Seller Name="深圳市供应商有限公司" TaxID="91440300MA5F00011X"/>
  <Remark><![CDATA[<script> in CDATA is text, not markup]]></Remark>
</EInvoice>
""".encode()


@pytest.mark.parametrize(
    "name, make",
    [
        ("e.xml", lambda: REAL_XML),
        ("invoice.ofd", ofd_bytes),
        ("invoice.ofd", lambda: ofd(deflated("Doc_0/Pages/Page_0/Content.xml", b"<Page>" + b" " * 200_000 + b"</Page>"),
                                    stored("Doc_0/Res/font.ttf", bytes(range(256)) * 400))),
        ("invoice.pdf", lambda: pdf_bytes(b"<< /Type /Annot /A << /S /URI /URI (https://inv.example/1) >> >>")),
    ],
    ids=["real-looking XML", "OFD fixture", "OFD with a large page and a font", "PDF with an https link"],
)
def test_real_invoices_are_still_accepted(name: str, make: Callable[[], bytes]):
    assert inspect_upload(upload(name, make())).size > 0
