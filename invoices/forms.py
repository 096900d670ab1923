"""The upload and verdict forms of the invoice pages. They shape input only: the services hold the rules."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

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
        label=_("Invoice file"), help_text=_("PDF, OFD, XML, PNG or JPEG, at most 10 MiB. Its type is read from its content.")
    )
    invoice_code = forms.CharField(
        label=_("Invoice code"), required=False, max_length=40, help_text=_("10 or 12 digits; empty for a fully digital invoice.")
    )
    invoice_number = forms.CharField(label=_("Invoice number"), max_length=40, help_text=_("8 to 20 digits."))
    buyer_credit_code = forms.CharField(
        label=_("Buyer's credit code"), max_length=40, help_text=_("Unified social credit code of the core enterprise.")
    )
    issue_date = forms.DateField(label=_("Issue date"), widget=forms.DateInput(attrs={"type": "date"}))
    currency = forms.ChoiceField(label=_("Currency"), choices=[(c, c) for c in sorted(CURRENCIES)])
    amount_excl_tax = forms.CharField(label=_("Amount before tax"), max_length=40)
    tax_amount = forms.CharField(label=_("Tax"), max_length=40)
    total_amount = forms.CharField(label=_("Total"), max_length=40)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["currency"].initial = settings.DEFAULT_CURRENCY
        for name in ("amount_excl_tax", "tax_amount", "total_amount"):
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})
        self.fields["buyer_credit_code"].widget.attrs.update({"list": "buyer-candidates", "autocomplete": "off"})


VERDICT_LABELS = {"verified": _("Verified"), "disputed": _("Disputed")}


class InvoiceVerifyForm(DomainErrorFormMixin, forms.Form):
    verdict = forms.ChoiceField(choices=[(v, VERDICT_LABELS.get(v, v.capitalize())) for v in VERDICTS])
    note = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class InvoiceImportForm(DomainErrorFormMixin, forms.Form):
    file = forms.FileField(
        label=_("CSV or XLSX file"),
        help_text=_("UTF-8 CSV separated by commas, or an Excel workbook (first sheet); at most 5 MiB and 10,000 rows."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["file"].widget.attrs.update({
            "accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        })
