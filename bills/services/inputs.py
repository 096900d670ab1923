"""Parsing of the services' inputs (400s naming the field). Each service parses its inputs after the guard.

Text inputs refuse control characters (a NUL byte cannot be stored by PostgreSQL, and no reason needs a bell);
amounts go through ``finance_portal.money.parse_amount``; dates are ISO ``YYYY-MM-DD``.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, cast

from django.conf import settings
from django.utils.translation import gettext

from bills import clock
from bills.errors import BillInvalid
from finance_portal.money import parse_amount
from finance_portal.organizations.models import Organization

MAX_PARTS = 20
MAX_ALLOCATIONS = 50
MAX_REASON = 500
MAX_REFERENCE = 64
RATE_DIGITS = 6


Parser = TypeVar("Parser", bound=Callable[..., Any])


class NotAnObject:
    """What the API hands a service for every body field when the request body is not a JSON object (``null``, a list,
    a number): the service refuses it when it parses its first input, after its guard, so a bad body never hides a
    403, 404 or 409, and an action whose inputs are all optional does not take ``null`` for "no inputs"."""

    def __repr__(self) -> str:
        return "NOT_AN_OBJECT"


NOT_AN_OBJECT = NotAnObject()


def an_object(parse: Parser) -> Parser:
    """Refuse ``NOT_AN_OBJECT`` before ``parse`` reads it: every parser of a body field is wrapped."""

    @functools.wraps(parse)
    def wrapped(value: object, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, NotAnObject):
            raise BillInvalid(gettext("Send the request body as a JSON object (an empty one, {}, when nothing is "
                                      "needed)."),
                              code="body_not_an_object")
        return parse(value, *args, **kwargs)

    return cast(Parser, wrapped)


@an_object
def _text(value: object, *, field: str, limit: int, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise BillInvalid(gettext("Send the %(what)s as text.") % {"what": what}, field=field)
    text = str(value).strip()
    if any(ord(c) < 32 and c not in "\t\n\r" or ord(c) == 127 for c in text):
        raise BillInvalid(gettext("The %(what)s contains a control character (such as a NUL byte).") % {"what": what},
                          field=field)
    if len(text) > limit:
        raise BillInvalid(gettext("The %(what)s is limited to %(limit)s characters.") % {"what": what, "limit": limit},
                          field=field)
    return text


def reason_text(value: object, *, required: bool = False) -> str:
    text = _text(value, field="reason", limit=MAX_REASON, what=gettext("reason"))
    if required and not text:
        raise BillInvalid(gettext("Give a reason: it is recorded in the bill's history."), field="reason")
    return text


def reference_text(value: object) -> str:
    return _text(value, field="reference", limit=MAX_REFERENCE, what=gettext("reference"))


@an_object
def parse_date(value: object, *, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise BillInvalid(gettext("Give a date (YYYY-MM-DD), not a date and time."), field=field)
    if isinstance(value, dt.date):
        return value
    text = str(value).strip() if isinstance(value, str) else ""
    if not text.isascii():
        text = ""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BillInvalid(gettext("%(value)s is not a date in the form YYYY-MM-DD.") % {"value": repr(value)},
                          field=field) from None


def check_maturity(maturity: dt.date, *, issue_date: dt.date, field: str = "maturity_date") -> None:
    if maturity <= clock.today():
        raise BillInvalid(gettext("The maturity date must be after today."), field=field)
    limit = settings.BILL_MAX_TENOR_DAYS
    if (maturity - issue_date).days > limit:
        raise BillInvalid(
            gettext("The tenor (issue date to maturity) may not exceed %(limit)s days: mature on or before "
                    "%(last)s.") % {"limit": limit, "last": issue_date + dt.timedelta(days=limit)},
            field=field,
        )


def check_face(amount: Decimal, currency: str, *, field: str = "face", part: bool = False) -> Decimal:
    """A bill's face (or a split part's) lies within ``BILL_MIN_FACE`` and ``BILL_MAX_FACE`` (409-free: a 400)."""
    low, high = settings.BILL_MIN_FACE, settings.BILL_MAX_FACE
    words = {"currency": currency}
    if amount < low:
        least = gettext("A part of a split is at least %(amount)s %(currency)s.") if part \
            else gettext("A bill's face is at least %(amount)s %(currency)s.")
        raise BillInvalid(least % {**words, "amount": f"{low:,.2f}"}, field=field)
    if amount > high:
        most = gettext("A part of a split is at most %(amount)s %(currency)s.") if part \
            else gettext("A bill's face is at most %(amount)s %(currency)s.")
        raise BillInvalid(most % {**words, "amount": f"{high:,.2f}"}, field=field)
    return amount


@an_object
def parse_moment(value: object, *, field: str) -> dt.datetime | None:
    """An aware ISO-8601 date and time (``2026-12-01T17:00:00+08:00``), or None when not given."""
    if value in (None, ""):
        return None
    moment: dt.datetime | None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = value.strip() if isinstance(value, str) else ""
        try:
            moment = dt.datetime.fromisoformat(text) if text.isascii() and text else None
        except ValueError:
            moment = None
        if moment is None:
            raise BillInvalid(gettext("%(value)s is not a date and time such as 2026-12-01T17:00:00+08:00.")
                              % {"value": repr(value)}, field=field)
    if moment.tzinfo is None:
        raise BillInvalid(gettext("Give the time zone of the moment (such as +08:00 or Z)."), field=field)
    return moment.astimezone(dt.UTC)


@an_object
def parse_rate(value: object, *, field: str = "rate") -> Decimal:
    """An annual discount rate as a fraction (``"0.036"`` is 3.6 %): above 0, below 1, six decimals at most."""
    if isinstance(value, float | bool) or value is None:
        raise BillInvalid(gettext("Send the rate as a decimal string such as \"0.036\" (%(percent)s a year).")
                          % {"percent": "3.6 %"}, field=field)
    text = str(value).strip() if isinstance(value, str | int) else "?"
    if not text.isascii():
        raise BillInvalid(gettext("Write the rate with ASCII digits, such as \"0.036\"."), field=field)
    try:
        rate = Decimal(text)
    except (InvalidOperation, ValueError):
        raise BillInvalid(gettext("%(value)s is not a decimal rate.") % {"value": repr(value)}, field=field) from None
    if not rate.is_finite() or rate <= 0 or rate >= 1:
        raise BillInvalid(gettext("The annual rate is a fraction above 0 and below 1 (\"0.036\" is %(percent)s).")
                          % {"percent": "3.6 %"}, field=field)
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_DIGITS)):
        raise BillInvalid(gettext("The rate has at most %(digits)s decimal places.") % {"digits": RATE_DIGITS},
                          field=field)
    return rate


@an_object
def optional_rate(value: object) -> Decimal | None:
    return None if value in (None, "") else parse_rate(value)


@an_object
def counterparty(code: object, *, field: str, acting: Organization) -> Organization:
    """An onboarded (KYC approved) trading organization named by its credit code, other than ``acting``."""
    text = str(code).strip().upper() if isinstance(code, str) else ""
    if not text:
        raise BillInvalid(gettext("Name the receiving organization by its unified social credit code."), field=field)
    org = Organization.objects.filter(credit_code=text).first() if text.isascii() and len(text) <= 64 else None
    if org is None:
        raise BillInvalid(gettext("No organization with credit code %(code)s is registered on the platform.")
                          % {"code": text[:64]}, field=field)
    if org.pk == acting.pk:
        raise BillInvalid(gettext("The receiver must be another organization than yours."), field=field)
    if not org.can_act:
        raise BillInvalid(gettext("%(name)s is not onboarded (KYC not approved): it cannot receive bills.")
                          % {"name": org.legal_name}, field=field)
    if org.is_regulator or org.is_platform:
        raise BillInvalid(gettext("%(name)s oversees the platform and takes no part in trades.")
                          % {"name": org.legal_name}, field=field)
    return org


@an_object
def _list(raw: object, *, field: str, what: str) -> Sequence[object]:
    if raw is None:
        return []
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise BillInvalid(gettext("Give the %(what)s as a list.") % {"what": what}, field=field)
    return raw


@an_object
def parse_allocations(raw: object, *, currency: str, required: bool) -> list[tuple[uuid.UUID, Decimal]]:
    field = "invoice_allocations"
    items = _list(raw, field=field, what=gettext("invoice allocations ({invoice, amount} objects)"))
    if required and not items:
        raise BillInvalid(gettext("A bill is backed by at least one of your invoices."), field=field)
    if len(items) > MAX_ALLOCATIONS:
        raise BillInvalid(gettext("A bill is backed by at most %(count)s invoices.") % {"count": MAX_ALLOCATIONS},
                          field=field)
    parsed: list[tuple[uuid.UUID, Decimal]] = []
    seen: set[uuid.UUID] = set()
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise BillInvalid(gettext("Each allocation is an object {invoice, amount}."), field=f"{field}[{i}]")
        try:
            invoice_id = uuid.UUID(str(item.get("invoice")))
        except (ValueError, TypeError):
            raise BillInvalid(gettext("Name the invoice by its id."), field=f"{field}[{i}].invoice") from None
        if invoice_id in seen:
            raise BillInvalid(gettext("An invoice appears twice in the allocations."), field=f"{field}[{i}].invoice")
        seen.add(invoice_id)
        parsed.append((invoice_id, parse_amount(item.get("amount"), currency, field=f"{field}[{i}].amount")))
    return parsed


@an_object
def parse_parts(raw: object) -> list[Mapping[str, object]]:
    items = _list(raw, field="parts", what=gettext("parts ({face, transfer_to} objects)"))
    if not 2 <= len(items) <= MAX_PARTS:
        raise BillInvalid(gettext("A split makes between 2 and %(count)s parts.") % {"count": MAX_PARTS}, field="parts")
    for i, part in enumerate(items):
        if not isinstance(part, Mapping):
            raise BillInvalid(gettext("Each part is an object {face, transfer_to}."), field=f"parts[{i}]")
    return list(items)  # type: ignore[arg-type]


def idempotency_key(value: object) -> str:
    text = value.strip() if isinstance(value, str) else "" if value is None else "\x00"
    if len(text) > 128 or any(not (32 < ord(c) < 127) for c in text):
        raise BillInvalid(
            gettext("The Idempotency-Key is up to 128 printable ASCII characters without spaces."),
            field="idempotency_key",
        )
    return text
