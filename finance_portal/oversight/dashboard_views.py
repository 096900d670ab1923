"""The regulator's charts page, ``/oversight/charts/``: bills by state and by month of issue, purchase rates
by month, open flags by rule, anchoring health and the last reconciliation runs.

Regulators and platform staff only (403 for others, as the other oversight pages). The figures come from
``oversight.stats`` (one aggregate query each); most drawings are inline SVG from ``finance_portal.charts``;
the volume by month and state and the open flags are Chart.js canvases fed by ``oversight.charts_data``, each
with its numbers in a table for readers without script.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from finance_portal import charts
from finance_portal.oversight import stats
from finance_portal.oversight.models import ReconciliationRun
from finance_portal.oversight.views import oversight_only

HUNDRED = Decimal(100)


def percent(value: charts.Number) -> str:
    """A rate already in percent, two decimals: ``Decimal("3.6")`` → ``3.60``."""
    return f"{Decimal(value).quantize(Decimal('0.01'))}"


def duration(seconds: int | None) -> str:
    """``None`` → "none waiting"; else the largest two units: "2 h 5 min", "40 s" (never below "0 s")."""
    if seconds is None:
        return _("none waiting")
    seconds = max(seconds, 0)  # a clock a little behind another's is no negative delay
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = ((days, _("%(n)s d")), (hours, _("%(n)s h")), (minutes, _("%(n)s min")), (secs, _("%(n)s s")))
    parts = [unit % {"n": n} for n, unit in units if n]
    return " ".join(parts[:2]) or _("%(n)s s") % {"n": 0}


def _month(month: dt.date) -> str:
    return month.strftime("%Y-%m")


def _local(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def state_chart() -> SafeString:
    rows = stats.bills_by_state()
    return charts.bar_chart(title=_("Bills by state now"), bars=[(r.label, r.count) for r in rows],
                            empty=_("No bills yet."))


def rates_chart() -> SafeString:
    rows = stats.financing_rates_by_month()
    points = [charts.Point(_month(r.month), _pct(r.median), _pct(r.low), _pct(r.high)) for r in rows]
    return charts.line_chart(title=_("Purchase rates by month: median, with the lowest and highest"),
                             points=points, fmt=percent, unit="%", empty=_("No purchases in the last 12 months."),
                             gap=_("no purchase"))


def _pct(rate: Decimal | None) -> Decimal | None:
    return None if rate is None else rate * HUNDRED


def anchoring_chart(health: stats.AnchoringHealth) -> SafeString:
    return charts.bar_chart(title=_("Anchoring outbox and transactions now"), bars=[
        (_("Records pending"), health.pending), (_("Records sent, not confirmed"), health.sent),
        (_("Records failed"), health.failed), (_("Transactions in flight"), health.live_transactions),
        (_("Transactions stuck (operator needed)"), health.stuck_transactions),
    ], css="attention")


def anchored_per_day_chart() -> SafeString:
    rows = stats.anchoring_by_day()
    return charts.bar_chart(
        title=_("Records anchored per day, last 14 days, with the median delay"),
        bars=[(_("%(day)s · median delay %(delay)s") % {
            "day": f"{r.day:%Y-%m-%d}", "delay": duration(int(r.median_delay.total_seconds()))}, r.anchored)
              for r in rows],
        empty=_("Nothing anchored in the last 14 days."))


def reconciliation_chart(runs: list[ReconciliationRun]) -> SafeString:
    matched, mismatched = _("matched"), _("mismatched")
    return charts.stacked_bar_chart(
        title=_("Reconciliation runs: bills checked and mismatches"),
        rows=[(f"{_local(run.started_at)} · {run.get_trigger_display().lower()}",
               [charts.Segment(matched, max(run.bills_checked - run.mismatches, 0)),
                charts.Segment(mismatched, run.mismatches)]) for run in runs],
        series=[matched, mismatched], css="reconciliation", empty=_("No reconciliation run yet."))


def run_status(run: ReconciliationRun | None) -> dict[str, Any] | None:
    """The latest run in words: its state (running, failed, mismatches, agrees) and its figures."""
    if run is None:
        return None
    if run.finished_at is None:
        state, text = "running", _("running")
    elif run.error:
        state, text = "failed", _("stopped early: %(error)s") % {"error": run.error}
    elif run.mismatches:
        text = ngettext("%(count)s bill differs from the chain", "%(count)s bills differ from the chain",
                        run.mismatches) % {"count": run.mismatches}
        state = "mismatch"
    else:
        state, text = "ok", _("database and chain agree")
    return {"run": run, "state": state, "text": text, "started": _local(run.started_at),
            "finished": _local(run.finished_at) if run.finished_at else None}


@oversight_only
def charts_page(request: HttpRequest) -> HttpResponse:
    currency = settings.DEFAULT_CURRENCY
    health = stats.anchoring_health()
    runs = stats.reconciliation_runs()
    flags = stats.open_flags_by_rule()
    return render(request, "oversight/charts.html", {
        "title": _("Oversight charts"),
        "currency": currency,
        "charts": {
            # Volume by month and state, and open flags: client-side charts (finance_portal.oversight.charts_data).
            "states": state_chart(), "rates": rates_chart(), "anchoring": anchoring_chart(health),
            "anchored_per_day": anchored_per_day_chart(), "reconciliation": reconciliation_chart(runs),
        },
        "open_flags": sum(r.total for r in flags),
        "health": health,
        "lag": duration(health.lag_seconds),
        "latest_run": run_status(runs[-1] if runs else None),
    })
