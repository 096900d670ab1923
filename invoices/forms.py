"""The upload and verdict forms of the invoice pages. They shape input only: the services hold the rules."""

from __future__ import annotations

from django import forms
from django.conf import settings

from finance_portal.errors import DomainError
from finance_portal.money import CURRENCIES
from invoices.services import VERDICTS


class DomainErrorFormMixin:
    def add_domain_error(self, err: DomainError) -> None:
        """Show a service error on the field it names, or above the form."""
        field = err.field if err.field in self.fields else None  # type: ignore[attr-defined]
        self.add_error(field, err.message)  # type: ignore[attr-defined]


class InvoiceUploadForm(DomainErrorFormMixin, forms.Form):
    file = forms.FileField(
        label="Invoice file", help_text="PDF, OFD, XML, PNG or JPEG, at most 10 MiB. Its type is read from its content."
    )
    invoice_code = forms.CharField(
        label="Invoice code", required=False, max_length=40, help_text="10 or 12 digits; empty for a fully digital invoice."
    )
    invoice_number = forms.CharField(label="Invoice number", max_length=40, help_text="8 to 20 digits.")
    buyer_credit_code = forms.CharField(
        label="Buyer's credit code", max_length=40, help_text="Unified social credit code of the core enterprise."
    )
    issue_date = forms.DateField(label="Issue date", widget=forms.DateInput(attrs={"type": "date"}))
    currency = forms.ChoiceField(label="Currency", choices=[(c, c) for c in sorted(CURRENCIES)])
    amount_excl_tax = forms.CharField(label="Amount before tax", max_length=40)
    tax_amount = forms.CharField(label="Tax", max_length=40)
    total_amount = forms.CharField(label="Total", max_length=40)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["currency"].initial = settings.DEFAULT_CURRENCY
        for name in ("amount_excl_tax", "tax_amount", "total_amount"):
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})
        self.fields["buyer_credit_code"].widget.attrs.update({"list": "buyer-candidates", "autocomplete": "off"})


class InvoiceVerifyForm(DomainErrorFormMixin, forms.Form):
    verdict = forms.ChoiceField(choices=[(v, v.capitalize()) for v in VERDICTS])
    note = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
