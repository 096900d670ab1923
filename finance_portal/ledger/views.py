"""Portal pages of the ledger: the money overview (``/money/``) and an account's statement
(``/money/statement/<id>/``, with a date filter and a CSV download).

What a newcomer must know: these pages read through ``finance_portal.ledger.selectors`` only. A member sees
its organization's accounts; regulators, platform members and superusers read every account, read-only
(DESIGN §8); any other account is a 404, as if it did not exist. Times are shown, filtered and exported in the
platform's time zone (``settings.TIME_ZONE``), and every page and file says which zone that is; the API keeps
UTC.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template import Engine
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from finance_portal.ledger import selectors
from finance_portal.ledger.errors import AccountNotFound
from finance_portal.ledger.models import BANK_KINDS, EntryKind

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

STATEMENT_PAGE_SIZE = 100
OVERVIEW_PAGE_SIZE = 50
# What a statement line says of its entry, in a few words: (money in, money out).
ENTRY_WORDS: dict[str, tuple[StrOrPromise, StrOrPromise]] = {
    EntryKind.DEPOSIT: (gettext_lazy("Deposit from the bank"), gettext_lazy("Deposit from the bank")),
    EntryKind.WITHDRAWAL: (gettext_lazy("Withdrawal to the bank"), gettext_lazy("Withdrawal to the bank")),
    EntryKind.PURCHASE: (gettext_lazy("Bill sold"), gettext_lazy("Bill bought")),
    EntryKind.SETTLEMENT: (gettext_lazy("Bill settled: face received"), gettext_lazy("Bill settled: face paid")),
    EntryKind.REVERSAL: (gettext_lazy("Reversal"), gettext_lazy("Reversal")),
}


def platform_zone() -> tuple[dt.tzinfo, str]:
    """The platform's time zone and its label for pages and files, e.g. ``Asia/Shanghai, UTC+08:00``."""
    zone = timezone.get_default_timezone()
    offset = timezone.now().astimezone(zone).strftime("%z")
    return zone, f"{zone}, UTC{offset[:3]}:{offset[3:]}"


def _date(raw: str | None) -> dt.date | None:
    """A ``YYYY-MM-DD`` date from a query string; None when empty; ``ValueError`` when malformed."""
    if not raw:
        return None
    if len(raw) != 10:
        raise ValueError(raw)
    return dt.date.fromisoformat(raw)


@login_required
def money_overview(request: HttpRequest) -> HttpResponse:
    """The user's organization's accounts with balances; for readers of everything, every account too."""
    zone, zone_label = platform_zone()
    own = list(selectors.with_balances(selectors.accounts_visible_to(request.user).select_related("organization")))
    context: dict[str, object] = {"title": _("Money"), "own": own, "zone_label": zone_label,
                                  "sees_all": selectors.sees_all_accounts(request.user)}
    if context["sees_all"]:
        own_ids = {a.pk for a in own}
        everything = selectors.accounts_overview().exclude(pk__in=own_ids)
        context["page"] = Paginator(everything, OVERVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "ledger/overview.html", context)


def _line_drawer(currency: str) -> Callable[[Any], SafeString]:
    """What draws a statement line as its ``<tr>``: the markup the template drew with a dozen tags a line, built
    here in one string (a page has 100 lines). The filters are the portal's ``money`` library (as the template's
    ``{% load money %}``), looked up by name: the ledger sits below the portal and does not import it."""
    filters = Engine.get_default().template_libraries["money"].filters
    when, money, money_abs = filters["when"], filters["money"], filters["money_abs"]

    def draw(line: Any) -> SafeString:
        entry = line.entry
        desc: str = escape(line.words)
        if entry.reference and entry.kind in BANK_KINDS:
            desc += f" <code>{escape(entry.reference)}</code>"
        if entry.memo:
            desc += f'<br><span class="muted">{escape(entry.memo)}</span>'
        money_in = escape(money(line.amount, currency)) if line.amount > 0 else ""
        money_out = escape(money_abs(line.amount, currency)) if line.amount < 0 else ""
        return mark_safe(  # every value escaped above
            f'\n    <tr>\n      <td class="nowrap">{escape(when(entry.created_at))}</td>\n'
            f"      <td>#{escape(localize(line.entry_id))}</td>\n"
            f'      <td class="desc">{desc}</td>\n'
            f'      <td class="num">{money_in}</td>\n'
            f'      <td class="num">{money_out}</td>\n'
            f'      <td class="num">{escape(money(line.balance, currency))}</td>\n'
            "    </tr>")

    return draw


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_text(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_rows(statement: selectors.Statement, zone: dt.tzinfo, zone_name: str) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([f"time ({zone_name})", "entry", "kind", "reference", "memo", "amount", "balance",
                           "currency"])
    currency = statement.account.currency
    for line in statement.lines.iterator(chunk_size=2000):
        entry = line.entry
        yield writer.writerow([
            entry.created_at.astimezone(zone).isoformat(timespec="seconds"), entry.pk, entry.kind,
            _csv_text(entry.reference), _csv_text(entry.memo), line.amount,
            line.balance,  # type: ignore[attr-defined]
            currency,
        ])


@login_required
def account_statement(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    """Entries with running balance between two days (inclusive, the platform's days); ``?format=csv`` for
    the whole period as a file. Lands on the last page: the newest lines and the closing balance."""
    try:
        account = selectors.account_get_readable(user=request.user, account_id=pk)
    except AccountNotFound:
        raise Http404("No such account.") from None
    zone, zone_label = platform_zone()
    raw_from, raw_to = request.GET.get("from", "").strip(), request.GET.get("to", "").strip()
    error = ""
    try:
        date_from, date_to = _date(raw_from), _date(raw_to)
    except ValueError:
        date_from = date_to = None
        error = _("Give dates as YYYY-MM-DD (for example 2026-01-31).")
    if date_from and date_to and date_from > date_to:
        error = _("The period ends before it starts: pick a 'to' day on or after the 'from' day.")
    context: dict[str, object] = {
        "title": _("Statement · %(account)s") % {"account": account.display_name}, "account": account, "zone_label": zone_label,
        "raw_from": raw_from, "raw_to": raw_to, "error": error, "bank_kinds": BANK_KINDS,
    }
    if error:
        return render(request, "ledger/statement.html", context, status=400)
    statement = selectors.account_statement(account=account, date_from=date_from, date_to=date_to, tz=zone)
    if request.GET.get("format") == "csv":
        name = f"statement-{account.pk}-{date_from or 'start'}-{date_to or 'now'}.csv"
        response = StreamingHttpResponse(_csv_rows(statement, zone, str(zone)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    paginator = selectors.CountedPaginator(statement.lines, STATEMENT_PAGE_SIZE, count=statement.count)
    page = paginator.get_page(request.GET.get("page") or paginator.num_pages)
    draw = _line_drawer(account.currency)
    for line in page:
        words = ENTRY_WORDS.get(line.entry.kind, (line.entry.kind, line.entry.kind))
        line.words = str(words[0] if line.amount > 0 else words[1])  # type: ignore[attr-defined]
        line.html = draw(line)  # type: ignore[attr-defined]
    query = "&".join(f"{k}={v}" for k, v in (("from", date_from), ("to", date_to)) if v)
    context.update({"statement": statement, "page": page, "query": query,
                    "balance_now": statement.balance_now})
    return render(request, "ledger/statement.html", context)
