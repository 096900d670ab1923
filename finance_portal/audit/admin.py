"""The audit log in Django admin: read-only (no add, change or delete, for anyone)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from finance_portal.admin_read_only import ReadOnlyAdmin
from finance_portal.audit.models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    list_display = ("at", "username", "role", "action", "method", "path", "status_code", "remote_addr")
    list_filter = ("role", "action", "method", "is_export")
    search_fields = ("username", "path", "view_name", "object_ref")
    date_hierarchy = "at"
    list_select_related = ("organization",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in AuditRecord._meta.fields]

