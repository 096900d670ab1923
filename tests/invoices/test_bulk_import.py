"""Bulk import of invoices from CSV and XLSX: a real worker registers the rows through the service, the job
page's progress moves, refused rows are reported by number and reason, hostile files are refused whole, and
nobody but the uploading organization sees a job."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from finance_portal.organizations.validators import make_credit_code
from invoices.import_services import import_job_run
from invoices.imports import COLUMN_NAMES, ParsedRow, import_max_bytes, import_max_rows
from invoices.models import ImportJob, ImportRowError, ImportStatus, Invoice, InvoiceEvent
from tests.conftest import WorkerProcess, login
from tests.invoices.conftest import png_bytes, stored_files

BUYER = make_credit_code("91440300MA5F00033")
UNKNOWN_BUYER = make_credit_code("91440300MA5F09999")
HEADER = list(COLUMN_NAMES)


def good_row(i: int) -> list[str]:
    return ["4403221130", f"{60_000_000 + i:08d}", BUYER, "2026-10-08", "CNY", "10000.00", "1300.00", "11300.00"]


def csv_bytes(rows: list[list[str]], header: list[str] | None = None, *, bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER if header is None else header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def page(username: str) -> Client:
    return login(Client(), username)


@pytest.fixture
def import_worker(transactional_db: None, media_root: Path, users: dict[str, object]) -> Iterator[WorkerProcess]:
    """A real worker that stores invoice files where this test looks for them."""
    worker = WorkerProcess(extra_env={"MEDIA_ROOT": str(media_root)}).start()
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


# Row numbers as a spreadsheet shows them: the header is row 1, data row i (from 0) is row i + 2.
BAD = {
    12: ("buyer_credit_code", lambda r: r.__setitem__(2, UNKNOWN_BUYER), "No organization with credit code"),
    140: ("amount_excl_tax", lambda r: r.__setitem__(5, "１００００.00"), "ASCII digits"),
    333: ("issue_date", lambda r: r.__setitem__(3, "2026-13-45"), "YYYY-MM-DD"),
    500: ("invoice_number", None, "already in row 100 of this file"),  # the number of data row 98 (row 100)
    712: ("total_amount", lambda r: r.__setitem__(7, ""), "not a decimal amount"),
    845: ("invoice_number", lambda r: r.__setitem__(1, "6000\x000845"), "control character"),
    999: ("tax_amount", lambda r: r.__setitem__(6, "-1300.00"), "greater than zero"),
}


def thousand_rows() -> list[list[str]]:
    rows = [good_row(i) for i in range(1000)]
    for row_number, (_, change, _) in BAD.items():
        i = row_number - 2
        if change is None:
            rows[i] = good_row(98)
        else:
            change(rows[i])
    return rows


def test_a_thousand_rows_with_seven_bad_ones_make_993_invoices_and_a_report_of_seven(
        import_worker, users, media_root):
    client = page("supplier")
    response = client.post("/invoices/import/", {"file": upload("march.csv", csv_bytes(thousand_rows(), bom=True))})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.get()
    assert response.url == f"/invoices/import/{job.pk}/"
    assert job.total_rows == 1000

    seen: list[int] = []
    deadline = time.monotonic() + 120
    while True:
        job.refresh_from_db()
        seen.append(job.processed)
        assert job.processed == job.created_count + job.failed_count
        if job.finished or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert job.status == ImportStatus.DONE, (job.status, job.failure_message, import_worker.log)
    assert any(0 < p < 1000 for p in seen), f"progress never seen moving: {sorted(set(seen))}"
    assert seen == sorted(seen)

    assert (job.processed, job.created_count, job.failed_count) == (1000, 993, 7)
    assert Invoice.objects.count() == 993 == InvoiceEvent.objects.count()
    assert len(stored_files(media_root)) == 993  # refused rows left no file behind
    errors = {e.row_number: e for e in ImportRowError.objects.filter(job=job)}
    assert set(errors) == set(BAD)
    for row_number, (field, _, words) in BAD.items():
        assert errors[row_number].field == field, (row_number, errors[row_number].message)
        assert words in errors[row_number].message, (row_number, errors[row_number].message)
    assert job.rows == ""  # the parsed cells are dropped once the job ends

    progress = client.get(f"/invoices/import/{job.pk}/progress/").content.decode()
    assert 'value="1000"' in progress and "hx-trigger" not in progress  # finished: the polling stops
    assert f"/invoices/import/{job.pk}/errors.csv" in progress

    report = client.get(f"/invoices/import/{job.pk}/errors.csv")
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[0] == ["row", "field", "message"]
    assert [int(line[0]) for line in lines[1:]] == sorted(BAD)
    assert all(line[1] == BAD[int(line[0])][0] for line in lines[1:])


def test_the_job_page_polls_while_the_import_runs(users):
    client = page("supplier")
    client.post("/invoices/import/", {"file": upload("few.csv", csv_bytes([good_row(1), good_row(2)]))})
    job = ImportJob.objects.get()
    html = client.get(f"/invoices/import/{job.pk}/").content.decode()
    assert f'hx-get="/invoices/import/{job.pk}/progress/"' in html and 'hx-trigger="every 1s"' in html
    assert "<progress" in html and 'max="2"' in html and 'value="0"' in html
    import_job_run(job_id=job.pk)
    assert Invoice.objects.count() == 2
    html = client.get(f"/invoices/import/{job.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' not in html and "Every row was registered." in html
    assert import_job_run(job_id=job.pk) is None  # a finished job is not run twice


def test_an_xlsx_file_imports_with_numbers_and_dates_as_excel_stores_them(users):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(["4403221130", "70000001", BUYER, datetime.date(2026, 10, 8), "CNY", 10000, 1300, 11300])
    excel_date = datetime.datetime(2026, 10, 9)  # noqa: DTZ001  # Excel's dates have no time zone
    sheet.append(["4403221130", "70000002", BUYER, excel_date, "CNY", 100.5, 13.07, 113.57])
    sheet.append([None] * 8)  # empty rows at the end of a sheet are skipped
    sheet.append(["4403221130", "70000003", BUYER, "2026-10-10", None, "20.00", "0", "=F5+G5"])
    sheet["H5"] = "=F5+G5"  # a formula: data-only reading sees no saved value, so the row is refused
    buf = io.BytesIO()
    workbook.save(buf)
    client = page("supplier")
    response = client.post("/invoices/import/", {"file": upload("april.xlsx", buf.getvalue())})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.format == "xlsx" and job.total_rows == 3
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.created_count, job.failed_count) == (ImportStatus.DONE, 2, 1)
    second = Invoice.objects.get(invoice_number="70000002")
    assert str(second.total_amount) == "113.57" and second.issue_date == datetime.date(2026, 10, 9)
    error = job.errors.get()
    assert error.row_number == 5 and error.field == "total_amount"


def test_a_refused_row_writes_nothing_but_its_error(users, media_root):
    client = page("supplier")
    rows = [good_row(1), good_row(2)]
    rows[1][7] = "99999.99"  # not the sum: refused by the service after every other check
    client.post("/invoices/import/", {"file": upload("sum.csv", csv_bytes(rows))})
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)
    assert Invoice.objects.count() == 1 and InvoiceEvent.objects.count() == 1
    assert len(stored_files(media_root)) == 1
    assert job.errors.get().field == "total_amount"


def test_a_run_redelivered_after_a_crash_does_not_register_a_row_twice(users):
    client = page("supplier")
    client.post("/invoices/import/", {"file": upload("twice.csv", csv_bytes([good_row(i) for i in range(3)]))})
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)
    # As if the worker died before its last progress commit: the job is running, silent for long, rows kept.
    rows = [ParsedRow(number=i + 2, cells=dict(zip(HEADER, good_row(i), strict=True))).as_json() for i in range(3)]
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, processed=0, created_count=0, failed_count=0, rows=json.dumps(rows),
        heartbeat_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.created_count, job.failed_count) == (ImportStatus.DONE, 3, 0)
    assert Invoice.objects.count() == 3 and not job.errors.exists()


HOSTILE = {
    "not a spreadsheet": ("invoices.csv", png_bytes(), "image/png"),
    "a renamed binary": ("invoices.xlsx", b"MZ\x90\x00" + b"\x00" * 200, "not an Excel workbook"),
    "a zip that is no workbook": ("invoices.xlsx", b"PK\x03\x04" + b"\x00" * 60, "workbook"),
    "a workbook under a CSV name": ("invoices.csv", b"PK\x03\x04" + b"\x00" * 60, "ZIP container"),
    "no header": ("invoices.csv", b"4403221130,60000001," + BUYER.encode() + b",2026-10-08,CNY,1,0,1\r\n",
                  "unknown columns"),
    "an empty file": ("invoices.csv", b"", "empty"),
    "a header only": ("invoices.csv", csv_bytes([]), "no invoice rows"),
    "a missing column": ("invoices.csv", csv_bytes([good_row(1)[:7]], header=HEADER[:7]), "total_amount"),
    "semicolons": ("invoices.csv", ";".join(HEADER).encode() + b"\r\n1;2\r\n", "semicolons"),
    "not UTF-8": ("invoices.csv", ",".join(HEADER).encode() + b"\r\n\xff\xfe\xfa,1\r\n", "UTF-8"),
    "another extension": ("invoices.txt", csv_bytes([good_row(1)]), ".csv"),
    "a repeated column": ("invoices.csv", csv_bytes([good_row(1) + ["1"]], header=[*HEADER, "tax_amount"]), "twice"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_file_refused_whole_is_a_form_error_and_writes_nothing(users, case):
    name, content, words = HOSTILE[case]
    response = page("supplier").post("/invoices/import/", {"file": upload(name, content)})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="error-file"' in html and words in html.replace("&#x27;", "'").replace("&quot;", '"'), html[-3000:]
    assert not ImportJob.objects.exists() and not Invoice.objects.exists()


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(users):
    content = csv_bytes([]) + b"x" * import_max_bytes()
    response = page("supplier").post("/invoices/import/", {"file": upload("big.csv", content)})
    assert response.status_code == 400 and "MiB" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_over_the_row_limit_is_refused(users, settings):
    settings.INVOICE_IMPORT_MAX_ROWS = 5
    assert import_max_rows() == 5
    response = page("supplier").post("/invoices/import/", {"file": upload("many.csv", csv_bytes([good_row(i) for i in range(6)]))})
    assert response.status_code == 400 and "more than 5 invoice rows" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_workbook_bomb_is_refused_before_openpyxl_opens_it(users):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * (80 * 1024 * 1024) + b"</a>")
    response = page("supplier").post("/invoices/import/", {"file": upload("bomb.xlsx", buf.getvalue())})
    assert response.status_code == 400 and "expands more than" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_cells_hostile_to_the_services_are_refused_row_by_row(users):
    rows = [good_row(i) for i in range(4)]
    rows[0][5] = "1e999999"  # a huge exponent
    rows[1][1] = "=HYPERLINK(\"http://x\")"  # a formula as text
    rows[2][2] = BUYER + "\u202e"  # a bidi override
    page("supplier").post("/invoices/import/", {"file": upload("odd.csv", csv_bytes(rows))})
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)
    assert {e.row_number: e.field for e in job.errors.all()} == {
        2: "amount_excl_tax", 3: "invoice_number", 4: "buyer_credit_code"}
    assert Invoice.objects.count() == 1


def test_the_error_report_is_safe_to_open_in_a_spreadsheet(users):
    client = page("supplier")
    client.post("/invoices/import/", {"file": upload("x.csv", csv_bytes([good_row(1)]))})
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)
    ImportRowError.objects.create(job=job, row_number=3, field="=cmd", message="@SUM(1+1)")
    ImportRowError.objects.create(job=job, row_number=4, field="", message="-2+3")
    lines = list(csv.reader(io.StringIO(client.get(f"/invoices/import/{job.pk}/errors.csv").content.decode("utf-8-sig"))))
    assert lines[1:] == [["3", "'=cmd", "'@SUM(1+1)"], ["4", "", "'-2+3"]]


@pytest.mark.parametrize("username", ["supplier2", "buyer", "financier", "regulator", "admin"])
def test_another_organization_gets_404_on_the_job_its_progress_and_its_report(users, username):
    page("supplier").post("/invoices/import/", {"file": upload("mine.csv", csv_bytes([good_row(1)]))})
    job = ImportJob.objects.get()
    client = page(username)
    for url in (f"/invoices/import/{job.pk}/", f"/invoices/import/{job.pk}/progress/",
                f"/invoices/import/{job.pk}/errors.csv"):
        assert client.get(url).status_code == 404, (username, url)
    assert "mine.csv" not in client.get("/invoices/import/").content.decode()


def test_a_malformed_job_id_is_404(users):
    assert page("supplier").get("/invoices/import/not-a-uuid/").status_code == 404


def test_only_suppliers_import_and_a_regulator_cannot_post(users):
    response = page("financier").post("/invoices/import/", {"file": upload("f.csv", csv_bytes([good_row(1)]))})
    assert response.status_code == 403
    response = page("regulator").post("/invoices/import/", {"file": upload("r.csv", csv_bytes([good_row(1)]))})
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_the_template_csv_is_a_valid_import(users):
    client = page("supplier")
    template = client.get("/invoices/import/template.csv")
    assert template.status_code == 200
    lines = list(csv.reader(io.StringIO(template.content.decode())))
    assert lines[0] == HEADER
    response = client.post("/invoices/import/", {"file": upload("template.csv", template.content)})
    assert response.status_code == 302
    import_job_run(job_id=ImportJob.objects.get().pk)
    assert Invoice.objects.count() == 2


def test_the_import_page_documents_the_columns(users):
    html = page("supplier").get("/invoices/import/").content.decode()
    for name in HEADER:
        assert f"<code>{name}</code>" in html
    assert "/invoices/import/template.csv" in html and 'type="file"' in html


def test_platform_staff_see_a_job_and_its_errors_in_the_admin_read_only(users):
    page("supplier").post("/invoices/import/", {"file": upload("seen.csv", csv_bytes([good_row(1)]))})
    job = ImportJob.objects.get()
    ImportRowError.objects.create(job=job, row_number=7, field="invoice_number", message="Refused for a reason.")
    admin = page("admin")
    assert "seen.csv" in admin.get("/admin/invoices/importjob/").content.decode()
    html = admin.get(f"/admin/invoices/importjob/{job.pk}/change/").content.decode()
    assert "Refused for a reason." in html
    assert admin.get("/admin/invoices/importjob/add/").status_code == 403


def test_a_refused_rows_reason_is_in_the_language_the_file_was_uploaded_in(users, media_root):
    from django.conf import settings as django_settings

    rows = [good_row(1), good_row(2)]
    rows[1][7] = "99999.99"
    client = page("supplier")
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    client.post("/invoices/import/", {"file": upload("zh.csv", csv_bytes(rows))})
    job = ImportJob.objects.get()
    assert job.language == "zh-hans"
    import_job_run(job_id=job.pk)  # the worker runs in the platform's default language
    message = job.errors.get().message
    assert re.search(r"[\u4e00-\u9fff]", message) and "total" not in message.lower(), message
