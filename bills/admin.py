"""Django admin for bills: read-only views with search and filters; every change goes through the services.

Admin actions (freeze, unfreeze, mark overdue, mark defaulted) call the same services as the API, with the
staff user as actor and the reason typed beside the action menu. Events are shown inline and cannot be
added, changed or deleted here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bills import rules, selectors, services
from bills.events import bill_chain_verify
from bills.models import Bill, BillAllocation, BillEvent, BillPurchase
from finance_portal.admin_read_only import ReadOnlyAdmin
from finance_portal.errors import DomainError
from finance_portal.users import signed_in_user


class ReasonActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=500, label=_("Reason (recorded in the bill's history)"))


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class BillEventInline(ReadOnlyInline):
    model = BillEvent
    fields = ("seq", "type", "from_state", "to_state", "actor", "actor_user", "occurred_at", "amounts", "details",
              "hash", "anchoring")
    readonly_fields = fields
    ordering = ["seq"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BillEvent]:
        return super().get_queryset(request).select_related("actor", "actor_user", "anchor")

    @admin.display(description=_("anchoring"))
    def anchoring(self, event: BillEvent) -> str:
        status = selectors.anchoring_status(event)
        if status["status"] == "anchored":
            return gettext("anchored at block %(block)s") % {"block": status["block"]}
        return str(status["status"]) + (f": {status['error']}" if status["error"] else "")


class BillAllocationInline(ReadOnlyInline):
    model = BillAllocation
    fields = ("invoice", "amount")
    readonly_fields = fields


class BillPurchaseInline(ReadOnlyInline):
    model = BillPurchase
    fields = ("buyer", "seller", "rate", "days", "basis", "interest", "price", "purchased_at")
    readonly_fields = fields


def _run(request: HttpRequest, queryset: QuerySet[Bill], verb: str, call) -> None:  # type: ignore[no-untyped-def]
    reason = request.POST.get("reason", "")
    done, refused = 0, []
    for bill in queryset.order_by("number"):
        try:
            call(bill_id=bill.pk, actor=signed_in_user(request), reason=reason)
            done += 1
        except DomainError as err:
            refused.append(f"{bill.number}: {err.message}")
    if done:
        messages.success(request, gettext("%(count)s bill(s) %(verb)s.") % {"count": done, "verb": verb})
    for line in refused:
        messages.error(request, line)


def _admin_action(rule: rules.Transition) -> Any:
    def run(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Bill]) -> None:
        _run(request, queryset, gettext(rule.done).rstrip(".。").lower(), services.SERVICES[rule.action])

    run.__name__ = {"overdue": "mark_overdue", "default": "mark_defaulted"}.get(rule.action, rule.action)
    return admin.action(description=format_lazy("{}: {}", _(rule.label), _(rule.summary)))(run)


# The rule book's staff and system rows, as admin actions (each calls its service, which runs the guard).
ADMIN_ACTIONS = [_admin_action(r) for r in rules.TRANSITIONS if r.party in (rules.Party.STAFF, rules.Party.SYSTEM)]


@admin.register(Bill)
class BillAdmin(ReadOnlyAdmin):
    list_display = ["number", "state", "face", "currency", "debtor", "holder", "maturity_date", "created_at"]
    list_filter = ["state", "currency", "maturity_date", ("debtor", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "reference", "creditor__legal_name", "creditor__credit_code", "debtor__legal_name",
                     "debtor__credit_code", "holder__legal_name", "holder__credit_code"]
    list_select_related = ["debtor", "holder"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    inlines = [BillAllocationInline, BillEventInline, BillPurchaseInline]
    actions = ADMIN_ACTIONS
    action_form = ReasonActionForm
    readonly_fields = ("id", "number", "state", "creditor", "debtor", "holder", "pending_holder", "holder_seq",
                       "face", "currency", "issue_date", "maturity_date", "asking_rate", "state_before_transfer",
                       "state_before_freeze", "parent", "root", "reference", "bill_key_display", "chain_check",
                       "created_at", "updated_at")
    fields = readonly_fields

    @admin.display(description=_("bill key (on chain)"))
    def bill_key_display(self, bill: Bill) -> str:
        return bill.bill_key

    @admin.display(description=_("hash chain check"))
    def chain_check(self, bill: Bill) -> str:
        problems = bill_chain_verify(bill)
        if not problems:
            return gettext("sound: every event recomputes and links")
        return format_html("<strong>{}</strong> {}", gettext("%(count)s problem(s):") % {"count": len(problems)},
                           "; ".join(problems))


@admin.register(BillEvent)
class BillEventAdmin(ReadOnlyAdmin):
    """Events on their own, to find one by hash (reconciliation). Read-only."""

    list_display = ["bill", "seq", "type", "from_state", "to_state", "actor", "occurred_at", "hash"]
    list_filter = ["type", "anchor__status"]
    search_fields = ["hash", "prev_hash", "bill__number"]
    list_select_related = ["bill", "actor"]
    ordering = ["-occurred_at"]
    readonly_fields = ("bill", "seq", "type", "from_state", "to_state", "actor", "actor_user", "occurred_at",
                       "amounts", "details", "prev_hash", "hash", "canonical", "anchor")
    fields = readonly_fields
