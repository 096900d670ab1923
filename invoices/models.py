"""E-invoices (增值税发票 / 全电发票) that back digital bills.

An invoice is registered once on the platform: the same invoice code + number (which identify an old-format
invoice nationally, whoever the seller), the same 20-digit number of a fully digitalised invoice (数电票,
identified by its number alone), or the same file (by SHA-256), is refused a second time; the database
holds each rule too (invoices/README.md). Files are stored
under random names outside the web root and served only through a permission-checked view. Rows are
written by ``invoices.services`` only; ``InvoiceEvent`` is their append-only audit trail.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


def invoice_upload_to(instance: Invoice, filename: str) -> str:
    # Never the user's file name: a random one.
    return f"invoices/{uuid.uuid4().hex}"


class InvoiceStatus(models.TextChoices):
    REGISTERED = "registered", _("Registered (awaiting buyer verification)")
    VERIFIED = "verified", _("Verified by the buyer")
    DISPUTED = "disputed", _("Disputed by the buyer")


class Invoice(models.Model):
    id = models.UUIDField(_("ID"), primary_key=True, default=uuid.uuid4, editable=False)
    seller = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="invoices_sold", verbose_name=_("seller")
    )
    buyer = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="invoices_bought", verbose_name=_("buyer")
    )
    invoice_code = models.CharField(
        _("invoice code"), max_length=12, blank=True,
        help_text=_("10 or 12 digits; empty for fully digital invoices"),
    )
    invoice_number = models.CharField(_("invoice number"), max_length=20)
    issue_date = models.DateField(_("issue date"))
    amount_excl_tax = models.DecimalField(_("amount excluding tax"), max_digits=20, decimal_places=2)
    tax_amount = models.DecimalField(_("tax amount"), max_digits=20, decimal_places=2)
    total_amount = models.DecimalField(_("total amount"), max_digits=20, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    file = models.FileField(_("file"), upload_to=invoice_upload_to, max_length=200)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, unique=True)
    file_size = models.PositiveIntegerField(_("file size"))
    content_type = models.CharField(_("content type"), max_length=100)
    original_filename = models.CharField(_("original filename"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.REGISTERED
    )
    verified_at = models.DateTimeField(
        _("verified at"), null=True, blank=True, help_text=_("When the buyer last gave its verdict")
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("verified by")
    )
    verification_note = models.CharField(_("verification note"), max_length=500, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("uploaded by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-created_at"]
        constraints = [
            # Old formats: code + number identify an invoice nationally (numbers restart under each code), so a
            # second seller cannot register it again, and the same 8 digits under another code are another one.
            models.UniqueConstraint(fields=["invoice_code", "invoice_number"], name="invoice_registered_once"),
            # Fully digitalised invoices (数电票): the 20-digit number alone, whatever code a row carries.
            models.UniqueConstraint(
                fields=["invoice_number"],
                condition=Q(invoice_number__regex=r"^[0-9]{20}$"),
                name="invoice_digital_number_once",
            ),
            models.CheckConstraint(
                name="invoice_code_format",
                condition=Q(invoice_code="") | Q(invoice_code__regex=r"^([0-9]{10}|[0-9]{12})$"),
            ),
            models.CheckConstraint(name="invoice_total_positive", condition=Q(total_amount__gt=0)),
            models.CheckConstraint(name="invoice_amounts_not_negative", condition=Q(amount_excl_tax__gte=0, tax_amount__gte=0)),
            models.CheckConstraint(
                name="invoice_total_is_sum", condition=Q(total_amount=F("amount_excl_tax") + F("tax_amount"))
            ),
            models.CheckConstraint(name="invoice_seller_is_not_buyer", condition=~Q(seller=F("buyer"))),
            models.CheckConstraint(name="invoice_currency_iso", condition=Q(currency__regex=r"^[A-Z]{3}$")),
            models.CheckConstraint(name="invoice_status_valid", condition=Q(status__in=[s.value for s in InvoiceStatus])),
        ]

    def __str__(self) -> str:
        code = f"{self.invoice_code}-" if self.invoice_code else ""
        return f"Invoice {code}{self.invoice_number}"


class InvoiceEventAction(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    VERIFIED = "verified", _("Verified by the buyer")
    DISPUTED = "disputed", _("Disputed by the buyer")


class InvoiceEvent(models.Model):
    """Append-only audit row: who did what to an invoice, when, with which note. Never updated."""

    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="events", verbose_name=_("invoice")
    )
    action = models.CharField(_("action"), max_length=16, choices=InvoiceEventAction.choices)
    from_status = models.CharField(_("from status"), max_length=16, blank=True)
    to_status = models.CharField(_("to status"), max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("actor")
    )
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("organization")
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("invoice event")
        verbose_name_plural = _("invoice events")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="invoice_event_action_valid", condition=Q(action__in=[a.value for a in InvoiceEventAction])
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} {self.action} at {self.created_at:%Y-%m-%d %H:%M}"


class ImportFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("Excel workbook (XLSX)")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """One bulk import of invoices from a CSV or XLSX file: the parsed rows wait here for the worker.

    Each row is registered through ``invoices.services.invoice_register`` in its own transaction, so a refused
    row writes nothing but its ``ImportRowError``. ``processed = created_count + failed_count`` always: the
    three move together when the worker commits its progress. ``rows`` (the parsed cells as JSON text, so a
    NUL byte survives until the service refuses it) is emptied when the job ends.
    """

    id = models.UUIDField(_("ID"), primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("organization")
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("uploaded by")
    )
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    format = models.CharField(_("format"), max_length=8, choices=ImportFormat.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_rows = models.PositiveIntegerField(_("total rows"))
    processed = models.PositiveIntegerField(_("processed"), default=0)
    created_count = models.PositiveIntegerField(_("created count"), default=0)
    failed_count = models.PositiveIntegerField(_("failed count"), default=0)
    rows = models.TextField(_("rows"), blank=True)
    failure_message = models.CharField(_("failure message"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        _("heartbeat at"), null=True, blank=True, help_text=_("When the worker last committed progress")
    )
    # The uploader's language: the worker writes the refused rows' reasons in it.
    language = models.CharField(_("language"), max_length=16, blank=True, default="")

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(name="import_job_status_valid", condition=Q(status__in=[s.value for s in ImportStatus])),
            models.CheckConstraint(name="import_job_format_valid", condition=Q(format__in=[f.value for f in ImportFormat])),
            models.CheckConstraint(
                name="import_job_counts_add_up",
                condition=Q(processed=F("created_count") + F("failed_count")) & Q(processed__lte=F("total_rows")),
            ),
        ]

    def __str__(self) -> str:
        return f"Import {self.file_name} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)


class ImportRowError(models.Model):
    """Why one row of an import was refused: the row number as a spreadsheet shows it (the header is row 1)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="errors", verbose_name=_("job"))
    row_number = models.PositiveIntegerField(_("row number"))
    field = models.CharField(_("field"), max_length=64, blank=True)
    message = models.CharField(_("message"), max_length=1000)

    class Meta:
        verbose_name = _("import row error")
        verbose_name_plural = _("import row errors")
        ordering = ["row_number"]
        constraints = [models.UniqueConstraint(fields=["job", "row_number"], name="import_row_error_once")]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.message}"
