"""The data of the portal's client-side charts, as JSON at ``/charts/data/<name>/`` (GET, signed-in session).

Sources here: a financier's maturity ladder and book by debtor (the portfolio page's readers), a seller's cash
received and discount paid by month (the cash page's readers), an organization's score history (its credit
page's readers); the regulator's are in ``finance_portal.oversight.charts_data``. A newcomer must know one
thing: each source checks exactly what the page showing it checks (the same function where there is one), and
reads with a fixed number of grouped queries whatever the size of the book. Amounts stay ``Decimal`` and are
sent as strings; calendar dates and months are the platform's (``bills.clock``, ``settings.TIME_ZONE``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case, CharField, Count, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce, NullIf, TruncMonth
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from bills import clock, portfolio
from bills.models import BillPurchase
from bills.portfolio_views import SELLERS, _subject
from finance_portal import charts
from finance_portal.ledger.models import AccountKind, EntryKind, Posting
from finance_portal.money import CURRENCIES
from finance_portal.organizations.models import Organization
from sme_credit import selectors as credit
from sme_credit.errors import CreditNotFound

ZERO = Decimal("0.00")
MONTHS = 12
TOP_DEBTORS = 10
SCORE_POINTS = 120  # as many as the credit page draws


def _currency(params: Mapping[str, str]) -> str:
    code = (params.get("currency") or settings.DEFAULT_CURRENCY).strip().upper()
    if code not in CURRENCIES:
        raise ValueError(_("Unknown currency %(code)s.") % {"code": code[:8]})
    return code


def _org_param(params: Mapping[str, str]) -> dict[str, str]:
    """The ``?org=`` of a page read from outside, passed on to ``_subject`` the way the page receives it."""
    return {"org": params["org"]} if params.get("org") else {}


class _Get:
    """The request as the portfolio pages' ``_subject`` reads it: only ``GET`` and ``user``."""

    def __init__(self, request: HttpRequest, params: Mapping[str, str]) -> None:
        self.user = request.user
        self.GET = _org_param(params)


def _subject_of(request: HttpRequest, params: Mapping[str, str], *, kinds: Q) -> Organization:
    """Whose chart it is, by the page's own rule; a reader of everything who names none gets 404."""
    org, outside = _subject(_Get(request, params), kinds=kinds)  # type: ignore[arg-type]
    if org is None:
        if outside:
            raise Http404("Name the organization with ?org=.")
        raise PermissionDenied("Your account does not belong to an organization.")
    return org


def _zone() -> tuple[dt.tzinfo, str]:
    zone = timezone.get_default_timezone()
    return zone, str(zone)


def month_starts(today: dt.date, months: int = MONTHS) -> list[dt.date]:
    """The first days of the ``months`` calendar months ending with ``today``'s, oldest first."""
    index = today.year * 12 + today.month - 1
    return [dt.date((i) // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 1)]


def _month_of(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


# ---------------------------------------------------------------------------------------------------------
# A financier's book: maturity ladder and debtors
# ---------------------------------------------------------------------------------------------------------

# (key, label, last day from today) of each bucket after "overdue"; None: no end.
BUCKETS: tuple[tuple[str, str, int | None], ...] = (
    ("d0_7", gettext_noop("0–7 days"), 7), ("d8_30", gettext_noop("8–30 days"), 30),
    ("d31_90", gettext_noop("31–90 days"), 90), ("d91_180", gettext_noop("91–180 days"), 180),
    ("d181", gettext_noop("More than 180 days"), None),
)


def _bucket_labels() -> list[tuple[str, str]]:
    return [("overdue", _("Overdue"))] + [(key, _(label)) for key, label, _end in BUCKETS]


def financier(request: HttpRequest, params: Mapping[str, str]) -> Organization:
    """The financier whose book the viewer may read, as on ``/portfolio/``: 403 for an organization that is
    not a financier (the page's refusal), 404 for an organization not a financier named by a regulator."""
    org = _subject_of(request, params, kinds=Q(is_financier=True))
    if not org.is_financier:
        raise PermissionDenied("The portfolio shows the claims a financier bought.")
    return org


def maturity_ladder(org: Organization, *, currency: str, today: dt.date) -> list[tuple[str, str, Decimal, int]]:
    """``(key, label, face, bills)`` of each maturity bucket of the bills ``org`` holds in ``currency``,
    overdue first: days from ``today`` to maturity. One query."""
    whens = [When(bill__maturity_date__lt=today, then=Value("overdue"))]
    whens += [When(bill__maturity_date__lte=today + dt.timedelta(days=end), then=Value(key))
              for key, _label, end in BUCKETS if end is not None]
    rows = (portfolio.holdings_of(org).filter(currency=currency).order_by()
            .annotate(bucket=Case(*whens, default=Value(BUCKETS[-1][0]), output_field=CharField()))
            .values("bucket").annotate(face_total=Sum("face"), n=Count("id")))
    found = {r["bucket"]: (r["face_total"], r["n"]) for r in rows}
    return [(key, label, *found.get(key, (ZERO, 0))) for key, label in _bucket_labels()]


@charts.chart_source("financier-ladder", authorize=financier)
def ladder_source(org: Organization, params: Mapping[str, str]) -> dict[str, Any]:
    currency = _currency(params)
    today = clock.today()
    rungs = maturity_ladder(org, currency=currency, today=today)
    return charts.data_payload(
        title=_("Face due by time to maturity (%(currency)s)") % {"currency": currency},
        kind="bar", category=_("Due in"), labels=[label for _k, label, _f, _n in rungs], unit=currency,
        series=[charts.Series("face", _("Face due"), [face for _k, _l, face, _n in rungs]),
                charts.Series("bills", _("Bills"), [n for _k, _l, _f, n in rungs], draw=False, value_type="count")],
        empty=_("No claims held in %(currency)s.") % {"currency": currency},
        note=_("Days from today, %(today)s, to each bill's maturity date.") % {"today": today.isoformat()},
        as_of=today.isoformat(), timezone_name=_zone()[1])


def _debtor_name() -> Any:
    """The debtor's name in the reader's language (``Organization.display_name`` in SQL): to a reader in Chinese,
    the Chinese legal name where there is one."""
    if (get_language() or "").lower().startswith("zh"):
        return Coalesce(NullIf(F("bill__debtor__legal_name_zh"), Value("")), F("bill__debtor__legal_name"))
    return F("bill__debtor__legal_name")


def book_by_debtor(org: Organization, *, currency: str) -> tuple[list[tuple[str, Decimal, int]], int]:
    """The face of the bills ``org`` holds in ``currency`` per debtor, largest first (name, face, bills), and
    the number of debtors. One grouped query (one row per debtor, never per bill)."""
    rows = (portfolio.holdings_of(org).filter(currency=currency).order_by()
            .values("bill__debtor_id", name=_debtor_name())
            .annotate(face_total=Sum("face"), n=Count("id")).order_by("-face_total", "name"))
    found = [(r["name"], r["face_total"], r["n"]) for r in rows]
    return found, len(found)


@charts.chart_source("financier-debtors", authorize=financier)
def debtors_source(org: Organization, params: Mapping[str, str]) -> dict[str, Any]:
    currency = _currency(params)
    found, debtors = book_by_debtor(org, currency=currency)
    top, rest = found[:TOP_DEBTORS], found[TOP_DEBTORS:]
    if rest:
        others = ngettext("%(count)s other debtor", "%(count)s other debtors", len(rest)) % {"count": len(rest)}
        top = [*top, (others,
                      sum((face for _n, face, _c in rest), ZERO), sum(n for _n, _f, n in rest))]
    return charts.data_payload(
        title=_("Bills held by debtor (%(currency)s)") % {"currency": currency},
        kind="doughnut", category=_("Debtor"), labels=[name for name, _f, _n in top], unit=currency,
        series=[charts.Series("face", _("Face due"), [face for _n, face, _c in top]),
                charts.Series("bills", _("Bills"), [n for _n, _f, n in top], draw=False, value_type="count")],
        empty=_("No claims held in %(currency)s.") % {"currency": currency},
        note=(_("The %(top)s largest debtors by face, the others together; %(count)s debtors in all.")
              % {"top": TOP_DEBTORS, "count": debtors}) if rest else _("Each debtor of the bills held, by face."),
        as_of=clock.today().isoformat(), timezone_name=_zone()[1])


# ---------------------------------------------------------------------------------------------------------
# A seller's cash received and discount paid, by month
# ---------------------------------------------------------------------------------------------------------


def cash_by_month(org: Organization, *, currency: str, today: dt.date) -> dict[str, dict[dt.date, Decimal]]:
    """Per month of the last ``MONTHS`` (the platform's calendar): cash that reached ``org``'s cash account
    from purchases of its claims (``purchase``) and from debtors' settlements (``settlement``), from the
    ledger, entries later reversed left out; and the discount it gave on the claims it sold (``discount``,
    face − price of its sales). Two queries."""
    zone, _name = _zone()
    since = timezone.make_aware(dt.datetime.combine(month_starts(today)[0], dt.time.min), zone)
    out: dict[str, dict[dt.date, Decimal]] = {"purchase": {}, "settlement": {}, "discount": {}}
    postings = (Posting.objects.filter(account__organization=org, account__kind=AccountKind.CASH, currency=currency,
                                       amount__gt=0, entry__kind__in=(EntryKind.PURCHASE, EntryKind.SETTLEMENT),
                                       entry__created_at__gte=since, entry__reversed_by__isnull=True)
                .order_by().annotate(month=TruncMonth("entry__created_at", tzinfo=zone))
                .values("month", "entry__kind").annotate(total=Sum("amount")))
    for r in postings:
        out[r["entry__kind"]][_month_of(r["month"])] = r["total"]
    sales = (BillPurchase.objects.filter(seller=org, currency=currency, purchased_at__gte=since).order_by()
             .annotate(month=TruncMonth("purchased_at", tzinfo=zone)).values("month")
             .annotate(total=Sum(F("face") - F("price"))))
    for sale in sales:
        out["discount"][_month_of(sale["month"])] = sale["total"]
    return out


def seller(request: HttpRequest, params: Mapping[str, str]) -> Organization:
    """The organization whose sales the viewer may read, as on ``/cash/``: its own, or any seller's (or
    financier's) for a regulator or platform staff naming it."""
    return _subject_of(request, params, kinds=SELLERS | Q(is_financier=True))


@charts.chart_source("seller-cash", authorize=seller)
def seller_cash_source(org: Organization, params: Mapping[str, str]) -> dict[str, Any]:
    currency = _currency(params)
    today = clock.today()
    months = month_starts(today)
    found = cash_by_month(org, currency=currency, today=today)
    zone_name = _zone()[1]

    def values(key: str) -> list[charts.Number]:
        return [found[key].get(m, ZERO) for m in months]

    return charts.data_payload(
        title=_("Cash received and discount paid by month (%(currency)s)") % {"currency": currency},
        kind="bar", category=_("Month"), labels=[m.strftime("%Y-%m") for m in months], unit=currency,
        stacked=True,
        series=[charts.Series("purchase", _("Cash from claims sold"), values("purchase"), stack="cash"),
                charts.Series("settlement", _("Cash from settlements"), values("settlement"), stack="cash"),
                charts.Series("discount", _("Discount paid"), values("discount"), stack="discount")],
        empty=_("No cash received and no discount paid in %(currency)s in the last 12 months.") % {"currency": currency},
        note=_("Months in %(zone)s. Cash received is what reached the organization's cash account (from the "
               "ledger); the discount is face minus price of the claims sold that month.") % {"zone": zone_name},
        as_of=today.isoformat(), timezone_name=zone_name)


# ---------------------------------------------------------------------------------------------------------
# An organization's credit score history
# ---------------------------------------------------------------------------------------------------------


def credit_subject(request: HttpRequest, params: Mapping[str, str]) -> Organization:
    """The organization of ``?org=`` if the viewer may read its credit, as on its credit page; else 404."""
    try:
        return credit.credit_organization_get(user=request.user, organization_id=params.get("org", ""))
    except CreditNotFound:
        raise Http404("No such organization.") from None


@charts.chart_source("organization-score", authorize=credit_subject)
def score_source(org: Organization, params: Mapping[str, str]) -> dict[str, Any]:
    scores = list(credit.credit_scores_of(org).values_list("computed_at", "score")[:SCORE_POINTS])[::-1]
    zone_name = _zone()[1]
    return charts.data_payload(
        title=_("Credit score history of %(name)s") % {"name": org.display_name},
        kind="line", category=_("Computed"), value_type="score",
        labels=[timezone.localtime(at).strftime("%Y-%m-%d %H:%M") for at, _s in scores],
        series=[charts.Series("score", _("Score"), [score for _a, score in scores])],
        empty=_("No score yet."),
        note=_("Scores run from 300 to 850; times in %(zone)s.") % {"zone": zone_name},
        as_of=clock.today().isoformat(), timezone_name=zone_name)


# ---------------------------------------------------------------------------------------------------------
# The JSON view
# ---------------------------------------------------------------------------------------------------------


@require_GET
@login_required
def chart_data(request: HttpRequest, name: str) -> JsonResponse:
    """``/charts/data/<name>/?...``: the named source's payload; 404 for an unknown name or an object out of
    reach, 403 for a viewer the page refuses, 400 naming a bad parameter."""
    source = charts.SOURCES.get(name)
    try:
        if source is None:
            raise Http404("No such chart.")
        payload = source.payload(request, request.GET.dict())
    except ValueError as err:
        return JsonResponse({"detail": str(err), "code": "invalid_parameter"}, status=400)
    except PermissionDenied:
        return JsonResponse({"detail": _("You may not read this chart."), "code": "permission_denied"}, status=403)
    except Http404:
        return JsonResponse({"detail": _("No such chart or organization."), "code": "not_found"}, status=404)
    response = JsonResponse(payload)
    response["Cache-Control"] = "private, no-store"
    return response
