"""Django admin of oversight: flags read-only; freeze requests decided by platform staff with two actions.

Granting calls ``services.freeze_request_grant`` (which freezes the bill through the bill service: a freeze
event); declining needs the note typed beside the action menu. Nothing here is deleted or edited by hand.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from finance_portal.admin_read_only import ReadOnlyAdmin
from finance_portal.errors import DomainError
from finance_portal.oversight import services
from finance_portal.oversight.models import FreezeRequest, OversightFlag
from finance_portal.users import signed_in_user


class NoteActionForm(ActionForm):
    note = forms.CharField(required=False, max_length=1000, label=_("Note (required to decline)"))


@admin.register(OversightFlag)
class OversightFlagAdmin(ReadOnlyAdmin):
    list_display = ("id", "rule", "severity", "subject", "last_seen", "acknowledged_at")
    list_filter = ("rule", "severity")
    search_fields = ("subject", "explanation")


def _decide(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[FreezeRequest],
            call: Any, verb: str) -> None:
    note = request.POST.get("note", "")
    done, refused = 0, []
    for req in queryset.order_by("pk"):
        try:
            call(request_id=req.pk, actor=signed_in_user(request), note=note)
            done += 1
        except DomainError as err:
            refused.append(gettext("request %(id)s: %(message)s") % {"id": req.pk, "message": err.message})
    if done:
        modeladmin.message_user(request, gettext("%(count)s freeze request(s) %(verb)s.") % {"count": done, "verb": gettext(verb)},
                                messages.SUCCESS)
    for text in refused:
        modeladmin.message_user(request, text, messages.ERROR)


@admin.action(description=_("Grant: freeze the bills of the selected requests"))
def grant(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[FreezeRequest]) -> None:
    _decide(modeladmin, request, queryset, services.freeze_request_grant, gettext_noop("granted"))


@admin.action(description=_("Decline the selected requests (with the note)"))
def decline(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[FreezeRequest]) -> None:
    _decide(modeladmin, request, queryset, services.freeze_request_decline, gettext_noop("declined"))


@admin.register(FreezeRequest)
class FreezeRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "bill", "requested_by", "requested_at", "status", "decided_by", "decided_at")
    list_filter = ("status",)
    search_fields = ("bill__number", "reason")
    actions = [grant, decline]
    action_form = NoteActionForm

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The changelist's actions need it; the change form stays read-only (every field is read-only).
        return obj is None and bool(request.user.is_staff)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]
