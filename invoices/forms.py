"""The upload and verdict forms of the invoice pages. They shape input only: the services hold the rules.

The upload form's buyer is a counterparty picker (``templates/portal/_picker.html``): it posts the credit code
chosen from the list, or, typed without the picker, a code or the exact legal name of an approved core
enterprise, which the form turns into its code. Anything else reaches the service as typed and is refused there
beside the field.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from finance_portal.errors import DomainError
from finance_portal.money import CURRENCIES
from finance_portal.organizations.selectors import organizations_active
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
        label=_("Buyer's credit code"), max_length=200, help_text=_("Unified social credit code of the core enterprise.")
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
        self.fields["buyer_credit_code"].widget.attrs.update({"autocomplete": "off"})

    def clean_buyer_credit_code(self) -> str:
        return buyer_code(self.cleaned_data["buyer_credit_code"])


def buyer_code(text: str) -> str:
    """The credit code of the buyer the picker field names: the code as sent, or the code of the one approved
    core enterprise whose legal name is exactly what was typed (case aside). Anything else is left as typed."""
    typed = text.strip()
    if not typed or not typed.isprintable() or (typed.isascii() and len(typed) == 18 and typed.isalnum()):
        return typed
    named = list(organizations_active().filter(is_core_enterprise=True, legal_name__iexact=typed)
                 .values_list("credit_code", flat=True)[:2])
    return named[0] if len(named) == 1 else typed


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
