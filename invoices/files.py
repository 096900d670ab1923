"""What an uploaded invoice file really is: its type by content (never by name), its size and SHA-256, and
whether its content is hostile.

Accepted: PDF, OFD (a ZIP whose root holds ``OFD.xml``, GB/T 33190), XML e-invoices, PNG and JPEG. A name
whose extension contradicts the content (a PNG called ``invoice.pdf``) is refused as well: the user meant
to send something else. Refused by content, whatever the name:

- XML (and every XML member of an OFD) that is not well-formed, declares a DOCTYPE or an entity (billion
  laughs, external entities: parsed with defusedxml, nothing expanded or fetched), or carries script-bearing
  markup: SVG or XHTML elements, ``<script>``/``<iframe>``/``<object>``..., ``on*=`` event attributes,
  ``javascript:`` URLs, an ``xml-stylesheet`` instruction;
- PDF, PNG and JPEG files whose bytes also hold web-page markup (``<html``, ``<script``...): polyglots;
- ZIP containers beyond ``INVOICE_ZIP_MAX_MEMBERS`` members, ``INVOICE_ZIP_MAX_TOTAL`` bytes uncompressed or
  ``INVOICE_ZIP_MAX_RATIO`` expansion (per member and overall), with member names that leave the archive, with
  archives inside, encrypted or compressed other than stored/deflated. The central directory is judged
  first, so a bomb is refused before anything is decompressed; then each member is decompressed in chunks
  against the same caps, because headers can lie.

The one thing to know: a hostile upload costs at most one pass over its bytes plus ``INVOICE_ZIP_MAX_TOTAL``
bytes of decompression, and every refusal happens before anything is stored.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING
from xml.etree.ElementTree import ParseError

import filetype
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser
from django.conf import settings
from django.core.files.base import File
from django.http import FileResponse
from django.utils.translation import gettext

from invoices.errors import InvoiceInvalid, InvoiceNotFound

if TYPE_CHECKING:
    from invoices.models import Invoice

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_MAX_BYTES = 10 * MIB
DEFAULT_ZIP_MAX_TOTAL = 64 * MIB
DEFAULT_ZIP_MAX_RATIO = 100
DEFAULT_ZIP_MAX_MEMBERS = 1000
ZIP_RATIO_FLOOR = MIB  # members (and archives) expanding to less than this are not judged by their ratio
XML_MAX_DEPTH = 256


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

_CHUNK = 64 * 1024
_HEAD_BYTES = 8192
_XML_START = re.compile(rb"^<(\?xml[\s?]|!--|!doctype\s|[A-Za-z_][\w.:-]*[\s/>])", re.IGNORECASE)
_NOT_XML_ROOTS = (b"<!doctype html", b"<html", b"<script")
# Web-page markup inside a binary file makes it a polyglot a browser might render. Markers are long enough
# (5+ bytes) that compressed streams do not produce them by chance.
_WEB_MARKUP = re.compile(
    rb"<(?:!doctype\s+html|html|head>|body|script|iframe|object|embed|form|meta\s|svg[\s/>])|javascript:",
    re.IGNORECASE,
)
_MARKUP_OVERLAP = 32

_XHTML_NS = "http://www.w3.org/1999/xhtml"
_SVG_NS = "http://www.w3.org/2000/svg"
_FOREIGN_NAMESPACES = {
    _XHTML_NS: "XHTML (a web page)",
    _SVG_NS: "SVG (an image that can run scripts)",
    "http://www.w3.org/1999/XSL/Transform": "XSLT (a stylesheet program)",
    "http://www.w3.org/2001/XInclude": "XInclude (inclusion of other files)",
    "http://www.w3.org/1999/xlink": "XLink (links a viewer may follow)",
    "http://www.w3.org/2001/xml-events": "XML Events (script handlers)",
}
_ACTIVE_ELEMENTS = frozenset(
    {"script", "html", "svg", "iframe", "frame", "frameset", "object", "embed", "applet", "foreignobject"}
)
_EVENT_ATTRIBUTE = re.compile(r"on[a-z]+", re.ASCII)  # as XHTML and SVG spell them: lower case
_ACTIVE_URL = re.compile(r"(?:java|vb)script:|data:(?:text/html|image/svg|application/xhtml)", re.IGNORECASE)
_ARCHIVE_EXTENSIONS = (".zip", ".ofd", ".jar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".zst",
                       ".cab", ".lz", ".lzma", ".z")
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08", b"\x1f\x8b", b"BZh", b"7z\xbc\xaf\x27\x1c",
                  b"Rar!\x1a\x07", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"MSCF")


@dataclass(frozen=True)
class InspectedFile:
    kind: FileKind
    size: int
    sha256: str
    original_filename: str


def max_bytes() -> int:
    return int(getattr(settings, "INVOICE_MAX_BYTES", DEFAULT_MAX_BYTES))


def zip_limits() -> tuple[int, int, int]:
    """(max total uncompressed bytes, max expansion ratio, max members) of a ZIP container (an OFD)."""
    return (
        int(getattr(settings, "INVOICE_ZIP_MAX_TOTAL", DEFAULT_ZIP_MAX_TOTAL)),
        int(getattr(settings, "INVOICE_ZIP_MAX_RATIO", DEFAULT_ZIP_MAX_RATIO)),
        int(getattr(settings, "INVOICE_ZIP_MAX_MEMBERS", DEFAULT_ZIP_MAX_MEMBERS)),
    )


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
    position 0. Nothing is written anywhere.
    """
    if file is None or not hasattr(file, "read"):
        raise InvoiceInvalid(gettext("Attach the invoice file (PDF, OFD, XML, PNG or JPEG)."), field=field)
    limit = max_bytes()
    declared = getattr(file, "size", None)
    if declared is not None and declared > limit:
        raise InvoiceInvalid(_too_large(declared, limit), field=field)

    digest = hashlib.sha256()
    size = 0
    head = b""
    tail = b""
    markup: bytes | None = None
    for chunk in _chunks(file):
        size += len(chunk)
        if size > limit:
            raise InvoiceInvalid(_too_large(size, limit), field=field)
        if len(head) < _HEAD_BYTES:
            head += chunk[: _HEAD_BYTES - len(head)]
        digest.update(chunk)
        if markup is None:
            found = _WEB_MARKUP.search(tail + chunk)
            markup = found.group(0) if found else None
            tail = chunk[-_MARKUP_OVERLAP:]
    if size == 0:
        raise InvoiceInvalid(gettext("The file is empty."), field=field)

    kind = _sniff(file, head)
    if kind is None:
        guess = filetype.guess(head)
        found_text = f"a {guess.mime} file" if guess is not None else "of a type the platform does not accept"
        raise InvoiceInvalid(f"The file is {found_text}: upload a {accepted_labels()} invoice.", field=field)

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

    if kind is XML:
        _check_xml(_chunks(file), what="The XML file", field=field)
    elif kind is OFD:
        _check_zip(file, size=size, field=field)
    elif markup is not None:
        shown = markup.decode("ascii", "replace").strip()
        raise InvoiceInvalid(
            f"The {kind.label} file also holds web-page markup ({shown!r}): a file that is both an invoice and "
            "a web page is refused. Upload the invoice as issued.",
            field=field,
        )
    file.seek(0)
    return InspectedFile(kind=kind, size=size, sha256=digest.hexdigest(), original_filename=original)


def _chunks(file: File) -> Iterator[bytes]:
    file.seek(0)
    if hasattr(file, "chunks"):
        yield from file.chunks(_CHUNK)
    else:
        yield from iter(lambda: file.read(_CHUNK), b"")


def _mib(size: int) -> str:
    return f"{size / MIB:.4g} MiB" if size >= MIB else f"{size / MIB:.2g} MiB"


def _too_large(size: int, limit: int) -> str:
    return gettext("The file is %(size)s MiB; invoices may be at most %(limit)s MiB.") % {
        "size": f"{size / MIB:.1f}", "limit": f"{limit / MIB:.0f}"}


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


# --- XML ----------------------------------------------------------------------------------------------------


class _XmlGuard:
    """Parser target: refuses script-bearing markup as the elements stream by; builds no tree."""

    def __init__(self, what: str, field: str) -> None:
        self.what = what
        self.field = field
        self.depth = 0

    def refuse(self, reason: str) -> None:
        raise InvoiceInvalid(f"{self.what} {reason}: it is not an e-invoice, and it is refused.", field=self.field)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > XML_MAX_DEPTH:
            self.refuse(f"nests elements more than {XML_MAX_DEPTH} deep")
        namespace, local = _split(tag)
        if namespace in _FOREIGN_NAMESPACES:
            self.refuse(f"holds {_FOREIGN_NAMESPACES[namespace]} markup (<{local}>)")
        if local.lower() in _ACTIVE_ELEMENTS:
            self.refuse(f"holds script-bearing markup (a <{local}> element)")
        for name, value in attrib.items():
            attr_namespace, attr_local = _split(name)
            if attr_namespace in _FOREIGN_NAMESPACES:
                self.refuse(f"holds {_FOREIGN_NAMESPACES[attr_namespace]} attributes ({attr_local}=)")
            if _EVENT_ATTRIBUTE.fullmatch(attr_local):
                self.refuse(f"holds an event-handler attribute ({attr_local}=) that runs script")
            if _ACTIVE_URL.search("".join(ch for ch in value if not ch.isspace() and ch.isprintable())):
                self.refuse(f"holds a script URL in the attribute {attr_local}=")

    def end(self, tag: str) -> None:
        self.depth -= 1

    def data(self, text: str) -> None:
        pass

    def pi(self, target: str, text: str | None) -> None:
        if target.lower() == "xml-stylesheet":
            self.refuse("asks for a stylesheet (<?xml-stylesheet?>), which a browser would run")

    def close(self) -> None:
        pass


def _split(name: str) -> tuple[str, str]:
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return "", name.rpartition(":")[2]


def _check_xml(chunks: Iterator[bytes], *, what: str, field: str) -> None:
    """Parse the XML in ``chunks`` with defusedxml (no DTD, no entities, nothing external) and the guard."""
    parser = DefusedXMLParser(target=_XmlGuard(what, field), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        for chunk in chunks:
            parser.feed(chunk)
        parser.close()
    except DTDForbidden:
        raise InvoiceInvalid(
            f"{what} declares a DOCTYPE. E-invoices never do, and a DOCTYPE can expand entities without end or "
            "read other files: it is refused.",
            field=field,
        ) from None
    except (EntitiesForbidden, ExternalReferenceForbidden, DefusedXmlException):
        raise InvoiceInvalid(
            f"{what} declares or references entities, which can expand without end or read other files: "
            "it is refused.",
            field=field,
        ) from None
    except ParseError as err:
        line, column = getattr(err, "position", (0, 0))
        raise InvoiceInvalid(
            f"{what} is not well-formed XML (line {line}, column {column}); e-invoice XML is UTF-8 and "
            "well-formed.",
            field=field,
        ) from None


# --- ZIP (OFD) ------------------------------------------------------------------------------------------------


def _check_zip(file: File, *, size: int, field: str) -> None:
    """Judge the central directory, then decompress every member in chunks against the same caps."""
    max_total, max_ratio, max_members = zip_limits()

    def refuse(reason: str) -> InvoiceInvalid:
        return InvoiceInvalid(f"The OFD file {reason}: it is refused.", field=field)

    try:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(archive.infolist()) > max_members:
                raise refuse(f"holds {len(archive.infolist())} entries; at most {max_members} are accepted")
            seen: set[str] = set()
            for info in archive.infolist():
                problem = _unsafe_member(info, seen)
                if problem:
                    raise refuse(problem)
            declared_total = sum(info.file_size for info in members)
            if declared_total > max_total:
                raise refuse(
                    f"would expand to {_mib(declared_total)}; at most {_mib(max_total)} is accepted"
                )
            for info in members:
                if info.file_size > ZIP_RATIO_FLOOR and info.file_size > max_ratio * max(info.compress_size, 1):
                    raise refuse(
                        f"holds a member ({info.filename!r}) that expands {info.file_size // max(info.compress_size, 1)}"
                        f" times; at most {max_ratio} times is accepted"
                    )
            if declared_total > ZIP_RATIO_FLOOR and declared_total > max_ratio * size:
                raise refuse(f"expands {declared_total // size} times; at most {max_ratio} times is accepted")

            # The directory may lie: count what really comes out, member by member, against the same caps.
            expanded = 0
            for info in members:
                with archive.open(info) as member:
                    stream = _capped(member, info, budget=max_total - expanded, refuse=refuse)
                    if info.filename.lower().endswith(".xml"):
                        _check_xml(stream, what=f"The OFD member {info.filename!r}", field=field)
                    else:
                        if next(stream, b"").startswith(_ARCHIVE_MAGIC):
                            raise refuse(f"holds another archive ({info.filename!r})")
                        for _ in stream:
                            pass
                expanded += info.file_size  # _capped refused anything beyond it
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, OSError, EOFError,
            ValueError, zlib.error) as err:
        raise refuse(f"is damaged or unreadable as a ZIP container ({err})") from None


def _capped(
    member: IO[bytes], info: zipfile.ZipInfo, *, budget: int, refuse: Callable[[str], InvoiceInvalid]
) -> Iterator[bytes]:
    """The member's bytes in chunks; refuses more than its declared size or the remaining total budget."""
    got = 0
    for chunk in iter(lambda: member.read(_CHUNK), b""):
        got += len(chunk)
        if got > info.file_size or got > budget:
            raise refuse(f"holds a member ({info.filename!r}) that expands beyond its declared size or the limit")
        yield chunk


def _unsafe_member(info: zipfile.ZipInfo, seen: set[str]) -> str | None:
    """Why a member may not be in an invoice container, or None."""
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if (
        not name
        or name.startswith(("/", "\\"))
        or "\\" in name
        or ".." in parts
        or re.match(r"^[A-Za-z]:", name)
        or any(unicodedata.category(ch)[0] == "C" for ch in name)
    ):
        return f"holds a member whose name points outside the archive ({name!r})"
    if name.lower() in seen:
        return f"holds two members named {name!r}"
    seen.add(name.lower())
    if info.flag_bits & 0x1:
        return f"holds an encrypted member ({name!r})"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return f"holds a member compressed with method {info.compress_type} ({name!r}); only stored and deflated are accepted"
    if name.lower().endswith(_ARCHIVE_EXTENSIONS):
        return f"holds another archive ({name!r})"
    return None


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
