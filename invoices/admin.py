"""Admin for invoices: read-only. Invoices are created only through ``invoice_register`` (file checks,
hashing, de-duplication) and change only through the buyer's verdict, so the admin adds, edits and deletes
nothing; it searches, filters, and links to the permission-checked download.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from finance_portal.admin_read_only import ReadOnlyAdmin
from invoices.models import ImportJob, ImportRowError, Invoice, InvoiceEvent


class InvoiceEventInline(admin.TabularInline):
    model = InvoiceEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "from_status", "to_status", "organization", "actor", "note")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = (
        "invoice_number",
        "invoice_code",
        "seller",
        "buyer",
        "issue_date",
        "total_amount",
        "currency",
        "status",
        "created_at",
    )
    list_filter = ("status", "currency", "issue_date")
    search_fields = (
        "invoice_number",
        "invoice_code",
        "seller__legal_name",
        "buyer__legal_name",
        "seller__credit_code",
        "buyer__credit_code",
        "file_sha256",
    )
    list_select_related = ("seller", "buyer")
    date_hierarchy = "issue_date"
    fields = (
        "id",
        "seller",
        "buyer",
        "invoice_code",
        "invoice_number",
        "issue_date",
        "amount_excl_tax",
        "tax_amount",
        "total_amount",
        "currency",
        "status",
        "verified_at",
        "verified_by",
        "verification_note",
        "download",
        "file_sha256",
        "file_size",
        "content_type",
        "original_filename",
        "uploaded_by",
        "created_at",
    )
    readonly_fields = fields
    inlines = [InvoiceEventInline]

    @admin.display(description=_("File"))
    def download(self, obj: Invoice) -> str:
        url = reverse("invoices:file", kwargs={"invoice_id": obj.pk})
        return format_html('<a href="{}">{}</a>', url, gettext("Download (attachment)"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # staff with view permission get the read-only page

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ImportRowErrorInline(admin.TabularInline):
    model = ImportRowError
    extra = 0
    can_delete = False
    fields = ("row_number", "field", "message")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    """Bulk imports, read-only: a failed job and its reason are seen here; rows are only ever run by the worker."""

    list_display = ("file_name", "organization", "status", "total_rows", "created_count", "failed_count", "created_at")
    list_filter = ("status", "format")
    search_fields = ("file_name", "organization__legal_name")
    list_select_related = ("organization",)
    fields = (
        "id", "organization", "uploaded_by", "file_name", "format", "status", "total_rows", "processed",
        "created_count", "failed_count", "failure_message", "created_at", "started_at", "heartbeat_at", "finished_at",
    )
    readonly_fields = fields
    inlines = [ImportRowErrorInline]

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return super().get_queryset(request).defer("rows")

