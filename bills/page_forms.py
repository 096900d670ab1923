"""What the bill pages' forms do between a person and a service: rates typed in percent, a split's rows, a
counterparty typed by name or credit code, and a service's refusal put back next to the field it names, in
plain words of the request's language.

The one thing to know: the services (and the API) speak fractions and field paths (``rate`` "0.036",
``parts[2].face``); the pages speak percentages and form fields (``rate`` "3.6", ``parts-2-face``). Every
translation between the two lives here, and none of it decides anything the services decide.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bills import rules
from bills.models import BillState
from bills.services import inputs
from finance_portal.errors import DomainError, InvalidInput
from finance_portal.organizations.models import Organization
from finance_portal.organizations.selectors import organizations_active

PERCENT_PLACES = inputs.RATE_DIGITS - 2  # a fraction's six decimals are a percentage's four
MAX_ROWS = 50  # split rows scanned in a post (the service takes at most inputs.MAX_PARTS parts)
_PLAIN = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
_COMMA_DECIMAL = re.compile(r"[0-9]+,[0-9]+")

# Actions that are irreversible although they move no money; with the money-moving ones of the rule book, each
# asks for a confirmation that says what will happen before it runs.
IRREVERSIBLE = frozenset({"transfer", "split", "cancel", "reject", "list"})


def needs_confirmation(rule: rules.Transition) -> bool:
    return rule.moves_money or rule.action in IRREVERSIBLE


class FormError(InvalidInput):
    """A form field the page could not turn into a service argument (400), named by its form field."""


def parse_percent(text: object, *, field_name: str = "rate") -> Decimal:
    """An annual rate typed in percent ("3.6" is 3.6 %) as the exact fraction the services take (0.036).

    Refused in words a person understands: a decimal comma, other digits than 0–9, an exponent, a sign, zero,
    100 or more, more than four decimals. ``Decimal(text)`` shifted two places: no float anywhere."""
    raw = text.strip() if isinstance(text, str) else ""
    typed = raw.removesuffix("%").strip()
    if not typed:
        raise FormError(_("Give the annual rate in percent, such as 3.6."), field=field_name)
    if _COMMA_DECIMAL.fullmatch(typed):
        raise FormError(_("Write the decimals after a point, not a comma: %(suggestion)s.")
                        % {"suggestion": typed.replace(",", ".")}, field=field_name)
    if typed.startswith("-"):
        raise FormError(_("The annual rate is a percentage above 0 and below 100, such as 3.6."), field=field_name)
    if not (typed.isascii() and _PLAIN.fullmatch(typed)):
        raise FormError(_("Write the rate as a plain number with the digits 0 to 9 and a point, such as 3.6."),
                        field=field_name)
    try:
        value = Decimal(typed)
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
        raise FormError(_("Write the rate as a plain number, such as 3.6."), field=field_name) from None
    if value <= 0 or value >= 100:
        raise FormError(_("The annual rate is a percentage above 0 and below 100, such as 3.6."), field=field_name)
    if value != value.quantize(Decimal(1).scaleb(-PERCENT_PLACES)):
        raise FormError(_("Give the rate with at most four decimals, such as 3.6125."), field=field_name)
    return value.scaleb(-2)


def percent_input(fraction: Decimal | None) -> str:
    """A fraction as a form shows it in a percent field: 0.036000 → "3.6", 0.04 → "4"."""
    if fraction is None:
        return ""
    shown = (fraction * 100).normalize()
    return format(shown.quantize(Decimal(1)) if shown == shown.to_integral() else shown, "f")


def counterparty_code(text: str) -> str:
    """What a picker field sends: the credit code the picker chose, or, typed without the picker, a code or
    the exact legal name of one approved organization (then its code). Anything else goes to the service as
    typed, which refuses it naming the field."""
    typed = text.strip()
    if not typed or len(typed) > 200 or not typed.isprintable():
        return typed
    if typed.isascii() and len(typed) == 18 and typed.isalnum():
        return typed.upper()
    named = list(organizations_active().filter(legal_name__iexact=typed).values_list("credit_code", flat=True)[:2])
    return named[0] if len(named) == 1 else typed


@dataclass
class PartRow:
    """One row of the split form: the amount, the optional receiver, and the errors shown beside each."""

    face: str = ""
    transfer_to: str = ""
    face_error: str = ""
    transfer_error: str = ""
    index: int = 0  # its number in the form as shown (``parts-<index>-face``)

    @property
    def field_name(self) -> str:
        return f"parts-{self.index}-transfer_to"


def part_rows(post: Mapping[str, str]) -> list[PartRow]:
    """The rows a split form posted (``parts-<n>-face``, ``parts-<n>-transfer_to``), blank rows left out, in
    the order of their numbers (rows added and removed in the browser leave gaps)."""
    rows = []
    for n in range(MAX_ROWS):
        face = str(post.get(f"parts-{n}-face", "")).strip()
        target = str(post.get(f"parts-{n}-transfer_to", "")).strip()
        if face or target:
            rows.append(PartRow(face=face, transfer_to=target))
    return rows


def service_parts(rows: list[PartRow]) -> list[dict[str, str]]:
    parts = []
    for row in rows:
        part = {"face": row.face}
        if row.transfer_to:
            part["transfer_to"] = counterparty_code(row.transfer_to)
        parts.append(part)
    return parts


_PART_FIELD = re.compile(r"parts\[(\d+)\](?:\.(face|transfer_to))?")
_ALLOCATION_FIELD = re.compile(r"invoice_allocations\[(\d+)\](?:\.(invoice|amount))?")
_STATE_CODE = re.compile(r"\b(" + "|".join(re.escape(v) for v in BillState.values if "_" in v) + r")\b")


# The fixed messages of ``finance_portal.money`` (amount input rules, English there): the pages show them in the
# request's language through this catalogue.
MONEY_MESSAGES = (
    gettext_noop("Send amounts as decimal strings, not binary floating-point numbers."),
    gettext_noop("The amount is too large."),
    gettext_noop('Send the amount as a decimal string such as "100.00".'),
    gettext_noop("The amount must be a finite number."),
    gettext_noop("The amount must be greater than zero."),
    gettext_noop("Write amounts with ASCII digits 0-9: full-width and other non-ASCII digits are not accepted."),
)


def plain(message: str) -> str:
    """A service's message for a person: in the request's language where it is one of the fixed amount rules,
    and with any state code (``pending_receipt``) written as its label."""
    if message in MONEY_MESSAGES:
        message = _(message)
    return _STATE_CODE.sub(lambda m: str(BillState(m.group(1)).label).lower(), message)


@dataclass
class FieldErrors:
    """Errors by form field, and the one error no field of the form can hold (shown at the top of the form)."""

    fields: dict[str, str] = field(default_factory=dict)
    general: str = ""

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)


def place_error(err: DomainError, *, form_fields: set[str], rows: list[PartRow] | None = None,
                allocation_keys: list[str] | None = None) -> FieldErrors:
    """Where the page shows a service's error: beside the form field its ``field`` path names (a split part's
    amount or receiver row, an invoice's amount), else at the top of the form. The message is the service's,
    in the request's language, without state codes and without the path."""
    message = plain(err.message)
    path = err.field or ""
    found = _PART_FIELD.fullmatch(path)
    if found and rows is not None:
        index, which = int(found.group(1)), found.group(2) or "face"
        if index < len(rows):
            if which == "transfer_to":
                rows[index].transfer_error = message
            else:
                rows[index].face_error = message
            return FieldErrors(fields={f"parts-{index}-{which}": message})
    if path == "parts" and rows is not None:
        return FieldErrors(fields={"parts": message})
    found = _ALLOCATION_FIELD.fullmatch(path)
    if found and allocation_keys is not None and int(found.group(1)) < len(allocation_keys):
        return FieldErrors(fields={f"amount-{allocation_keys[int(found.group(1))]}": message})
    name = "expires_in_hours" if path == "expires_at" else path
    if name in form_fields:
        return FieldErrors(fields={name: message})
    return FieldErrors(general=message)


def receiver_for_summary(code: str, *, acting: Organization, field_name: str) -> Organization:
    """The organization a confirmation names as the receiver (the service checks it again when it runs)."""
    return inputs.counterparty(counterparty_code(code), field=field_name, acting=acting)
