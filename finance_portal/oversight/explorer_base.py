"""The pieces of the regulator's data explorer (the registry itself is ``explorer.DATASETS``).

Each ``Dataset`` names its queryset (``select_related`` so a page costs the same queries for any size), its
columns (a header and a getter that returns text: money as a Decimal with its currency, times in ISO 8601
UTC), its filters (each a form field and the condition it adds), the fields its search box looks in, and the
date it is filtered by. Pages and CSV exports (``explorer_views``) read only this registry; inputs are checked
by a Django form, so a bad filter is a form error, never a database error.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from finance_portal.organizations.models import Organization

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

Getter = Callable[[Any], object]
Condition = Callable[[Any], Any]  # a cleaned form value -> a Q or a boolean expression for ``filter()``


# ---------------------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------------------


def utc(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).isoformat() if value is not None else ""


def money(amount: Decimal | None, currency: str) -> str:
    return f"{amount} {currency}" if amount is not None else ""


def org(value: Any) -> str:
    """An organization as its credit code (unique, stable) and legal name."""
    return f"{value.credit_code} {value.legal_name}" if value is not None else ""


def user(value: Any) -> str:
    return value.get_username() if value is not None else ""


def text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return utc(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


@dataclass(frozen=True)
class Column:
    header: StrOrPromise  # translated on the page; the CSV keeps the English header
    value: Getter
    csv_only: bool = False  # long values (hashes, evidence) go to the export, not the page
    css: str = ""  # "num" for money
    link: Getter | None = None  # the page links the cell to this URL
    shown: Getter | None = None  # what the page shows instead of the export's value (a code's label)


@dataclass(frozen=True)
class Cell:
    text: str
    css: str
    href: str
    label: str = ""  # the column's header: a phone shows it beside the value (a card per row, portal.css)

    def __html__(self) -> str:
        """The cell as a ``<td>``, escaped as the template would: a page of 50 rows draws hundreds of cells, and
        this costs a fraction of the template's tags for each."""
        css = f' class="{escape(self.css)}"' if self.css else ""
        if self.label:
            css += f' data-label="{escape(self.label)}"'
        body = f'<a href="{escape(self.href)}">{escape(self.text)}</a>' if self.href else escape(self.text)
        return f"<td{css}>{body}</td>"


class CellRow(list[Cell]):
    """A page's row: its cells, drawn as one string of ``<td>`` by ``{{ row }}`` (the template turns a value
    that is not a string into one with ``str()`` before escaping: both give the safe HTML)."""

    def __html__(self) -> SafeString:
        return mark_safe("".join(cell.__html__() for cell in self))  # every part escaped by Cell

    def __str__(self) -> str:
        return self.__html__()


def _follow(obj: Any, attr: str) -> Any:
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def col(header: StrOrPromise, attr: str, *, csv_only: bool = False, css: str = "") -> Column:
    """A column reading a dotted attribute path (``"bill.number"``); a missing link gives an empty cell."""
    return Column(header, lambda obj: _follow(obj, attr), csv_only, css)


def coded(header: StrOrPromise, attr: str, choices: Iterable[tuple[str, object]]) -> Column:
    """A column of codes (a state, a kind): the export keeps the code, the page shows its label, translated."""
    labels = dict(choices)  # lazy labels, read in the reader's language when the page is drawn

    def shown(obj: Any) -> object:
        code = _follow(obj, attr)
        return labels.get(code, code)

    return Column(header, lambda obj: _follow(obj, attr), shown=shown)


def bill_col(header: StrOrPromise, attr: str) -> Column:
    """A bill's number, linked to its page (``attr`` leads to the bill; empty for the row itself)."""
    def href(obj: Any) -> str:
        bill = _follow(obj, attr)
        return reverse("bills:detail", args=[bill.pk]) if bill is not None else ""

    return Column(header, lambda obj: getattr(_follow(obj, attr), "number", None), link=href)


# ---------------------------------------------------------------------------------------------------------
# Filters and the form
# ---------------------------------------------------------------------------------------------------------

ASCII_ONLY = _("Use ASCII characters here (digits 0-9, letters A-Z).")


def _ascii(value: object) -> None:
    if isinstance(value, str) and not value.isascii():
        raise ValidationError(ASCII_ONLY, code="ascii")


class AsciiDateField(forms.DateField):
    """A date as YYYY-MM-DD in ASCII digits (Python would read "２０２６" as 2026; a filter should not)."""

    input_formats = ["%Y-%m-%d"]
    widget = forms.DateInput(attrs={"type": "date"})

    def to_python(self, value: Any) -> dt.date | None:
        _ascii(value)
        return super().to_python(value)


@dataclass(frozen=True)
class Filter:
    name: str
    make_field: Callable[[], forms.Field]
    condition: Condition


def choice(name: str, label: StrOrPromise, lookup: str, choices: Iterable[tuple[str, object]]) -> Filter:
    options = [("", _("any")), *[(str(v), lbl) for v, lbl in choices]]  # labels may be lazy (translated)
    return Filter(name, lambda: forms.ChoiceField(label=label, choices=options, required=False),
                  lambda v: Q(**{lookup: v}))


def flag(name: str, label: StrOrPromise, when_yes: Q) -> Filter:
    options = [("", _("any")), ("yes", _("yes")), ("no", _("no"))]
    return Filter(name, lambda: forms.ChoiceField(label=label, choices=options, required=False),
                  lambda v: when_yes if v == "yes" else ~when_yes)


class UpperCharField(forms.CharField):
    """ASCII only, checked before upper-casing (``"ß".upper()`` is ``"SS"``)."""

    def to_python(self, value: Any) -> str:
        text_value = str(super().to_python(value))
        _ascii(text_value)
        return text_value.upper()


CREDIT_CODE = RegexValidator(r"^[0-9A-Z]{18}$", _("A credit code is 18 ASCII letters and digits."))


ORGANIZATION_LABEL = _("Organization (credit code)")


def organization_pk(code: str) -> int | None:
    """The id of the organization with credit code ``code``: filters compare foreign keys (their indexes), not
    the credit codes of several joined organizations."""
    return Organization.objects.filter(credit_code=code).values_list("pk", flat=True).first()


def organization(*lookups: str, label: StrOrPromise = ORGANIZATION_LABEL) -> Filter:
    """Rows where any of ``lookups`` (paths to an organization) is the organization with that credit code."""
    def make() -> forms.Field:
        return UpperCharField(label=label, required=False, max_length=18, validators=[_ascii, CREDIT_CODE])

    def condition(code: str) -> Q:
        pk = organization_pk(code)
        if pk is None:
            return Q(pk__in=[])  # no such organization: no rows (and no query)
        q = Q()
        for lookup in lookups:
            q |= Q(**{lookup or "pk": pk})
        return q

    return Filter("org", make, condition)


def currency(lookup: str = "currency") -> Filter:
    def make() -> forms.Field:
        return UpperCharField(label=_("Currency"), required=False, max_length=3,
                              validators=[_ascii, RegexValidator(r"^[A-Z]{3}$", _("A currency is 3 letters (CNY)."))])

    return Filter("currency", make, lambda v: Q(**{lookup: v}))


@dataclass(frozen=True)
class Dataset:
    key: str
    title: StrOrPromise
    description: StrOrPromise
    queryset: Callable[[], QuerySet[Any]]
    columns: tuple[Column, ...]
    filters: tuple[Filter, ...] = ()
    search: tuple[str, ...] = ()
    date_field: str = ""  # filtered by ?from= and ?to= (inclusive days, UTC)
    date_is_datetime: bool = True
    date_label: StrOrPromise = _("Date")

    def headers(self, *, csv: bool = False) -> list[str]:
        """The page's headers in the reader's language; the CSV's in English, as scripts reading it expect."""
        with translation.override("en" if csv else translation.get_language()):
            return [str(c.header) for c in self.columns if csv or not c.csv_only]

    def row(self, obj: Any, *, csv: bool = False) -> list[str]:
        return [text(c.value(obj)) for c in self.columns if csv or not c.csv_only]

    def cells(self, obj: Any) -> CellRow:
        """The page's cells: text, a class (money right-aligned, dates unbroken) and a link where there is one."""
        out = CellRow()
        for c in self.columns:
            if c.csv_only:
                continue
            label = str(c.header)  # lazy: in the reader's language
            raw = c.value(obj)
            css = c.css or ("nowrap" if isinstance(raw, dt.date) else "")
            shown = text(c.shown(obj)) if c.shown else text(raw)
            out.append(Cell(shown, css, str(c.link(obj) or "") if c.link else "", label))
        return out

    def form(self, data: Mapping[str, Any] | None) -> forms.Form:
        fields: dict[str, forms.Field] = {}
        if self.search:
            fields["q"] = forms.CharField(label=_("Search"), required=False, max_length=200, strip=True)
        for f in self.filters:
            fields[f.name] = f.make_field()
        if self.date_field:
            fields["from"] = AsciiDateField(label=gettext("%(date)s from") % {"date": self.date_label}, required=False)
            fields["to"] = AsciiDateField(label=gettext("%(date)s to") % {"date": self.date_label}, required=False)
        form_class = type(f"{self.key.title()}FilterForm", (DateRangeForm,), fields)
        return form_class(data)

    def filtered(self, cleaned: Mapping[str, Any]) -> QuerySet[Any]:
        """The queryset with the cleaned form's filters, date range and search terms applied (all ANDed)."""
        qs = self.queryset()
        for f in self.filters:
            value = cleaned.get(f.name)
            if value not in (None, ""):
                qs = qs.filter(f.condition(value))
        if self.date_field:
            start, end = cleaned.get("from"), cleaned.get("to")
            if self.date_is_datetime:
                if start:
                    qs = qs.filter(**{f"{self.date_field}__gte": _utc_midnight(start)})
                if end and end < dt.date.max:
                    qs = qs.filter(**{f"{self.date_field}__lt": _utc_midnight(end + dt.timedelta(days=1))})
            else:
                if start:
                    qs = qs.filter(**{f"{self.date_field}__gte": start})
                if end:
                    qs = qs.filter(**{f"{self.date_field}__lte": end})
        for term in (cleaned.get("q") or "").split()[:10]:
            q = Q()
            for name in self.search:
                q |= Q(**{f"{name}__icontains": term})
            qs = qs.filter(q)
        return qs


class DateRangeForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            raise ValidationError(_("The start date is after the end date."))
        return cleaned


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


# ---------------------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------------------

_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?( [A-Z]{3})?$")


def csv_safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (a leading = + - @ becomes text), numbers untouched."""
    if cell and cell[0] in "=+-@\t\r" and not _PLAIN_NUMBER.match(cell):
        return "'" + cell
    return cell


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_safe(c) for c in row])


def export_rows(dataset: Dataset, qs: QuerySet[Any]) -> Iterator[list[str]]:
    for obj in qs.iterator(chunk_size=2000):
        yield dataset.row(obj, csv=True)

