"""Writes on invoices: a supplier registers an uploaded e-invoice; its buyer verifies or disputes it.

Pages, the API and the admin all come through here. Registration checks everything it can before the file
touches the disk, writes file and row in one transaction, and removes the file again if the row is not
written: a refused upload leaves no row and no file behind.
"""

from __future__ import annotations

import datetime
import re
from typing import cast

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from finance_portal.money import parse_amount, validate_currency
from finance_portal.organizations.models import Organization
from finance_portal.organizations.selectors import organization_by_credit_code
from finance_portal.organizations.services import require_acting_organization
from invoices.errors import InvoiceDuplicate, InvoiceInvalid, InvoiceNotPermitted, InvoiceStateConflict
from invoices.files import inspect_upload
from invoices.models import Invoice, InvoiceEvent, InvoiceEventAction, InvoiceStatus
from invoices.selectors import invoice_get_for

_CODE = re.compile(r"^(\d{10}|\d{12})$")
_NUMBER = re.compile(r"^\d{8,20}$")
NOTE_MAX = 500

# verdict -> the statuses it may follow. A verified invoice stays verified: bills may already rest on it.
VERDICTS: dict[str, tuple[str, ...]] = {
    InvoiceStatus.VERIFIED.value: (InvoiceStatus.REGISTERED.value, InvoiceStatus.DISPUTED.value),
    InvoiceStatus.DISPUTED.value: (InvoiceStatus.REGISTERED.value,),
}


def invoice_check_can_register(*, actor: AbstractBaseUser) -> Organization:
    """The actor's organization if it may register invoices (KYC approved and a supplier); raises otherwise."""
    org = require_acting_organization(actor)
    if not org.is_supplier:
        raise InvoiceNotPermitted(
            f"Only suppliers register invoices, and {org.legal_name} is not a supplier on the platform."
        )
    return org


def invoice_register(
    *,
    actor: AbstractBaseUser,
    file: File | None,
    invoice_code: str,
    invoice_number: str,
    buyer_credit_code: str,
    issue_date: datetime.date,
    amount_excl_tax: object,
    tax_amount: object,
    total_amount: object,
    currency: str,
) -> Invoice:
    """Register an e-invoice sold by the actor's organization to the core enterprise ``buyer_credit_code``.

    Amounts are decimal strings (or ``Decimal``), checked in ``currency``'s minor unit; the tax may be zero,
    the total must be the sum. Raises ``InvalidInput`` naming the field, ``NotPermitted`` for an actor that
    may not register, ``Conflict`` for an invoice or file already on the platform. Precondition: ``file`` is
    seekable. If the caller wraps this in its own transaction and later rolls it back, the caller removes
    ``invoice.file``.
    """
    seller = invoice_check_can_register(actor=actor)
    code = _clean_code(invoice_code)
    number = _clean_number(invoice_number)
    date = _clean_issue_date(issue_date)
    currency = validate_currency(currency)
    excl = parse_amount(amount_excl_tax, currency, field="amount_excl_tax")
    tax = parse_amount(tax_amount, currency, field="tax_amount", allow_zero=True)
    total = parse_amount(total_amount, currency, field="total_amount")
    if excl + tax != total:
        raise InvoiceInvalid(
            f"The total {total} is not the amount before tax plus the tax ({excl} + {tax} = {excl + tax}).",
            field="total_amount",
        )
    buyer = _buyer(seller, buyer_credit_code)
    if file is not None and not isinstance(file, File) and hasattr(file, "read"):
        file = File(file)
    inspected = inspect_upload(file)
    checked = cast(File, file)  # inspect_upload refused a missing file
    _refuse_duplicates(seller=seller, code=code, number=number, sha256=inspected.sha256)

    stored: str | None = None
    try:
        with transaction.atomic():
            invoice = Invoice(
                seller=seller,
                buyer=buyer,
                invoice_code=code,
                invoice_number=number,
                issue_date=date,
                amount_excl_tax=excl,
                tax_amount=tax,
                total_amount=total,
                currency=currency,
                file_sha256=inspected.sha256,
                file_size=inspected.size,
                content_type=inspected.kind.content_type,
                original_filename=inspected.original_filename,
                status=InvoiceStatus.REGISTERED,
                uploaded_by=actor,
            )
            invoice.file.save("upload", checked, save=False)  # upload_to picks a random name
            stored = invoice.file.name
            invoice.save(force_insert=True)
            _event(invoice, InvoiceEventAction.REGISTERED, actor=actor, organization=seller, from_status="")
    except IntegrityError as err:
        _delete_stored(stored)
        # A concurrent registration of the same invoice or file committed first: say which, as above.
        _refuse_duplicates(seller=seller, code=code, number=number, sha256=inspected.sha256)
        raise InvoiceDuplicate("This invoice was registered by someone else a moment ago.") from err
    except BaseException:
        _delete_stored(stored)
        raise
    return invoice


def invoice_verify(*, invoice_id: object, actor: AbstractBaseUser, verdict: str, note: str = "") -> Invoice:
    """The buyer's verdict on an invoice: ``verified`` or ``disputed`` (with a note saying why).

    Registered → verified or disputed; disputed → verified (dispute resolved); a verified invoice is final.
    Raises ``NotFound`` for an invoice out of the actor's reach, ``NotPermitted`` unless the actor's
    organization is the buyer, ``Conflict`` when the verdict does not follow the current status.
    """
    org = require_acting_organization(actor)
    with transaction.atomic():
        visible = invoice_get_for(user=actor, invoice_id=invoice_id)
        invoice = Invoice.objects.select_for_update().select_related("seller", "buyer").get(pk=visible.pk)
        if invoice.buyer_id != org.pk:
            raise InvoiceNotPermitted("Only the buyer named on the invoice verifies or disputes it.")
        verdict = str(verdict or "").strip().lower()
        if verdict not in VERDICTS:
            raise InvoiceInvalid(
                f"Unknown verdict {verdict!r}: use {' or '.join(VERDICTS)}.", field="verdict"
            )
        note = str(note or "").strip()
        if len(note) > NOTE_MAX:
            raise InvoiceInvalid(f"The note may be at most {NOTE_MAX} characters.", field="note")
        if verdict == InvoiceStatus.DISPUTED and not note:
            raise InvoiceInvalid("Say why you dispute the invoice: the seller reads the note.", field="note")
        if invoice.status not in VERDICTS[verdict]:
            raise InvoiceStateConflict(
                f"The invoice is already {invoice.get_status_display().lower()}; it cannot be marked {verdict}."
            )
        previous = invoice.status
        invoice.status = verdict
        invoice.verified_at = timezone.now()
        invoice.verified_by = actor
        invoice.verification_note = note
        invoice.save(update_fields=["status", "verified_at", "verified_by", "verification_note"])
        action = InvoiceEventAction.VERIFIED if verdict == InvoiceStatus.VERIFIED else InvoiceEventAction.DISPUTED
        _event(invoice, action, actor=actor, organization=org, from_status=previous, note=note)
    return invoice


# ---------------------------------------------------------------------------------------------------------


def _clean_code(value: object) -> str:
    code = str(value or "").strip()
    if code and not _CODE.match(code):
        raise InvoiceInvalid(
            "The invoice code has 10 or 12 digits; leave it empty for a fully digital invoice.", field="invoice_code"
        )
    return code


def _clean_number(value: object) -> str:
    number = str(value or "").strip()
    if not number:
        raise InvoiceInvalid("The invoice number is required.", field="invoice_number")
    if not _NUMBER.match(number):
        raise InvoiceInvalid(
            "The invoice number is 8 to 20 digits (20 for a fully digital invoice).", field="invoice_number"
        )
    return number


def _clean_issue_date(value: object) -> datetime.date:
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise InvoiceInvalid("Give the issue date as YYYY-MM-DD.", field="issue_date") from None
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise InvoiceInvalid("The issue date is required (YYYY-MM-DD).", field="issue_date")
    if value > timezone.localdate():
        raise InvoiceInvalid("The issue date is in the future.", field="issue_date")
    return value


def _buyer(seller: Organization, credit_code: object) -> Organization:
    code = str(credit_code or "").strip().upper()
    field = "buyer_credit_code"
    if not code:
        raise InvoiceInvalid("Give the buyer's unified social credit code.", field=field)
    buyer = organization_by_credit_code(code)
    if buyer is None:
        raise InvoiceInvalid(f"No organization with credit code {code} is on the platform.", field=field)
    if buyer.pk == seller.pk:
        raise InvoiceInvalid("The buyer cannot be your own organization.", field=field)
    if not buyer.is_core_enterprise:
        raise InvoiceInvalid(
            f"{buyer.legal_name} is not a core enterprise on the platform: invoices are registered against "
            "core enterprises only.",
            field=field,
        )
    if not buyer.can_act:
        raise InvoiceInvalid(
            f"{buyer.legal_name} is not KYC approved on the platform yet: it cannot be an invoice's buyer.",
            field=field,
        )
    return buyer


def _refuse_duplicates(*, seller: Organization, code: str, number: str, sha256: str) -> None:
    """Raise ``InvoiceDuplicate`` naming the seller's own invoice, or only "another organization"."""
    same_number = Invoice.objects.filter(invoice_code=code, invoice_number=number).first()
    if same_number is not None:
        if same_number.seller_id == seller.pk:
            raise InvoiceDuplicate(
                f"This invoice is already registered: your invoice No. {_label(same_number)}, "
                f"uploaded {timezone.localtime(same_number.created_at):%Y-%m-%d}.",
                field="invoice_number",
            )
        raise InvoiceDuplicate(
            "This invoice (code and number) is already registered on the platform by another organization.",
            field="invoice_number",
        )
    same_file = Invoice.objects.filter(file_sha256=sha256).first()
    if same_file is not None:
        if same_file.seller_id == seller.pk:
            raise InvoiceDuplicate(
                f"This file is already registered as your invoice No. {_label(same_file)}.", field="file"
            )
        raise InvoiceDuplicate("This file is already registered on the platform by another organization.", field="file")


def _label(invoice: Invoice) -> str:
    return f"{invoice.invoice_number} (code {invoice.invoice_code})" if invoice.invoice_code else invoice.invoice_number


def _delete_stored(name: str | None) -> None:
    if name:
        Invoice._meta.get_field("file").storage.delete(name)


def _event(
    invoice: Invoice,
    action: str,
    *,
    actor: AbstractBaseUser,
    organization: Organization,
    from_status: str,
    note: str = "",
) -> InvoiceEvent:
    return InvoiceEvent.objects.create(
        invoice=invoice,
        action=action,
        from_status=from_status,
        to_status=invoice.status,
        actor=actor,
        organization=organization,
        note=note,
    )
