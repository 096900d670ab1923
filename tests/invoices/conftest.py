"""Fixtures of the invoice tests: the demo platform plus an unrelated core enterprise, sample files of every
accepted type, a private MEDIA_ROOT per test, and a helper that registers an invoice through the service.
"""

from __future__ import annotations

import datetime
import io
import itertools
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from finance_portal.organizations.models import KycStatus, Organization
from finance_portal.organizations.services import member_create, organization_create
from finance_portal.organizations.validators import make_credit_code
from invoices.models import Invoice, InvoiceEvent
from invoices.services import invoice_register

ROLES = ("supplier", "supplier2", "buyer", "core2", "financier", "regulator", "admin")
_serial = itertools.count(1)


def unique() -> int:
    return next(_serial)


def pdf_bytes(extra: bytes = b"") -> bytes:
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n" + f"% {unique()}\n".encode() + extra + b"\n%%EOF\n"


def png_bytes() -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
        + f"{unique():08d}".encode()
    )


def jpeg_bytes() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + f"{unique():08d}".encode()


def xml_bytes() -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<EInvoice><Header><InvoiceNumber>'
        f"{unique():020d}</InvoiceNumber></Header></EInvoice>\n"
    ).encode()


def ofd_bytes(*, with_ofd_xml: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        if with_ofd_xml:
            archive.writestr("OFD.xml", '<?xml version="1.0"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>')
        archive.writestr("Doc_0/Document.xml", f"<Document id='{unique()}'/>")
    return buf.getvalue()


def upload(name: str = "invoice.pdf", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes() if content is None else content, content_type="application/pdf")


def next_number() -> str:
    return f"{unique() + 10_000_000:08d}"


def fields(**overrides: object) -> dict[str, object]:
    """Valid registration arguments (less the actor) for an invoice from ``supplier`` to ``buyer``."""
    base: dict[str, object] = {
        "file": upload(),
        "invoice_code": "4403221130",
        "invoice_number": next_number(),
        "buyer_credit_code": make_credit_code("91440300MA5F00033"),
        "issue_date": datetime.date(2026, 10, 8),
        "amount_excl_tax": "10000.00",
        "tax_amount": "1300.00",
        "total_amount": "11300.00",
        "currency": "CNY",
    }
    base.update(overrides)
    return base


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    """Every invoice test stores files in its own directory, so files on disk can be counted."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def platform(demo_orgs: dict[str, Organization]) -> dict[str, Organization]:
    """The demo organizations plus ``core2``: a core enterprise with no business with anyone here."""
    orgs = dict(demo_orgs)
    core2 = organization_create(
        legal_name="Unrelated Heavy Industries Co., Ltd.",
        credit_code=make_credit_code("91440300MA5F00991"),
        kinds=["core_enterprise"],
        kyc_status=KycStatus.APPROVED,
    )
    member_create(organization=core2, username="core2", password="demo12345")
    orgs["core2"] = core2
    return orgs


@pytest.fixture
def users(platform: dict[str, Organization]) -> dict[str, object]:
    model = get_user_model()
    return {name: model.objects.get(username=name) for name in ROLES}


@pytest.fixture
def register(users: dict[str, object]) -> Callable[..., Invoice]:
    """``register("supplier", **overrides)``: an invoice registered through the service."""

    def _register(username: str = "supplier", **overrides: object) -> Invoice:
        return invoice_register(actor=users[username], **fields(**overrides))

    return _register


@pytest.fixture
def nothing_written(media_root: Path) -> Callable[[int], None]:
    """``nothing_written(n)`` asserts exactly ``n`` invoices, their events and their files exist."""

    def _check(expected: int = 0) -> None:
        assert Invoice.objects.count() == expected
        assert InvoiceEvent.objects.count() == expected
        assert len(stored_files(media_root)) == expected

    return _check
