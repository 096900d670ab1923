"""What an uploaded invoice file really is: its type by content (never by name), its size and SHA-256.

Accepted: PDF, OFD (a ZIP whose root holds ``OFD.xml``, GB/T 33190), XML e-invoices, PNG and JPEG. A name
whose extension contradicts the content (a PNG called ``invoice.pdf``) is refused as well: the user meant
to send something else. The file is read in chunks and never decompressed, so a hostile upload costs at
most one pass over its bytes. XML is recognised by its start (``<?xml`` or a root element); a DOCTYPE
(entity expansion) or an HTML page is not an invoice.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

import filetype
from django.conf import settings
from django.core.files.base import File
from django.http import FileResponse

from invoices.errors import InvoiceInvalid, InvoiceNotFound

if TYPE_CHECKING:
    from invoices.models import Invoice

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class FileKind:
    label: str
    content_type: str
    extensions: tuple[str, ...]


PDF = FileKind("PDF", "application/pdf", (".pdf",))
OFD = FileKind("OFD", "application/ofd", (".ofd",))
XML = FileKind("XML", "application/xml", (".xml",))
PNG = FileKind("PNG", "image/png", (".png",))
JPEG = FileKind("JPEG", "image/jpeg", (".jpg", ".jpeg", ".jpe"))
ACCEPTED = (PDF, OFD, XML, PNG, JPEG)
_BY_MIME = {kind.content_type: kind for kind in (PDF, PNG, JPEG)}
KNOWN_EXTENSIONS = {ext: kind for kind in ACCEPTED for ext in kind.extensions}

_HEAD_BYTES = 8192
_XML_START = re.compile(rb"^<(\?xml[\s?]|[A-Za-z_][\w.:-]*[\s/>])")
_NOT_XML_ROOTS = (b"<!doctype html", b"<html", b"<script")


@dataclass(frozen=True)
class InspectedFile:
    kind: FileKind
    size: int
    sha256: str
    original_filename: str


def max_bytes() -> int:
    return int(getattr(settings, "INVOICE_MAX_BYTES", DEFAULT_MAX_BYTES))


def accepted_labels() -> str:
    return ", ".join(kind.label for kind in ACCEPTED[:-1]) + f" or {ACCEPTED[-1].label}"


def clean_filename(name: str | None) -> str:
    """The base name the user gave, without directories or control characters, at most 255 characters."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if len(base) > 255:
        stem, ext = os.path.splitext(base)
        base = stem[: 255 - len(ext)] + ext if len(ext) < 20 else base[:255]
    return base


def inspect_upload(file: File | None, *, field: str = "file") -> InspectedFile:
    """Check an upload and describe it; raises ``InvoiceInvalid`` naming ``field`` for anything refused.

    Precondition: ``file`` is seekable (Django's uploaded files and ``File`` objects are). It is left at
    position 0.
    """
    if file is None or not hasattr(file, "read"):
        raise InvoiceInvalid("Attach the invoice file (PDF, OFD, XML, PNG or JPEG).", field=field)
    limit = max_bytes()
    declared = getattr(file, "size", None)
    if declared is not None and declared > limit:
        raise InvoiceInvalid(_too_large(declared, limit), field=field)

    digest = hashlib.sha256()
    size = 0
    file.seek(0)
    head = b""
    for chunk in file.chunks() if hasattr(file, "chunks") else iter(lambda: file.read(64 * 1024), b""):
        size += len(chunk)
        if size > limit:
            raise InvoiceInvalid(_too_large(size, limit), field=field)
        if len(head) < _HEAD_BYTES:
            head += chunk[: _HEAD_BYTES - len(head)]
        digest.update(chunk)
    if size == 0:
        raise InvoiceInvalid("The file is empty.", field=field)

    kind = _sniff(file, head)
    file.seek(0)
    if kind is None:
        guess = filetype.guess(head)
        found = f"a {guess.mime} file" if guess is not None else "of a type the platform does not accept"
        raise InvoiceInvalid(f"The file is {found}: upload a {accepted_labels()} invoice.", field=field)

    original = clean_filename(getattr(file, "name", ""))
    ext = os.path.splitext(original)[1].lower()
    if ext and ext not in kind.extensions:
        claimed = KNOWN_EXTENSIONS.get(ext)
        claimed_text = f"a {claimed.label} file" if claimed else f"a {ext} file"
        raise InvoiceInvalid(
            f"The file is named like {claimed_text} but its content is {kind.label}: "
            f"rename it to {kind.extensions[0]} or upload the right file.",
            field=field,
        )
    return InspectedFile(kind=kind, size=size, sha256=digest.hexdigest(), original_filename=original)


def _too_large(size: int, limit: int) -> str:
    return f"The file is {size / 1048576:.1f} MiB; invoices may be at most {limit / 1048576:.0f} MiB."


def _sniff(file: File, head: bytes) -> FileKind | None:
    if head.startswith(b"PK\x03\x04"):
        return OFD if _is_ofd(file) else None
    guess = filetype.guess(head)
    if guess is not None:
        return _BY_MIME.get(guess.mime)
    return XML if _looks_like_xml(head) else None


def _is_ofd(file: File) -> bool:
    """A ZIP whose root holds OFD.xml. Only the central directory is read; nothing is decompressed."""
    try:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            return any(name.lower() == "ofd.xml" for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def _looks_like_xml(head: bytes) -> bool:
    text = head.removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in text:
        return False
    text = text.lstrip(b" \t\r\n")
    if text.lower().startswith(_NOT_XML_ROOTS):
        return False
    return bool(_XML_START.match(text))


def download_name(invoice: Invoice) -> str:
    """The name a download carries: the invoice's identity and the extension of its real type."""
    ext = next((k.extensions[0] for k in ACCEPTED if k.content_type == invoice.content_type), "")
    code = f"{invoice.invoice_code}-" if invoice.invoice_code else ""
    return f"invoice-{code}{invoice.invoice_number}{ext}"


def file_response(invoice: Invoice) -> FileResponse:
    """The invoice's file as an attachment with its stored type; ``NotFound`` if storage lost it.

    Precondition: the caller checked that the user may read ``invoice`` (``invoice_get_for``).
    """
    try:
        handle = invoice.file.open("rb")
    except (FileNotFoundError, ValueError):
        logger.error("invoice %s: file %r is missing from storage", invoice.pk, invoice.file.name)
        raise InvoiceNotFound("The file of this invoice is not available.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=download_name(invoice), content_type=invoice.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
