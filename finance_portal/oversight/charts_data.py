"""The regulator's client-side charts (``/charts/data/oversight-volume/``, ``/charts/data/oversight-flags/``):
bills issued by month and state, count or face; open flags by rule and severity.

Regulators and platform staff only, as ``/oversight/charts/`` (``selectors.is_oversight_user``). One grouped
query each, whatever the number of bills. Bills count as in ``stats.volume_by_month`` (a split once, through its
root; never-issued bills not at all), each under its state now, by its issue date (the platform's calendar).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from bills import clock
from bills.models import Bill, BillState
from finance_portal import charts
from finance_portal.money import CURRENCIES
from finance_portal.oversight import selectors, stats
from finance_portal.oversight.models import Severity

MONTHS = 12
MEASURES = ("count", "face")


def oversight(request: HttpRequest, params: Mapping[str, str]) -> None:
    """Regulators and platform staff, as ``/oversight/charts/``; 403 for anyone else."""
    if not selectors.is_oversight_user(request.user):
        raise PermissionDenied("Oversight is for regulators and platform staff.")


def volume_by_month_and_state(*, currency: str, today: dt.date,
                              months: int = MONTHS) -> tuple[list[dt.date], dict[str, dict[dt.date, tuple[int, Decimal]]]]:
    """The ``months`` calendar months ending with ``today``'s, and per state (value) and month the bills
    issued (count, face in ``currency``). One query."""
    first = stats.month_start(today, back=months - 1)
    starts = [stats.month_start(today, back=months - 1 - i) for i in range(months)]
    rows = (Bill.objects.filter(root__isnull=True, currency=currency, issue_date__gte=first,
                                issue_date__lt=stats.month_start(today, back=-1))
            .exclude(state__in=stats.NOT_ISSUED).order_by()
            .annotate(month=TruncMonth("issue_date")).values("month", "state")
            .annotate(n=Count("id"), face_total=Sum("face")))
    found: dict[str, dict[dt.date, tuple[int, Decimal]]] = {}
    for r in rows:
        month = r["month"].date() if isinstance(r["month"], dt.datetime) else r["month"]
        found.setdefault(r["state"], {})[month] = (r["n"], r["face_total"])
    return starts, found


@charts.chart_source("oversight-volume", authorize=oversight)
def volume_source(_subject: None, params: Mapping[str, str]) -> dict[str, Any]:
    measure = params.get("measure") or "count"
    if measure not in MEASURES:
        raise ValueError(_("Unknown measure %(measure)s: use count or face.") % {"measure": measure[:20]})
    currency = (params.get("currency") or settings.DEFAULT_CURRENCY).strip().upper()
    if currency not in CURRENCIES:
        raise ValueError(_("Unknown currency %(code)s.") % {"code": currency[:8]})
    today = clock.today()
    months, found = volume_by_month_and_state(currency=currency, today=today)
    index = 0 if measure == "count" else 1
    zero: tuple[int, Decimal] = (0, Decimal("0.00"))
    series = [charts.Series(state.value, str(state.label),
                            [found[state.value].get(m, zero)[index] for m in months], stack="bills")
              for state in BillState if state.value in found]
    zone = str(timezone.get_default_timezone())
    if measure == "count":
        title = _("Bills issued by month and state now, count (%(currency)s bills)") % {"currency": currency}
    else:
        title = _("Bills issued by month and state now, face (%(currency)s)") % {"currency": currency}
    return charts.data_payload(
        title=title, kind="bar", category=_("Month of issue"), labels=[m.strftime("%Y-%m") for m in months],
        series=series, stacked=True, value_type="count" if measure == "count" else "money",
        unit="" if measure == "count" else currency,
        empty=_("No bills issued in %(currency)s in the last 12 months.") % {"currency": currency},
        note=_("By issue date (%(zone)s), each bill under its state now; a split bill counts once.") % {"zone": zone},
        as_of=today.isoformat(), timezone_name=zone)


@charts.chart_source("oversight-flags", authorize=oversight)
def flags_source(_subject: None, params: Mapping[str, str]) -> dict[str, Any]:
    rows = stats.open_flags_by_rule()
    return charts.data_payload(
        title=_("Open flags by rule and severity"), kind="bar", category=_("Rule"),
        labels=[r.label for r in rows], stacked=True, horizontal=True, value_type="count",
        series=[charts.Series(sev.value, str(Severity(sev).label), [r.by_severity[sev.value] for r in rows],
                              stack="flags") for sev in stats.SEVERITY_ORDER],
        empty=_("No open flags."),
        as_of=clock.today().isoformat(), timezone_name=str(timezone.get_default_timezone()))
