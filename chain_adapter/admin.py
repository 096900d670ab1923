"""Admin for anchoring: the outbox and its transactions by status, failed records with a "retry" action
(``services.anchor_record_retry``), stuck transactions with the node's reason and a "replace" action that asks
the operator why (``services.anchor_transaction_replace``), the contract deployments and the audit log,
read-only. Nothing here edits a row directly: anchoring rows change only through the transaction manager and
the services."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chain_adapter.errors import ChainError
from chain_adapter.models import AnchorAuditLog, AnchorRecord, AnchorTransaction, ContractDeployment, TxStatus
from chain_adapter.services import anchor_record_retry, anchor_transaction_replace
from finance_portal.admin_read_only import ReadOnlyAdmin
from finance_portal.errors import DomainError


def _actor(request: HttpRequest) -> AbstractBaseUser:
    user = request.user
    if not isinstance(user, AbstractBaseUser):
        raise PermissionDenied
    return user


@admin.register(AnchorRecord)
class AnchorRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "short_key", "short_hash", "block_number", "log_index", "attempts",
                    "created_at", "confirmed_at", "last_error")
    list_filter = ("status",)
    search_fields = ("key", "event_hash", "prev_hash", "tx_hash")
    list_select_related = ("anchor_tx",)
    actions = ["retry_failed"]

    @admin.display(description=_("key"))
    def short_key(self, obj: AnchorRecord) -> str:
        return obj.key[:12] + "…"

    @admin.display(description=_("event hash"))
    def short_hash(self, obj: AnchorRecord) -> str:
        return obj.event_hash[:12] + "…"

    @admin.action(description=_("Retry the selected failed records"))
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[AnchorRecord]) -> None:
        retried, refused = 0, []
        for record_id in queryset.values_list("id", flat=True):
            try:
                anchor_record_retry(record_id=record_id, actor=_actor(request))
                retried += 1
            except DomainError as err:
                refused.append(f"{record_id}: {err.message}")
        if retried:
            self.message_user(request, gettext("%(count)s record(s) queued again for anchoring.") % {"count": retried},
                              messages.SUCCESS)
        for line in refused[:20]:
            self.message_user(request, line, messages.WARNING)


class ReplaceForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), max_length=2000,
        label=_("Reason"),
        help_text=_("Why you replace it (kept in the audit log with your name and the old and new hashes)."),
    )


@admin.register(AnchorTransaction)
class AnchorTransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "nonce", "status", "kind", "tx_hash", "record_count", "broadcast_count", "block_number",
                    "max_fee_per_gas", "gas_used", "created_at", "confirmed_at", "replaces", "error")
    list_filter = ("status", "kind", "deployment__chain_id")
    search_fields = ("tx_hash", "sender")
    list_select_related = ("replaces",)
    actions = ["replace_stuck"]

    @admin.action(description=_("Replace the selected stuck transactions (same nonce)"))
    def replace_stuck(self, request: HttpRequest, queryset: QuerySet[AnchorTransaction]) -> TemplateResponse | None:
        """First shows the transactions and asks why; on "apply", replaces each through the service."""
        form = ReplaceForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            replaced = 0
            for tx_id in queryset.order_by("nonce").values_list("id", flat=True):
                try:
                    new = anchor_transaction_replace(transaction_id=tx_id, actor=_actor(request),
                                                     reason=form.cleaned_data["reason"])
                except (DomainError, ChainError) as err:
                    text = err.message if isinstance(err, DomainError) else str(err)
                    self.message_user(request, f"{tx_id}: {text}", messages.WARNING)
                    continue
                replaced += 1
                if new.pk == tx_id:
                    text = gettext("its nonce is used on chain already: handed back to the broadcaster.")
                else:
                    text = gettext("replaced by %(kind)s %(tx)s; anchoring resumes.") % {
                        "kind": new.get_kind_display().lower(), "tx": new.tx_hash}
                self.message_user(request, gettext("Nonce %(nonce)s: %(text)s") % {"nonce": new.nonce, "text": text},
                                  messages.SUCCESS)
            if not replaced:
                self.message_user(request, gettext("Nothing was replaced."), messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Replace stuck transactions"),
            "opts": self.model._meta,
            "transactions": queryset.order_by("nonce"),
            "stuck": TxStatus.STUCK,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/chain_adapter/anchortransaction/replace_stuck.html", context)


@admin.register(ContractDeployment)
class ContractDeploymentAdmin(ReadOnlyAdmin):
    list_display = ("chain_id", "address", "status", "nonce", "block_number", "deployer", "compiler_version",
                    "created_at")
    list_filter = ("chain_id", "status")


@admin.register(AnchorAuditLog)
class AnchorAuditLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "actor", "record", "anchor_tx", "old_tx_hash", "new_tx_hash", "reason")
    list_filter = ("action",)
