"""The credit score formula (version ``v2``): pure arithmetic on a profile's numbers, no I/O, no black box.

The one thing to know: the score is ``BASE`` plus the points of each factor, clamped to 300–850, and every
factor's contribution is returned with a reason a person can read, so the stored factors always add up to the
score (a ``bounds`` factor records any clamping). ``sme_credit/README.md`` has the same table and a worked
example that ``tests/sme_credit/test_scoring.py`` checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

FORMULA = "v2"  # v2 added the disputes factor
BASE = 600
SCORE_MIN = 300
SCORE_MAX = 850
# Concentration is judged only for an organization that drew at least this many bills.
CONCENTRATION_MIN_BILLS = 3


@dataclass(frozen=True)
class ScoreInputs:
    settled_on_time: int
    settled_late: int
    days_late_total: int
    days_late_max: int
    overdue: int
    defaulted: int
    bills_count: int
    bills_drawn: int  # bills it drew as creditor (in the default currency), for concentration
    largest_debtor_share: Decimal
    age_days: int
    invoices_disputed: int = 0  # invoices it sold that their buyer disputes


def _signed(points: int) -> str:
    if points > 0:
        return f"+{points}"
    if points < 0:
        return f"\u2212{-points}"  # a real minus sign
    return "0"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _factor(name: str, value: object, points: int, what: str) -> dict[str, object]:
    return {"factor": name, "value": value, "points": points, "reason": f"{what}: {_signed(points)}"}


def score_of(p: ScoreInputs) -> tuple[int, list[dict[str, object]]]:
    """The score of ``p`` and its factors ``[{factor, value, points, reason}]``, the base first.

    | factor          | points                                                       |
    |-----------------|--------------------------------------------------------------|
    | base            | 600                                                          |
    | on_time         | +10 per bill it owed settled on time, at most +100           |
    | late            | −15 per bill it owed settled late, at most −150              |
    | days_late       | −1 per day late in total, at most −100                       |
    | overdue         | −40 per bill it owes overdue now, at most −160               |
    | defaulted       | −100 per bill it owes in default, at most −300               |
    | track_record    | +2 per bill it drew or owes, at most +40                     |
    | concentration   | −30 if one debtor owes ≥ 80 % of what it drew, −15 if ≥ 50 % |
    |                 | (only with at least 3 bills drawn)                           |
    | age             | +10 per full 90 days on the platform, at most +50            |
    | disputes        | −20 per invoice it sold that its buyer disputes, at most −100 |
    | bounds          | whatever clamps the total to 300–850                         |
    """
    factors = [{"factor": "base", "value": BASE, "points": BASE, "reason": f"Base score: {BASE}"}]
    on_time = min(10 * p.settled_on_time, 100)
    factors.append(_factor("on_time", p.settled_on_time, on_time,
                           f"{_plural(p.settled_on_time, 'bill')} settled on time"))
    late = -min(15 * p.settled_late, 150)
    factors.append(_factor("late", p.settled_late, late, f"{_plural(p.settled_late, 'bill')} settled late"))
    days = -min(p.days_late_total, 100)
    worst = f" (worst {_plural(p.days_late_max, 'day')})" if p.days_late_total else ""
    factors.append(_factor("days_late", p.days_late_total, days,
                           f"{_plural(p.days_late_total, 'day')} late in total{worst}"))
    overdue = -min(40 * p.overdue, 160)
    factors.append(_factor("overdue", p.overdue, overdue, f"{_plural(p.overdue, 'bill')} overdue now"))
    defaulted = -min(100 * p.defaulted, 300)
    factors.append(_factor("defaulted", p.defaulted, defaulted, f"{_plural(p.defaulted, 'bill')} in default"))
    track = min(2 * p.bills_count, 40)
    factors.append(_factor("track_record", p.bills_count, track,
                           f"{_plural(p.bills_count, 'bill')} drawn or owed on the platform"))
    share = p.largest_debtor_share
    percent = f"{(share * 100).quantize(Decimal('1'))} %"
    if p.bills_drawn < CONCENTRATION_MIN_BILLS:
        factors.append(_factor("concentration", str(share), 0,
                               f"{_plural(p.bills_drawn, 'bill')} drawn, too few to judge concentration"))
    else:
        points = -30 if share >= Decimal("0.8") else -15 if share >= Decimal("0.5") else 0
        factors.append(_factor("concentration", str(share), points,
                               f"The largest debtor owes {percent} of the face drawn"))
    age = min(10 * (p.age_days // 90), 50)
    factors.append(_factor("age", p.age_days, age, f"{_plural(p.age_days, 'day')} on the platform"))
    disputes = -min(20 * p.invoices_disputed, 100)
    factors.append(_factor("disputes", p.invoices_disputed, disputes,
                           f"{_plural(p.invoices_disputed, 'invoice')} disputed by the buyer"))
    total = sum(int(f["points"]) for f in factors)  # type: ignore[call-overload]
    clamped = max(SCORE_MIN, min(SCORE_MAX, total))
    if clamped != total:
        factors.append(_factor("bounds", total, clamped - total, f"Kept within {SCORE_MIN}–{SCORE_MAX}"))
    return clamped, factors
