"""Django admin of the ledger: accounts with balances and journal entries, read-only.

Money moves here only through the services: "Record a deposit", "Record a withdrawal" (buttons on the entry
list) and "Reverse this entry" (on an entry's page) are forms that call ``deposit_record``,
``withdrawal_record`` and ``entry_reverse`` with the staff user as actor; a refusal shows as a form error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from finance_portal.errors import DomainError
from finance_portal.ledger import selectors, services
from finance_portal.ledger.models import Account, JournalEntry, Posting
from finance_portal.money import CURRENCIES
from finance_portal.organizations.models import Organization


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("name", "organization", "kind", "currency", "balance", "created_at")
    list_filter = ("kind", "currency")
    search_fields = ("name", "organization__legal_name", "organization__credit_code")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Account]:
        return selectors.with_balances(super().get_queryset(request).select_related("organization"))

    @admin.display(description=_("balance"), ordering="balance")
    def balance(self, account: Account) -> str:
        return f"{account.balance:,} {account.currency}"  # type: ignore[attr-defined]


class PostingInline(_ReadOnly, admin.TabularInline):
    model = Posting
    fields = ("account", "amount", "currency")
    readonly_fields = fields
    extra = 0
    can_delete = False


class BankMovementForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.filter(is_platform=False, is_regulator=False).order_by("legal_name"),
        to_field_name="credit_code",
        label=_("Organization"),
    )
    amount = forms.CharField(max_length=40, label=_("Amount"), help_text=_("A decimal amount such as 10000.00."))
    currency = forms.ChoiceField(choices=[(c, c) for c in sorted(CURRENCIES)], label=_("Currency"))
    reference = forms.CharField(max_length=64, label=_("Reference"),
                                help_text=_("The bank's reference; used once per organization."))
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}), label=_("Reason"))


class ReverseForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}), label=_("Reason"),
                             help_text=_("Recorded with the reversing entry."))


@admin.register(JournalEntry)
class JournalEntryAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("id", "created_at", "kind", "currency", "organization", "reference", "memo", "created_by",
                    "reverses")
    list_filter = ("kind", "currency")
    search_fields = ("reference", "memo", "organization__credit_code", "organization__legal_name")
    list_select_related = ("organization", "created_by", "reverses")
    fields = ("kind", "currency", "organization", "reference", "memo", "created_at", "created_by", "reverses")
    readonly_fields = fields
    inlines = [PostingInline]
    date_hierarchy = "created_at"

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("deposit/", wrap(self.deposit_view), name="ledger_journalentry_deposit"),
            path("withdrawal/", wrap(self.withdrawal_view), name="ledger_journalentry_withdrawal"),
            path("<int:entry_id>/reverse/", wrap(self.reverse_view), name="ledger_journalentry_reverse"),
            *super().get_urls(),
        ]

    def deposit_view(self, request: HttpRequest) -> HttpResponse:
        return self._movement(request, gettext("Record a deposit"), services.deposit_record)

    def withdrawal_view(self, request: HttpRequest) -> HttpResponse:
        return self._movement(request, gettext("Record a withdrawal"), services.withdrawal_record)

    def _movement(self, request: HttpRequest, title: str, service: Callable[..., JournalEntry]) -> HttpResponse:
        form = BankMovementForm(request.POST or None, initial={"currency": getattr(settings, "DEFAULT_CURRENCY", "CNY")})
        if request.method == "POST" and form.is_valid():
            data = dict(form.cleaned_data)
            data["organization"] = data["organization"].credit_code
            entry = self._call(form, lambda: service(actor=request.user, **data))
            if entry is not None:
                return self._done(request, entry, gettext("%(kind)s #%(id)s recorded.") % {
                    "kind": entry.get_kind_display(), "id": entry.pk})
        return self._render(request, title, form)

    def reverse_view(self, request: HttpRequest, entry_id: int) -> HttpResponse:
        original = get_object_or_404(JournalEntry, pk=entry_id)
        form = ReverseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            entry = self._call(form, lambda: services.entry_reverse(
                entry_id=original.pk, reason=form.cleaned_data["reason"], actor=request.user))
            if entry is not None:
                return self._done(request, entry, gettext("Entry #%(original)s reversed by entry #%(entry)s.") % {
                    "original": original.pk, "entry": entry.pk})
        return self._render(request, gettext("Reverse entry #%(id)s") % {"id": original.pk}, form, original=original)

    @staticmethod
    def _call(form: forms.Form, call: Callable[[], JournalEntry]) -> JournalEntry | None:
        try:
            return call()
        except DomainError as err:
            form.add_error(err.field if err.field in form.fields else None, err.message)
            return None

    def _done(self, request: HttpRequest, entry: JournalEntry, message: str) -> HttpResponse:
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:ledger_journalentry_change", args=[entry.pk]))

    def _render(self, request: HttpRequest, title: str, form: forms.Form, **extra: Any) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "title": title, "form": form,
                   "opts": self.model._meta, **extra}
        return TemplateResponse(request, "admin/ledger/journalentry/money_form.html", context)
