"""Money: Decimal amounts in a currency's minor unit, one rounding rule (half-up), validation of user input.

Every amount on the platform goes through ``parse_amount`` (input) or ``quantize`` (computed values).
Floats are refused outright: a float has already lost the cents.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from finance_portal.errors import InvalidInput

# ISO 4217 code -> digits of the minor unit. The platform's ledger is in these currencies only.
CURRENCIES: dict[str, int] = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0}
MAX_AMOUNT = Decimal("999999999999999999.99")  # what DecimalField(max_digits=20, decimal_places=2) holds


def validate_currency(code: object, *, field: str = "currency") -> str:
    text = str(code or "").strip().upper()
    if text not in CURRENCIES:
        raise InvalidInput(
            f"Unknown or unsupported currency {code!r}: use one of {', '.join(sorted(CURRENCIES))}.", field=field
        )
    return text


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round a computed amount half-up to the currency's minor unit."""
    exponent = Decimal(1).scaleb(-CURRENCIES[currency])
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def parse_amount(value: object, currency: str, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """A user-supplied amount as an exact Decimal; refuses floats, junk, negatives and excess decimals."""
    if isinstance(value, float) or isinstance(value, bool):
        raise InvalidInput("Send amounts as decimal strings, not binary floating-point numbers.", field=field)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{value!r} is not a decimal amount.", field=field) from None
    if not amount.is_finite():
        raise InvalidInput("The amount must be a finite number.", field=field)
    if abs(amount) > MAX_AMOUNT:
        raise InvalidInput("The amount is too large.", field=field)
    digits = CURRENCIES[currency]
    if amount != amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP):
        raise InvalidInput(f"{currency} amounts have at most {digits} decimal places.", field=field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput("The amount must be greater than zero.", field=field)
    return quantize(amount, currency)


def discount_price(*, face: Decimal, annual_rate: Decimal, days: int, currency: str, basis: int = 360) -> tuple[Decimal, Decimal]:
    """Chinese bill-discounting convention: interest = face × rate × days / basis; price = face − interest.

    Returns (interest, price), both rounded half-up to the minor unit. 10,000 × 3.6% × 90/360 = 90.00.
    """
    interest = quantize(face * annual_rate * Decimal(days) / Decimal(basis), currency)
    return interest, face - interest
