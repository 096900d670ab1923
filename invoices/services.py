"""Writes on invoices: a supplier registers an uploaded e-invoice; its buyer verifies or disputes it.

Pages, the API and the admin all come through here. Registration checks everything it can before the file
touches the disk, writes file and row in one transaction, and removes the file again if the row is not
written: a refused upload leaves no row and no file behind.

Invoice identity follows the Chinese rules (invoices/README.md): an old-format invoice (增值税专用/普通发票,
paper or electronic) is its 10- or 12-digit code plus its 8-digit number, and numbers restart under each
code, so the same 8 digits under another code are another invoice; a fully digitalised invoice (数电票 /
全电发票) is its 20-digit number alone, with no code, and is registered once whatever code is sent with it.
Text input is refused, naming the field, when it holds control characters (NUL, bidi overrides...) or
non-ASCII digits.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import cast

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from finance_portal.money import parse_amount, validate_currency
from finance_portal.organizations.models import Organization
from finance_portal.organizations.selectors import organization_by_credit_code
from finance_portal.organizations.services import require_acting_organization
from finance_portal.organizations.validators import normalize_credit_code, validate_credit_code
from finance_portal.users import User
from invoices.errors import (
    InvoiceDuplicate,
    InvoiceInvalid,
    InvoiceNotPermitted,
    InvoiceNumberTaken,
    InvoiceStateConflict,
)
from invoices.files import inspect_upload
from invoices.models import Invoice, InvoiceEvent, InvoiceEventAction, InvoiceStatus
from invoices.selectors import invoice_get_for

_CODE = re.compile(r"[0-9]{10}|[0-9]{12}", re.ASCII)
_OLD_NUMBER = re.compile(r"[0-9]{8}", re.ASCII)
_DIGITAL_NUMBER = re.compile(r"[0-9]{20}", re.ASCII)
NOTE_MAX = 500
_FIELD_MAX = 100  # characters of a code, number or credit code before it is even looked at
# Bidirectional embeddings, overrides and isolates: they make text read differently from what it is.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# verdict -> the statuses it may follow. A verified invoice stays verified: bills may already rest on it.
VERDICTS: dict[str, tuple[str, ...]] = {
    InvoiceStatus.VERIFIED.value: (InvoiceStatus.REGISTERED.value, InvoiceStatus.DISPUTED.value),
    InvoiceStatus.DISPUTED.value: (InvoiceStatus.REGISTERED.value,),
}
_VERDICT_CODES = tuple(VERDICTS)  # the two verdicts, named in the refusal of any other


def invoice_check_can_register(*, actor: User) -> Organization:
    """The actor's organization if it may register invoices (KYC approved and a supplier); raises otherwise."""
    org = require_acting_organization(actor)
    if not org.is_supplier:
        raise InvoiceNotPermitted(
            _("Only suppliers register invoices, and %(name)s is not a supplier on the platform.")
            % {"name": org.legal_name}
        )
    return org


def invoice_register(
    *,
    actor: User,
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
    code, number = invoice_identity(invoice_code=invoice_code, invoice_number=invoice_number)
    date = _clean_issue_date(issue_date)
    currency = validate_currency(clean_text(currency, field="currency", label=_("currency"), max_length=_FIELD_MAX))
    excl = parse_amount(amount_excl_tax, currency, field="amount_excl_tax")
    tax = parse_amount(tax_amount, currency, field="tax_amount", allow_zero=True)
    total = parse_amount(total_amount, currency, field="total_amount")
    if excl + tax != total:
        raise InvoiceInvalid(
            _("The total %(total)s is not the amount before tax plus the tax (%(excl)s + %(tax)s = %(sum)s).")
            % {"total": total, "excl": excl, "tax": tax, "sum": excl + tax},
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
        raise InvoiceDuplicate(_("This invoice was registered by someone else a moment ago.")) from err
    except BaseException:
        _delete_stored(stored)
        raise
    return invoice


def invoice_verify(*, invoice_id: object, actor: User, verdict: str, note: str = "") -> Invoice:
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
            raise InvoiceNotPermitted(_("Only the buyer named on the invoice verifies or disputes it."))
        verdict = clean_text(verdict, field="verdict", label=_("verdict"), max_length=_FIELD_MAX).lower()
        if verdict not in VERDICTS:
            raise InvoiceInvalid(
                _("Unknown verdict %(verdict)s: use %(first)s or %(second)s.")
                % {"verdict": repr(verdict), "first": _VERDICT_CODES[0], "second": _VERDICT_CODES[1]},
                field="verdict",
            )
        note = clean_text(note, field="note", label=_("note"), max_length=NOTE_MAX, multiline=True)
        if verdict == InvoiceStatus.DISPUTED and not note:
            raise InvoiceInvalid(_("Say why you dispute the invoice: the seller reads the note."), field="note")
        if invoice.status not in VERDICTS[verdict]:
            raise InvoiceStateConflict(
                _("The invoice is already %(status)s; it cannot be marked %(verdict)s.")
                % {"status": invoice.get_status_display().lower(), "verdict": verdict}
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


def invoice_identity(*, invoice_code: object, invoice_number: object) -> tuple[str, str]:
    """The (code, number) that identify an invoice, checked against the Chinese rules; raises naming the field.

    Old formats: a 10- or 12-digit code and an 8-digit number. Fully digitalised (数电票): a 20-digit number
    and no code. A 20-digit number sent with a code is refused: ``InvoiceNumberTaken`` (409) when that number
    is already registered, so inventing a code never registers it twice, ``InvalidInput`` otherwise.
    """
    code = _clean_code(invoice_code)
    number = _clean_number(invoice_number)
    if _OLD_NUMBER.fullmatch(number) and not code:
        raise InvoiceInvalid(
            _("An 8-digit invoice number is read with its invoice code (10 or 12 digits): give the code. "
              "A fully digitalised invoice (数电票) has a 20-digit number and no code."),
            field="invoice_code",
        )
    if _DIGITAL_NUMBER.fullmatch(number) and code:
        if Invoice.objects.filter(invoice_number=number).exists():
            raise InvoiceNumberTaken(
                _("This 20-digit number of a fully digitalised invoice (数电票) is already registered on the "
                  "platform: the number alone identifies the invoice, whatever code comes with it."),
                field="invoice_number",
            )
        raise InvoiceInvalid(
            _("A 20-digit number is a fully digitalised invoice (数电票), which has no invoice code: leave the code "
              "empty."),
            field="invoice_code",
        )
    return code, number


def clean_text(value: object, *, field: str, label: str, max_length: int, multiline: bool = False) -> str:
    """``value`` as stripped text; ``InvalidInput`` naming ``field`` for control characters or excess length.

    Refused: C0/C1 control characters (NUL included; tab and line breaks are allowed in ``multiline`` text),
    lone surrogates, and bidirectional controls that make text read differently from what it is.
    """
    text = "" if value is None else str(value)
    allowed = "\t\n\r" if multiline else ""
    for ch in text:
        category = unicodedata.category(ch)
        if (category in ("Cc", "Cs") and ch not in allowed) or ch in _BIDI_CONTROLS:
            raise InvoiceInvalid(
                _("The %(label)s contains a control character (%(char)s): remove it and send plain text.")
                % {"label": label, "char": repr(ch)},
                field=field,
            )
    text = text.strip()
    if len(text) > max_length:
        raise InvoiceInvalid(
            _("The %(label)s may be at most %(max)s characters.") % {"label": label, "max": max_length}, field=field
        )
    return text


def _ascii_digits(text: str, *, field: str, label: str) -> None:
    if any(ch.isdigit() and not ch.isascii() for ch in text):
        raise InvoiceInvalid(
            _("Write the %(label)s with ASCII digits 0-9: full-width and other non-ASCII digits are not accepted.")
            % {"label": label},
            field=field,
        )


def _clean_code(value: object) -> str:
    code = clean_text(value, field="invoice_code", label=_("invoice code"), max_length=_FIELD_MAX)
    _ascii_digits(code, field="invoice_code", label=_("invoice code"))
    if code and not _CODE.fullmatch(code):
        raise InvoiceInvalid(
            _("The invoice code has 10 or 12 digits; leave it empty for a fully digital invoice."), field="invoice_code"
        )
    return code


def _clean_number(value: object) -> str:
    number = clean_text(value, field="invoice_number", label=_("invoice number"), max_length=_FIELD_MAX)
    if not number:
        raise InvoiceInvalid(_("The invoice number is required."), field="invoice_number")
    _ascii_digits(number, field="invoice_number", label=_("invoice number"))
    if not (_OLD_NUMBER.fullmatch(number) or _DIGITAL_NUMBER.fullmatch(number)):
        raise InvoiceInvalid(
            _("The invoice number has 8 digits (with a 10- or 12-digit invoice code), or 20 digits for a fully "
              "digitalised invoice (数电票) without a code."),
            field="invoice_number",
        )
    return number


def _clean_issue_date(value: object) -> datetime.date:
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise InvoiceInvalid(_("Give the issue date as YYYY-MM-DD."), field="issue_date") from None
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise InvoiceInvalid(_("The issue date is required (YYYY-MM-DD)."), field="issue_date")
    if value > timezone.localdate():
        raise InvoiceInvalid(_("The issue date is in the future."), field="issue_date")
    return value


def _buyer(seller: Organization, credit_code: object) -> Organization:
    field = "buyer_credit_code"
    code = normalize_credit_code(clean_text(credit_code, field=field, label=_("credit code"), max_length=_FIELD_MAX))
    if not code:
        raise InvoiceInvalid(_("Give the buyer's unified social credit code."), field=field)
    try:
        validate_credit_code(code)
    except ValidationError as err:
        raise InvoiceInvalid(
            _("%(code)s is not a unified social credit code: %(reason)s") % {"code": code, "reason": err.messages[0]},
            field=field,
        ) from None
    buyer = organization_by_credit_code(code)
    if buyer is None:
        raise InvoiceInvalid(
            _("No organization with credit code %(code)s is on the platform.") % {"code": code}, field=field
        )
    if buyer.pk == seller.pk:
        raise InvoiceInvalid(_("The buyer cannot be your own organization."), field=field)
    if not buyer.is_core_enterprise:
        raise InvoiceInvalid(
            _("%(name)s is not a core enterprise on the platform: invoices are registered against "
              "core enterprises only.") % {"name": buyer.legal_name},
            field=field,
        )
    if not buyer.can_act:
        raise InvoiceInvalid(
            _("%(name)s is not KYC approved on the platform yet: it cannot be an invoice's buyer.")
            % {"name": buyer.legal_name},
            field=field,
        )
    return buyer


def _refuse_duplicates(*, seller: Organization, code: str, number: str, sha256: str) -> None:
    """Raise ``InvoiceDuplicate`` naming the seller's own invoice, or only "another organization".

    The identity is code + number for the old formats and the 20-digit number alone for 数电票.
    """
    if _DIGITAL_NUMBER.fullmatch(number):
        same_number = Invoice.objects.filter(invoice_number=number).first()
    else:
        same_number = Invoice.objects.filter(invoice_code=code, invoice_number=number).first()
    if same_number is not None:
        # A 数电 number registered under another code (a row from before the rule) is still this invoice.
        error = InvoiceDuplicate if same_number.invoice_code == code else InvoiceNumberTaken
        if same_number.seller_id == seller.pk:
            raise error(
                _("This invoice is already registered: your invoice No. %(label)s, uploaded %(date)s.")
                % {"label": _label(same_number), "date": f"{timezone.localtime(same_number.created_at):%Y-%m-%d}"},
                field="invoice_number",
            )
        raise error(
            _("This invoice (code and number) is already registered on the platform by another organization.")
            if code else
            _("This invoice (its 20-digit number of a fully digitalised invoice) is already registered on the "
              "platform by another organization."),
            field="invoice_number",
        )
    same_file = Invoice.objects.filter(file_sha256=sha256).first()
    if same_file is not None:
        if same_file.seller_id == seller.pk:
            raise InvoiceDuplicate(
                _("This file is already registered as your invoice No. %(label)s.") % {"label": _label(same_file)},
                field="file",
            )
        raise InvoiceDuplicate(
            _("This file is already registered on the platform by another organization."), field="file"
        )


def _label(invoice: Invoice) -> str:
    if invoice.invoice_code:
        return _("%(number)s (code %(code)s)") % {"number": invoice.invoice_number, "code": invoice.invoice_code}
    return invoice.invoice_number


def _delete_stored(name: str | None) -> None:
    if name:
        Invoice._meta.get_field("file").storage.delete(name)


def _event(
    invoice: Invoice,
    action: str,
    *,
    actor: User,
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
