"""Reading a bulk-import file (CSV or XLSX) into rows of text cells, refusing the file as a whole when it is
not a table of invoices we can read. Nothing here writes anything.

The layout (``COLUMNS``): a header row naming the columns, one invoice per row below it. CSV files are
UTF-8 (a byte-order mark is allowed) and comma-separated; XLSX files are read from their first worksheet
with openpyxl in read-only, values-only mode (a formula counts as the value Excel saved with it, never as a
formula). Refused as a whole, before anything is written: a file over ``import_max_bytes()``, more than
``import_max_rows()`` rows, a file whose content is not what its name says (a renamed binary), a ZIP that
would expand too much, no header, a header with an unknown, repeated or missing column, no data row.

The one thing to know: cells are handed on as text, exactly as found (only converted from Excel's numbers
and dates); every rule on their content is ``invoice_register``'s, row by row, in the worker.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import filetype
from django.conf import settings
from django.core.files.base import File
from django.utils.translation import gettext

from finance_portal.organizations.validators import make_credit_code
from invoices.errors import InvoiceInvalid
from invoices.files import clean_filename

MIB = 1024 * 1024
DEFAULT_IMPORT_MAX_BYTES = 5 * MIB
DEFAULT_IMPORT_MAX_ROWS = 10_000
XLSX_MAX_EXPANDED = 64 * MIB  # every member of the workbook together, uncompressed
XLSX_MAX_MEMBERS = 1000
XLSX_MAX_RATIO = 100  # judged on members over 1 MiB uncompressed
CELL_MAX = 256  # characters kept of a cell; the service refuses any field longer than 100 anyway
MAX_COLUMNS = 50

# (column, required, what it holds). The names are the service's argument names and the error report's fields.
COLUMNS: tuple[tuple[str, bool], ...] = (
    ("invoice_code", False),
    ("invoice_number", True),
    ("buyer_credit_code", True),
    ("issue_date", True),
    ("currency", False),
    ("amount_excl_tax", True),
    ("tax_amount", True),
    ("total_amount", True),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
TEMPLATE_BUYER = make_credit_code("91440300MA5F00033")
TEMPLATE_ROWS = (
    ("4403221130", "00012345", TEMPLATE_BUYER, "2026-10-08", "CNY", "10000.00", "1300.00", "11300.00"),
    ("", "26442000000000001234", TEMPLATE_BUYER, "2026-10-09", "CNY", "5000.00", "0.00", "5000.00"),
)

_ZIP_MAGIC = b"PK\x03\x04"
_FIELD = "file"


def import_max_bytes() -> int:
    return int(getattr(settings, "INVOICE_IMPORT_MAX_BYTES", DEFAULT_IMPORT_MAX_BYTES))


def import_max_rows() -> int:
    return int(getattr(settings, "INVOICE_IMPORT_MAX_ROWS", DEFAULT_IMPORT_MAX_ROWS))


@dataclass(frozen=True)
class ParsedRow:
    """A data row: its number as a spreadsheet shows it (header = 1), its cells by column, or why it is refused."""

    number: int
    cells: dict[str, str] = field(default_factory=dict)
    error: str = ""

    def as_json(self) -> list[object]:
        return [self.number, self.cells, self.error]

    @classmethod
    def from_json(cls, value: list[object]) -> ParsedRow:
        number, cells, error = value
        assert isinstance(number, int) and isinstance(cells, dict) and isinstance(error, str)
        return cls(number=number, cells={str(k): str(v) for k, v in cells.items()}, error=error)


@dataclass(frozen=True)
class ParsedFile:
    file_name: str
    format: str  # "csv" or "xlsx"
    rows: list[ParsedRow]


def parse_import_file(file: File | None) -> ParsedFile:
    """The rows of an uploaded CSV or XLSX file; ``InvoiceInvalid`` on ``file`` for anything refused whole."""
    if file is None or not hasattr(file, "read"):
        raise InvoiceInvalid(gettext("Choose a CSV or XLSX file to import."), field=_FIELD)
    name = clean_filename(getattr(file, "name", ""))
    ext = os.path.splitext(name)[1].lower()
    if ext not in (".csv", ".xlsx"):
        raise InvoiceInvalid(gettext("Import a .csv or an .xlsx file (Excel: “Save as” CSV UTF-8 or Excel workbook)."), field=_FIELD)
    limit = import_max_bytes()
    declared = getattr(file, "size", None)
    if declared is not None and declared > limit:
        raise InvoiceInvalid(_too_large(declared, limit), field=_FIELD)
    file.seek(0)
    data = file.read(limit + 1)
    if len(data) > limit:
        raise InvoiceInvalid(_too_large(len(data), limit), field=_FIELD)
    if not data:
        raise InvoiceInvalid(gettext("The file is empty."), field=_FIELD)
    if ext == ".csv":
        if data.startswith(_ZIP_MAGIC):
            raise InvoiceInvalid(
                "This file is a ZIP container (an Excel workbook?), not CSV text: name it .xlsx, or save it as CSV UTF-8.",
                field=_FIELD,
            )
        _refuse_binary(data, "CSV")
        table: Iterable[list[str]] = _csv_rows(data)
        fmt = "csv"
    else:
        if not data.startswith(_ZIP_MAGIC):
            raise InvoiceInvalid(
                "This file is not an Excel workbook (.xlsx): its content is "
                f"{_what(data)}. Save it from Excel as “Excel workbook” or as CSV UTF-8.",
                field=_FIELD,
            )
        table = _xlsx_rows(data)
        fmt = "xlsx"
    return ParsedFile(file_name=name, format=fmt, rows=_rows(table))


def _too_large(size: int, limit: int) -> str:
    return gettext("The file is %(size)s MiB or more; at most %(limit)s MiB can be imported at once.") % {
        "size": f"{size / MIB:.1f}", "limit": f"{limit / MIB:.1f}"}


def _what(data: bytes) -> str:
    guess = filetype.guess(data[:8192])
    return f"a {guess.mime} file" if guess is not None else "something else"


def _refuse_binary(data: bytes, label: str) -> None:
    guess = filetype.guess(data[:8192])
    if guess is not None:
        raise InvoiceInvalid(f"This file is a {guess.mime} file, not {label} text.", field=_FIELD)


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvoiceInvalid(
            f"The file is not UTF-8 text (byte {err.start + 1} cannot be read): in Excel, save it as “CSV UTF-8”.",
            field=_FIELD,
        ) from None
    if text.count("\x00") > max(16, len(text) // 100):
        raise InvoiceInvalid(gettext("The file holds binary data (many NUL bytes), not CSV text."), field=_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=",", strict=True)
    try:
        yield from reader
    except csv.Error as err:
        raise InvoiceInvalid(f"The CSV text is malformed near line {reader.line_num}: {err}.", field=_FIELD) from None


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    _check_workbook_zip(data)
    import openpyxl  # imported here: only imports of workbooks pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style" and similar remarks about the workbook
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
            try:
                if not workbook.worksheets:
                    raise InvoiceInvalid(gettext("The workbook has no worksheet."), field=_FIELD)
                sheet = workbook.worksheets[0]
                for values in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
                    yield [_cell_text(v) for v in values]
            finally:
                workbook.close()
    except InvoiceInvalid:
        raise
    except (InvalidFileException, zipfile.BadZipFile, Exception) as err:  # noqa: BLE001
        # defusedxml and openpyxl raise many kinds of error on damaged or hostile XML: each is a refusal.
        raise InvoiceInvalid(f"The workbook cannot be read ({type(err).__name__}): save it again from Excel.",
                             field=_FIELD) from None


def _check_workbook_zip(data: bytes) -> None:
    """Judge the ZIP directory before openpyxl opens anything: count, names, declared sizes and ratios."""

    def refuse(reason: str) -> InvoiceInvalid:
        return InvoiceInvalid(f"The workbook {reason}: it is refused.", field=_FIELD)

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as err:
        raise refuse(f"is damaged or not a ZIP container ({err})") from None
    if len(infos) > XLSX_MAX_MEMBERS:
        raise refuse(f"holds {len(infos)} entries; at most {XLSX_MAX_MEMBERS} are accepted")
    total = 0
    for info in infos:
        name = info.filename
        if name.startswith("/") or "\\" in name or ".." in name.split("/"):
            raise refuse(f"holds a member whose name points outside the archive ({name!r})")
        if info.flag_bits & 0x1:
            raise refuse("is encrypted (password protected); remove the password and save it again")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise refuse(f"holds a member compressed with method {info.compress_type}")
        if info.file_size > MIB and info.file_size > XLSX_MAX_RATIO * max(info.compress_size, 1):
            raise refuse(f"holds a member ({name!r}) that expands more than {XLSX_MAX_RATIO} times")
        total += info.file_size
    if total > XLSX_MAX_EXPANDED:
        raise refuse(f"would expand to {total / MIB:.0f} MiB; at most {XLSX_MAX_EXPANDED / MIB:.0f} MiB is accepted")


def _cell_text(value: object) -> str:
    """An Excel value as the text a CSV would hold: dates as YYYY-MM-DD, numbers without a binary tail."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)  # the shortest text that reads back as this number; 1e+20 stays an exponent (refused)
    return str(value)


def _rows(table: Iterable[list[str]]) -> list[ParsedRow]:
    max_rows = import_max_rows()
    rows: list[ParsedRow] = []
    header: list[str] | None = None
    for number, raw in enumerate(table, start=1):
        cells = [c[:CELL_MAX] for c in raw]
        if not any(c.strip() for c in cells):
            if header is None:
                raise InvoiceInvalid(
                    f"Row {number} is empty: the first row must be the header ({', '.join(COLUMN_NAMES)}).", field=_FIELD
                )
            continue  # a blank line between rows, or the empty rows at the end of a worksheet
        if header is None:
            header = _header(cells)
            continue
        if len(rows) >= max_rows:
            raise InvoiceInvalid(
                f"The file has more than {max_rows:,} invoice rows: split it into several files.", field=_FIELD
            )
        values = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header) if name}
        extra = [c for c in cells[len(header):] if c.strip()]
        error = f"The row has {len(header) + len(extra)} cells or more; the header has {len(header)} columns." if extra else ""
        rows.append(ParsedRow(number=number, cells=values, error=error))
    if header is None:
        raise InvoiceInvalid(gettext("The file is empty: it needs a header row (%(columns)s).") % {
            "columns": ", ".join(COLUMN_NAMES)}, field=_FIELD)
    if not rows:
        raise InvoiceInvalid(gettext("The file has a header but no invoice rows."), field=_FIELD)
    return rows


def _header(cells: list[str]) -> list[str]:
    """The column names of the header row, in order; refused when a column is unknown, repeated or missing."""
    names = [c.strip().lower() for c in cells]
    while names and not names[-1]:
        names.pop()
    if len(names) == 1 and ";" in names[0]:
        raise InvoiceInvalid(
            "The columns are separated by semicolons: separate them with commas (CSV UTF-8 as Excel saves it in "
            "English settings), or import an .xlsx file.",
            field=_FIELD,
        )
    unknown = [c for c in names if c not in COLUMN_NAMES]
    if unknown:
        shown = ", ".join(repr(c[:40]) for c in unknown[:3])
        raise InvoiceInvalid(
            f"The first row must be the header; it has unknown columns ({shown}). "
            f"The columns are: {', '.join(COLUMN_NAMES)}.",
            field=_FIELD,
        )
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise InvoiceInvalid(gettext("The header names a column twice (%(columns)s).") % {
            "columns": ", ".join(repeated)}, field=_FIELD)
    missing = [name for name, required in COLUMNS if required and name not in names]
    if missing:
        raise InvoiceInvalid(gettext("The header lacks the columns %(columns)s.") % {"columns": ", ".join(missing)},
                             field=_FIELD)
    return names


def template_csv() -> str:
    """The downloadable template: the header and two example rows (an old-format invoice and a 数电票)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMN_NAMES)
    writer.writerows(TEMPLATE_ROWS)
    return out.getvalue()
