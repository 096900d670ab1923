"""Money: Decimal amounts in a currency's minor unit, one rounding rule (half-up), validation of user input.

Every amount on the platform goes through ``parse_amount`` (input) or ``quantize`` (computed values).
Floats are refused outright: a float has already lost the cents.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext

from finance_portal.errors import InvalidInput

# ISO 4217 code -> digits of the minor unit. The platform's ledger is in these currencies only.
CURRENCIES: dict[str, int] = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0}
MAX_AMOUNT = Decimal("999999999999999999.99")  # what DecimalField(max_digits=20, decimal_places=2) holds
_MAX_ADJUSTED = MAX_AMOUNT.adjusted()  # the exponent of MAX_AMOUNT's leading digit
_MAX_INTEGER = int(MAX_AMOUNT)
_MAX_TEXT = 64  # characters of an amount as text: room for leading zeros, never for a denial of service
_AMOUNT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


def validate_currency(code: object, *, field: str = "currency") -> str:
    text = str(code or "").strip().upper()
    if text not in CURRENCIES:
        raise InvalidInput(
            gettext("Unknown or unsupported currency %(value)s: use one of %(currencies)s.")
            % {"value": repr(code), "currencies": ", ".join(sorted(CURRENCIES))},
            field=field,
        )
    return text


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round a computed amount half-up to the currency's minor unit."""
    exponent = Decimal(1).scaleb(-CURRENCIES[currency])
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def parse_amount(value: object, currency: str, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """A user-supplied amount as an exact Decimal, or ``InvalidInput`` naming ``field``; it never raises else.

    Accepted: ``str`` written ``-?[0-9]+(.[0-9]+)?`` with ASCII digits only (surrounding blanks ignored),
    ``int`` and ``Decimal``. Refused: floats and booleans, exponents (``1e3``), ``NaN``/``Infinity``,
    separators (``1_000``, ``1,000``), full-width, Arabic-Indic and every other non-ASCII digit (one rule
    for forms, API and services: docs/architecture.md, "Input rules"), negatives, zero unless
    ``allow_zero`` (``-0`` is zero), more decimals than the currency's minor unit, more than ``MAX_AMOUNT``.
    No arithmetic runs on the value before its size is known, so no input can raise ``decimal.Overflow``.
    """
    if isinstance(value, float | bool):
        raise InvalidInput(gettext("Send amounts as decimal strings, not binary floating-point numbers."), field=field)
    if isinstance(value, int):
        if abs(value) > _MAX_INTEGER:
            raise InvalidInput(gettext("The amount is too large."), field=field)
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        amount = _amount_from_text(value, field)
    else:
        raise InvalidInput(gettext('Send the amount as a decimal string such as "100.00".'), field=field)
    if not amount.is_finite():
        raise InvalidInput(gettext("The amount must be a finite number."), field=field)
    if amount.is_zero():
        amount = Decimal(0)  # -0 and 0E+7 are plain zero
    elif amount.adjusted() > _MAX_ADJUSTED or amount.copy_abs() > MAX_AMOUNT:
        raise InvalidInput(gettext("The amount is too large."), field=field)
    digits = CURRENCIES[currency]
    if amount != amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP):
        raise InvalidInput(gettext("%(currency)s amounts have at most %(digits)s decimal places.")
                           % {"currency": currency, "digits": digits}, field=field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput(gettext("The amount must be greater than zero."), field=field)
    return quantize(amount, currency)


def _amount_from_text(value: str, field: str) -> Decimal:
    text = value.strip()
    if not _AMOUNT_TEXT.fullmatch(text):
        if any(ch.isdigit() or unicodedata.category(ch) == "Nd" for ch in text if not ch.isascii()):
            raise InvalidInput(
                gettext("Write amounts with ASCII digits 0-9: full-width and other non-ASCII digits are not accepted."),
                field=field,
            )
        shown = repr(text[:40]) + ("…" if len(text) > 40 else "")
        raise InvalidInput(
            gettext("%(value)s is not a decimal amount: write it with the digits 0-9 and an optional decimal point, "
                    "such as 1234.56.") % {"value": shown},
            field=field,
        )
    if len(text.lstrip("-").split(".")[0].lstrip("0")) > _MAX_ADJUSTED + 1:
        raise InvalidInput(gettext("The amount is too large."), field=field)
    if len(text) > _MAX_TEXT:
        raise InvalidInput(gettext("The amount has too many digits: write at most %(count)s characters.")
                           % {"count": _MAX_TEXT}, field=field)
    return Decimal(text)


def discount_price(*, face: Decimal, annual_rate: Decimal, days: int, currency: str, basis: int = 360) -> tuple[Decimal, Decimal]:
    """Chinese bill-discounting convention: interest = face × rate × days / basis; price = face − interest.

    Returns (interest, price), both rounded half-up to the minor unit. 10,000 × 3.6% × 90/360 = 90.00.
    """
    interest = quantize(face * annual_rate * Decimal(days) / Decimal(basis), currency)
    return interest, face - interest
