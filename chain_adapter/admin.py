"""Admin for anchoring: the outbox and its transactions by status, failed records with a "retry" action
(through ``services.anchor_record_retry``), and the contract deployments, read-only. Nothing here edits a
row directly: anchoring rows change only through the transaction manager and the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from chain_adapter.models import AnchorAuditLog, AnchorRecord, AnchorTransaction, ContractDeployment
from chain_adapter.services import anchor_record_retry
from finance_portal.errors import DomainError


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AnchorRecord)
class AnchorRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "short_key", "short_hash", "block_number", "log_index", "attempts",
                    "created_at", "confirmed_at", "last_error")
    list_filter = ("status",)
    search_fields = ("key", "event_hash", "prev_hash", "tx_hash")
    list_select_related = ("anchor_tx",)
    actions = ["retry_failed"]

    @admin.display(description="key")
    def short_key(self, obj: AnchorRecord) -> str:
        return obj.key[:12] + "…"

    @admin.display(description="event hash")
    def short_hash(self, obj: AnchorRecord) -> str:
        return obj.event_hash[:12] + "…"

    @admin.action(description="Retry the selected failed records")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[AnchorRecord]) -> None:
        retried, refused = 0, []
        for record_id in queryset.values_list("id", flat=True):
            try:
                anchor_record_retry(record_id=record_id, actor=request.user)
                retried += 1
            except DomainError as err:
                refused.append(f"{record_id}: {err.message}")
        if retried:
            self.message_user(request, f"{retried} record(s) queued again for anchoring.", messages.SUCCESS)
        for line in refused[:20]:
            self.message_user(request, line, messages.WARNING)


@admin.register(AnchorTransaction)
class AnchorTransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "nonce", "status", "tx_hash", "record_count", "broadcast_count", "block_number",
                    "gas_used", "created_at", "confirmed_at", "error")
    list_filter = ("status", "deployment__chain_id")
    search_fields = ("tx_hash", "sender")


@admin.register(ContractDeployment)
class ContractDeploymentAdmin(ReadOnlyAdmin):
    list_display = ("chain_id", "address", "block_number", "deployer", "compiler_version", "created_at")
    list_filter = ("chain_id",)


@admin.register(AnchorAuditLog)
class AnchorAuditLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "record", "actor")
    list_filter = ("action",)
