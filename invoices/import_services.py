"""Bulk import of invoices: a supplier uploads a CSV or XLSX file; a worker registers its rows one by one.

``import_job_create`` reads the whole file in the request (``invoices.imports``): a file refused as a whole
is a form error and nothing is written. The job row holds the parsed cells; the worker
(``invoices.tasks.import_run``) calls ``import_job_run``, which registers each row through
``invoices.services.invoice_register``, the one way invoices are written, so every rule of a single upload
holds. Each row is its own transaction: a refused row writes nothing but its ``ImportRowError``.

A spreadsheet row carries no e-invoice file, and every invoice has one: the row's invoice is stored with a
small XML record of the row (``import-<job>-row-<n>.xml``: job, row and the fields as imported), which is
also how a restarted run knows which rows it already registered. Progress (processed, created, failed) is
committed every ``progress_every()`` rows, so the job page shows it moving.
"""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from xml.etree import ElementTree as ET

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from finance_portal.errors import DomainError, NotPermitted
from finance_portal.organizations.models import Organization
from finance_portal.users import User
from invoices.errors import InvoiceInvalid
from invoices.imports import ParsedRow, parse_import_file
from invoices.models import ImportJob, ImportRowError, ImportStatus, Invoice
from invoices.services import invoice_check_can_register, invoice_register

logger = logging.getLogger(__name__)

DEFAULT_PROGRESS_EVERY = 50
STALE_AFTER = datetime.timedelta(minutes=5)  # a running job without a heartbeat this long may be taken over
RECORD_PREFIX = "import-"


def progress_every() -> int:
    return max(1, int(getattr(settings, "INVOICE_IMPORT_PROGRESS_EVERY", DEFAULT_PROGRESS_EVERY)))


def record_name(job_id: object, row_number: int) -> str:
    return f"{RECORD_PREFIX}{job_id}-row-{row_number}.xml"


def import_job_create(*, actor: User, file: object) -> ImportJob:
    """Check the file and queue its rows for import; raises ``InvoiceInvalid`` on ``file`` (nothing written),
    ``NotPermitted`` unless the actor's organization may register invoices."""
    from invoices.tasks import import_run

    organization = invoice_check_can_register(actor=actor)
    parsed = parse_import_file(file)  # type: ignore[arg-type]
    with transaction.atomic():
        job = ImportJob.objects.create(
            organization=organization,
            uploaded_by=actor,
            file_name=parsed.file_name,
            format=parsed.format,
            total_rows=len(parsed.rows),
            language=translation.get_language() or "",
            rows=json.dumps([row.as_json() for row in parsed.rows], separators=(",", ":")),
        )
        job_id = str(job.pk)
        transaction.on_commit(lambda: import_run.delay(job_id))
    return job


def import_job_run(*, job_id: str | uuid.UUID) -> ImportJob | None:
    """Import the rows of a queued job (or of a running one whose worker went silent); idempotent.

    Returns the job, or None when there was nothing to do (unknown, finished, or running elsewhere). Rows a
    previous run registered (found by their record's name) or refused (found by their error) are not done
    twice, so a redelivered task finishes the job without duplicates.
    """
    job = _claim(job_id)
    if job is None:
        return None
    try:
        with translation.override(job.language or settings.LANGUAGE_CODE):  # the reasons in the uploader's words
            _run(job)
    except Exception:
        logger.exception("invoice import %s stopped", job.pk)
        _finish(job, ImportStatus.FAILED, "The import stopped on an unexpected error; the rows above were handled.")
        raise
    return job


def _claim(job_id: str | uuid.UUID) -> ImportJob | None:
    try:
        pk = job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(str(job_id))
    except ValueError:
        logger.warning("invoice import: no job with id %r", job_id)
        return None
    now = timezone.now()
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update(skip_locked=True)
            .filter(Q(status=ImportStatus.QUEUED) | Q(status=ImportStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER))
            .filter(pk=pk)
            .first()
        )
        if job is None:
            return None
        job.status = ImportStatus.RUNNING
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.save(update_fields=["status", "started_at", "heartbeat_at"])
    return job


def _run(job: ImportJob) -> None:
    actor = job.uploaded_by
    if actor is None:
        _finish(job, ImportStatus.FAILED, "The user who uploaded the file no longer exists.")
        return
    try:
        organization = invoice_check_can_register(actor=actor)
    except DomainError as err:
        _finish(job, ImportStatus.FAILED, err.message)
        return
    if organization.pk != job.organization_id:
        _finish(job, ImportStatus.FAILED, "The user who uploaded the file has left the organization.")
        return

    rows = [ParsedRow.from_json(value) for value in json.loads(job.rows or "[]")]
    created_rows = _rows_registered(job, organization)
    failed_rows = set(job.errors.values_list("row_number", flat=True))
    created, failed = len(created_rows), len(failed_rows)
    seen: dict[tuple[str, str], int] = {}  # (code, number) -> the row of this file that registered it
    every = progress_every()
    since_commit = 0
    for row in rows:
        if row.number in created_rows or row.number in failed_rows:
            continue
        error = _import_row(job, actor, row, seen)
        if error is None:
            created += 1
        else:
            ImportRowError.objects.create(job=job, row_number=row.number, field=error.field or "", message=error.message[:1000])
            failed += 1
            if isinstance(error, NotPermitted):  # the organization may no longer register invoices: stop here
                _save_progress(job, created, failed)
                _finish(job, ImportStatus.FAILED, error.message)
                return
        since_commit += 1
        if since_commit >= every:
            _save_progress(job, created, failed)
            since_commit = 0
    _save_progress(job, created, failed)
    _finish(job, ImportStatus.DONE, "")


def _import_row(job: ImportJob, actor: User, row: ParsedRow, seen: dict[tuple[str, str], int]) -> DomainError | None:
    """Register one row; the refusal, or None. ``invoice_register`` writes the row's invoice in one transaction."""
    if row.error:
        return InvoiceInvalid(row.error)
    cells = row.cells
    key = (cells.get("invoice_code", "").strip(), cells.get("invoice_number", "").strip())
    if key[1] and key in seen:
        return InvoiceInvalid(
            f"The same invoice (code and number) is already in row {seen[key]} of this file.", field="invoice_number"
        )
    try:
        invoice_register(
            actor=actor,
            file=ContentFile(_record(job, row), name=record_name(job.pk, row.number)),
            invoice_code=cells.get("invoice_code", ""),
            invoice_number=cells.get("invoice_number", ""),
            buyer_credit_code=cells.get("buyer_credit_code", ""),
            issue_date=cells.get("issue_date", ""),  # type: ignore[arg-type]  # the service reads YYYY-MM-DD text
            amount_excl_tax=cells.get("amount_excl_tax", ""),
            tax_amount=cells.get("tax_amount", ""),
            total_amount=cells.get("total_amount", ""),
            currency=cells.get("currency", "").strip() or settings.DEFAULT_CURRENCY,
        )
    except DomainError as err:
        return err
    seen[key] = row.number
    return None


def _record(job: ImportJob, row: ParsedRow) -> bytes:
    """The XML record stored as the invoice's file: where the row came from and its fields as imported.

    Only built for rows whose fields the service checks before it reads the file; ElementTree escapes the
    text, so the record is well-formed XML that passes the same file checks as any upload.
    """
    root = ET.Element("InvoiceImportRecord")
    ET.SubElement(root, "Note").text = (
        "Imported from a spreadsheet row: the platform's record of the row, not the e-invoice file."
    )
    ET.SubElement(root, "ImportJob").text = str(job.pk)
    ET.SubElement(root, "Row").text = str(row.number)
    for name, value in row.cells.items():
        ET.SubElement(root, "".join(part.capitalize() for part in name.split("_"))).text = value.strip()
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"


def _rows_registered(job: ImportJob, organization: Organization) -> set[int]:
    """Row numbers whose invoice an earlier run of this job registered (their record names the row)."""
    prefix = f"{RECORD_PREFIX}{job.pk}-row-"
    names = Invoice.objects.filter(seller=organization, original_filename__startswith=prefix).values_list(
        "original_filename", flat=True
    )
    return {int(name[len(prefix):].removesuffix(".xml")) for name in names}


def _save_progress(job: ImportJob, created: int, failed: int) -> None:
    job.created_count, job.failed_count, job.processed = created, failed, created + failed
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["created_count", "failed_count", "processed", "heartbeat_at"])


def _finish(job: ImportJob, status: str, message: str) -> None:
    job.status = status
    job.failure_message = message[:500]
    job.finished_at = timezone.now()
    job.rows = ""  # the cells are no longer needed: the invoices and the error report hold what came of them
    job.save(update_fields=["status", "failure_message", "finished_at", "rows"])
