"""Template filters for money and rates: ``{% load money %}{{ amount|money:currency }}`` → ``10,000.00 CNY``.

The one thing to know: these take ``Decimal`` (or ``int``, or a decimal string such as the ``amounts`` of a
bill event) and never a ``float``: a float has already lost the cents, so passing one is a bug and raises
``TypeError`` instead of printing a plausible wrong number. Amounts are shown to the currency's minor unit
(``finance_portal.money.CURRENCIES``), rounded half-up by the one rounding helper, with thousands separators,
a true minus sign (U+2212) for negatives, and the ISO code after the number. The grouping (comma every three
digits, point before the cents) is the same in both of the portal's languages, English and Simplified Chinese.

``{{ moment|when }}`` shows a date and time in the platform's timezone (``TIME_ZONE``, Asia/Shanghai by default),
labelled with its offset: ``2026-03-03 01:30 UTC+8``; ``|when:"s"`` adds the seconds, ``|when:"utc"`` shows UTC.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils import timezone

from finance_portal.money import CURRENCIES, quantize

register = template.Library()

MINUS = "\u2212"
EMPTY = "–"


def _decimal(value: object) -> Decimal | None:
    """``value`` as an exact Decimal; None for None/"" (shown as a dash). Floats and booleans raise."""
    if value is None or value == "":
        return None
    if isinstance(value, float | bool):
        raise TypeError(f"money filters take Decimal, never {type(value).__name__} ({value!r})")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise TypeError(f"{value!r} is not a decimal amount") from None
    else:
        raise TypeError(f"money filters take Decimal, not {type(value).__name__}")
    if not number.is_finite():
        raise TypeError(f"{value!r} is not a finite amount")
    return number


def format_money(value: object, currency: str = "") -> str:
    """``Decimal("-1234.5"), "CNY"`` → ``−1,234.50 CNY``; without a currency, two decimals and no code."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    code = (currency or "").strip().upper()
    if code in CURRENCIES:
        number = quantize(number, code)
        digits = CURRENCIES[code]
    else:
        number = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        digits = 2
    text = f"{abs(number):,.{digits}f}"
    sign = MINUS if number < 0 else ""
    return f"{sign}{text} {code}" if code else f"{sign}{text}"


@register.filter(name="money")
def money(value: object, currency: str = "") -> str:
    """``{{ amount|money:currency }}`` → ``10,000.00 CNY`` (Decimal only; see the module docstring)."""
    return format_money(value, currency)


@register.filter(name="money_abs")
def money_abs(value: object, currency: str = "") -> str:
    """The amount without its sign, for a "money out" column: ``Decimal("-90")|money_abs:"CNY"`` → ``90.00 CNY``."""
    number = _decimal(value)
    return format_money(None if number is None else abs(number), currency)


@register.filter(name="percent")
def percent(value: object, digits: int | str = 2) -> str:
    """A fraction as a percentage: ``{{ Decimal("0.036")|percent }}`` → ``3.60%``; ``|percent:4`` → ``3.6000%``."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    places = int(digits)
    shown = (number * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = MINUS if shown < 0 else ""
    return f"{sign}{abs(shown):,.{places}f}%"


def _offset_label(moment: dt.datetime) -> str:
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else MINUS
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


@register.filter(name="when")
def when(value: object, options: str = "") -> str:
    """An aware datetime in the platform's timezone with its offset: ``2026-03-03 01:30 UTC+8``.

    ``options`` may hold ``s`` (seconds) and ``utc`` (show UTC instead of the platform's time); None is a dash.
    """
    if value is None or value == "":
        return EMPTY
    if not isinstance(value, dt.datetime):
        raise TypeError(f"when takes a datetime, not {type(value).__name__}")
    moment = value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)
    moment = moment.astimezone(dt.UTC) if "utc" in options else timezone.localtime(moment)
    shown = moment.strftime("%Y-%m-%d %H:%M:%S" if "s" in options.replace("utc", "") else "%Y-%m-%d %H:%M")
    return f"{shown} {_offset_label(moment)}"
