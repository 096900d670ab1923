"""Figures of the oversight charts page (``dashboard_views.charts``): bills by state and by month of issue,
purchase rates by month, open flags by rule, anchoring health and the last reconciliation runs.

A newcomer must know one thing: each figure is one aggregate query (``annotate``/``aggregate``, months by
``TruncMonth``), so the page costs the same number of queries whatever the number of bills; amounts and
rates stay ``Decimal`` here (the chart module turns them into coordinates, never into printed numbers).
Months are calendar months in ``settings.TIME_ZONE``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Aggregate, Count, DecimalField, DurationField, F, Max, Min, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from bills.models import Bill, BillPurchase, BillState
from chain_adapter.models import AnchorRecord, AnchorStatus
from chain_adapter.selectors import anchoring_backlog
from finance_portal.oversight.models import OversightFlag, ReconciliationRun, Rule, Severity

# Bills that never became a debtor's undertaking: they count for no month's volume.
NOT_ISSUED = (BillState.DRAFT, BillState.SUBMITTED, BillState.REJECTED, BillState.CANCELLED)


class Median(Aggregate):
    """The exact median of a column, in the column's own type (``numeric`` stays exact, ``interval`` works too):
    the mean of the lower and the upper middle value (``PERCENTILE_DISC`` ascending and descending), one and
    the same value for an odd count. No ``filter``: filter the queryset instead."""

    name = "Median"

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, function: str | None = None,
               template: str | None = None, arg_joiner: str | None = None,
               **extra_context: Any) -> tuple[str, tuple[str | int, ...]]:
        if self.filter is not None:
            raise NotImplementedError("Median takes no filter; filter the queryset.")
        sql, params = compiler.compile(self.get_source_expressions()[0])
        params = tuple(params)
        return (f"((PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY {sql}) "
                f"+ PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY {sql} DESC)) / 2)", (*params, *params))


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int


def bills_by_state() -> list[StateCount]:
    """Every bill (split parts included) by its state now, in the state machine's order; states with none left out."""
    counts = dict(Bill.objects.order_by().values_list("state").annotate(n=Count("id")))
    return [StateCount(s.value, str(s.label), counts[s.value]) for s in BillState if counts.get(s.value)]


@dataclass(frozen=True)
class MonthVolume:
    month: dt.date
    count: int
    face: Decimal


def volume_by_month(*, currency: str | None = None, months: int = 12) -> list[MonthVolume]:
    """Bills issued per month (by ``issue_date``) in the last ``months`` calendar months, count and face in
    ``currency`` (the default currency), every month from the first with any to this one (zero for a month
    without). A split counts once, through its root; bills never accepted or issued (draft, submitted,
    rejected, cancelled) count for no month."""
    currency = currency or settings.DEFAULT_CURRENCY
    since = month_start(timezone.localdate(), back=months - 1)
    rows = (Bill.objects.filter(root__isnull=True, currency=currency, issue_date__gte=since)
            .exclude(state__in=NOT_ISSUED).annotate(month=TruncMonth("issue_date")).order_by().values("month")
            .annotate(n=Count("id"), face=Sum("face")).order_by("month"))
    found = {r["month"]: MonthVolume(r["month"], r["n"], r["face"]) for r in rows}
    return [found.get(m) or MonthVolume(m, 0, Decimal("0.00")) for m in months_through_now(found)]


@dataclass(frozen=True)
class MonthRates:
    month: dt.date
    purchases: int
    median: Decimal | None  # None: no purchase that month
    low: Decimal | None
    high: Decimal | None


RATE_STEP = Decimal("0.0000001")  # rates have 6 decimals; a median of two may need one more


def financing_rates_by_month(*, months: int = 12) -> list[MonthRates]:
    """The annual discount rates of purchases (``BillPurchase.rate``, a fraction) per month of purchase in the
    last ``months`` calendar months: median, lowest and highest; every month from the first with a purchase
    to this one (a month without is ``purchases=0`` and no rates)."""
    since = month_start(timezone.localdate(), back=months - 1)
    start = timezone.make_aware(dt.datetime.combine(since, dt.time.min))
    rows = (BillPurchase.objects.filter(purchased_at__gte=start).annotate(month=TruncMonth("purchased_at"))
            .order_by().values("month")
            .annotate(n=Count("id"), median=Median("rate", output_field=DecimalField()),
                      low=Min("rate"), high=Max("rate"))
            .order_by("month"))
    found = {_as_date(r["month"]): MonthRates(_as_date(r["month"]), r["n"], r["median"].quantize(RATE_STEP),
                                               r["low"], r["high"]) for r in rows}
    return [found.get(m) or MonthRates(m, 0, None, None, None) for m in months_through_now(found)]


def month_start(day: dt.date, *, back: int = 0) -> dt.date:
    """The first day of ``day``'s month, or of the month ``back`` months before it."""
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def months_through_now(found: Iterable[dt.date]) -> list[dt.date]:
    """Every month start from the earliest in ``found`` to this month (or the latest found, if later)."""
    found = sorted(found)
    if not found:
        return []
    last = max(found[-1], month_start(timezone.localdate()))
    months, m = [], found[0]
    while m <= last:
        months.append(m)
        m = month_start(m, back=-1)
    return months


def _as_date(month: dt.date | dt.datetime) -> dt.date:
    return month.date() if isinstance(month, dt.datetime) else month


@dataclass(frozen=True)
class RuleFlags:
    rule: str
    label: str
    by_severity: dict[str, int]  # severity value → open flags, high first

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())


SEVERITY_ORDER = (Severity.HIGH, Severity.MEDIUM, Severity.LOW)


def open_flags_by_rule() -> list[RuleFlags]:
    """Open (unacknowledged) flags per rule and severity; every rule listed, in the rule book's order."""
    counts: dict[str, dict[str, int]] = {}
    for rule, severity, n in (OversightFlag.objects.filter(acknowledged_at__isnull=True).order_by()
                              .values_list("rule", "severity").annotate(n=Count("id"))):
        counts.setdefault(rule, {})[severity] = n
    return [RuleFlags(r.value, str(r.label), {s.value: counts.get(r.value, {}).get(s.value, 0) for s in SEVERITY_ORDER})
            for r in Rule]


@dataclass(frozen=True)
class AnchoringHealth:
    pending: int
    sent: int
    failed: int
    confirmed: int
    live_transactions: int
    stuck_transactions: int
    oldest_unanchored_at: dt.datetime | None

    @property
    def lag(self) -> dt.timedelta | None:
        """The age of the oldest record not anchored yet (pending, sent or failed); None when all are."""
        return None if self.oldest_unanchored_at is None else timezone.now() - self.oldest_unanchored_at

    @property
    def lag_seconds(self) -> int | None:
        lag = self.lag
        return None if lag is None else max(0, int(lag.total_seconds()))


def anchoring_health() -> AnchoringHealth:
    """The anchoring outbox now: records by status, live and stuck transactions, the oldest unanchored record."""
    backlog = anchoring_backlog()
    more = AnchorRecord.objects.aggregate(
        confirmed=Count("id", filter=Q(status=AnchorStatus.CONFIRMED)),
        oldest=Min("created_at", filter=~Q(status=AnchorStatus.CONFIRMED)),
    )
    return AnchoringHealth(
        pending=backlog.pending, sent=backlog.sent, failed=backlog.failed, confirmed=more["confirmed"],
        live_transactions=backlog.live_transactions, stuck_transactions=backlog.stuck_transactions, oldest_unanchored_at=more["oldest"],
    )


@dataclass(frozen=True)
class DayAnchoring:
    day: dt.date
    anchored: int
    median_delay: dt.timedelta  # from the outbox write to the confirmation on chain


def anchoring_by_day(*, days: int = 14) -> list[DayAnchoring]:
    """Records confirmed on chain per day over the last ``days`` days (days with none left out), with the
    median delay from outbox write to confirmation: the anchoring lag as it was, day by day."""
    since = timezone.now() - dt.timedelta(days=days)
    rows = (AnchorRecord.objects.filter(status=AnchorStatus.CONFIRMED, confirmed_at__gte=since)
            .annotate(day=TruncDate("confirmed_at")).order_by().values("day")
            .annotate(n=Count("id"), delay=Median(F("confirmed_at") - F("created_at"), output_field=DurationField()))
            .order_by("day"))
    return [DayAnchoring(r["day"], r["n"], r["delay"]) for r in rows]


def reconciliation_runs(*, last: int = 12) -> list[ReconciliationRun]:
    """The last ``last`` reconciliation runs, oldest first (for a chart read left to right)."""
    return list(reversed(ReconciliationRun.objects.order_by("-started_at", "-id")[:last]))
