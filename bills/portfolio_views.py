"""Portfolio pages: a financier's book (``/portfolio/``) and a seller's cash from claims sold (``/cash/``).

Each page shows one organization's own purchases or sales (``bills.portfolio``), never another
organization's prices: a financier reads its own book, a supplier or core enterprise its own sales.
Regulators and platform staff read any organization's, read-only (DESIGN §8), picking it with ``?org=<id>``.
The views choose whose page it is and which slice to show; the figures come from the selectors.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from bills import clock, portfolio, selectors
from finance_portal.ledger import selectors as ledger
from finance_portal.ledger.models import AccountKind
from finance_portal.ledger.views import platform_zone
from finance_portal.organizations.models import Organization

PAGE_SIZE = 50
REALIZED_ROWS = 50
LADDER_WEEKS = 13  # a quarter
LADDER_WEEKS_MAX = 52


def _weeks(raw: str | None) -> int:
    try:
        return min(max(int(raw or LADDER_WEEKS), 1), LADDER_WEEKS_MAX)
    except ValueError:
        return LADDER_WEEKS


def _subject(request: HttpRequest, *, kinds: Q) -> tuple[Organization | None, bool]:
    """Whose page this is, and whether the viewer reads it from outside (a regulator or platform staff).

    Readers of everything name the organization with ``?org=``, among those of ``kinds`` (404 otherwise);
    ``(None, True)`` asks them to pick one. Anyone else gets their own organization (or None)."""
    if selectors.user_sees_everything(request.user):
        raw = request.GET.get("org", "")
        if not raw:
            return None, True
        try:
            return Organization.objects.filter(kinds).get(pk=int(raw)), True
        except (Organization.DoesNotExist, ValueError, OverflowError):
            raise Http404("No such organization.") from None
    return selectors.viewer_organization(request.user), False


def _cash(org: Organization) -> list[object]:
    return list(ledger.with_balances(org.accounts.filter(kind=AccountKind.CASH)).order_by("currency"))


@login_required
def portfolio_page(request: HttpRequest) -> HttpResponse:
    """A financier's bills held: cost, face, expected return, yield, days to maturity, totals, the ladder
    by week, and what settled bills returned over the last 90 days."""
    org, outside = _subject(request, kinds=Q(is_financier=True))
    if outside and org is None:
        choices = Organization.objects.filter(is_financier=True).order_by("legal_name")
        return render(request, "bills/portfolio_pick.html",
                      {"title": _("Portfolio"), "choices": choices, "target": "portfolio"})
    if org is None or not org.is_financier:
        return render(request, "bills/portfolio.html", {
            "title": _("Portfolio"),
            "refused": _("The portfolio shows the claims a financier bought. Your cash from claims you sold is "
                         "on the Cash received page."),
        }, status=403)
    today = clock.today()
    weeks = _weeks(request.GET.get("weeks"))
    page = Paginator(portfolio.holdings_of(org), PAGE_SIZE).get_page(request.GET.get("page"))
    since = clock.now() - dt.timedelta(days=portfolio.REALIZED_WINDOW_DAYS)
    return render(request, "bills/portfolio.html", {
        "title": _("Portfolio") if not outside else f"Portfolio · {org.display_name}",
        "subject": org,
        "outside": outside,
        "page": page,
        "rows": portfolio.holding_rows(page, today=today),
        "totals": portfolio.holdings_totals(org).values(),
        "ladders": portfolio.maturity_ladder(org, today=today, weeks=weeks),
        "weeks": weeks,
        "today": today,
        "query": f"org={org.pk}&" if outside else "",
        "realized": portfolio.realized_rows(portfolio.settled_holdings_of(org, since=since)[:REALIZED_ROWS]),
        "realized_totals": portfolio.realized_totals(org, since=since).values(),
        "realized_days": portfolio.REALIZED_WINDOW_DAYS,
        "realized_max": REALIZED_ROWS,
        "cash": _cash(org),
        "basis": portfolio.DAY_COUNT_BASIS,
    })


SELLERS = Q(is_supplier=True) | Q(is_core_enterprise=True)


@login_required
def cash_page(request: HttpRequest) -> HttpResponse:
    """A seller's claims sold for cash: face, cash received, discount paid, rate and date; monthly totals."""
    org, outside = _subject(request, kinds=SELLERS | Q(is_financier=True))
    if outside and org is None:
        choices = Organization.objects.filter(SELLERS).order_by("legal_name")
        return render(request, "bills/portfolio_pick.html",
                      {"title": _("Cash received"), "choices": choices, "target": "cash"})
    if org is None:
        return render(request, "bills/portfolio_cash.html", {
            "title": _("Cash received"), "refused": _("Your account does not belong to an organization.")}, status=403)
    zone, zone_label = platform_zone()
    page = Paginator(portfolio.sales_of(org), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        (sale, portfolio.annualized_yield(gain=sale.interest, cost=sale.price, days=sale.days, basis=sale.basis))
        for sale in page
    ]
    return render(request, "bills/portfolio_cash.html", {
        "title": _("Cash received") if not outside else f"Cash received · {org.display_name}",
        "subject": org,
        "outside": outside,
        "page": page,
        "rows": rows,
        "months": portfolio.sales_by_month(org, tz=zone),
        "totals": portfolio.sales_totals(org).values(),
        "zone_label": zone_label,
        "query": f"org={org.pk}&" if outside else "",
        "cash": _cash(org),
        "basis": portfolio.DAY_COUNT_BASIS,
    })
