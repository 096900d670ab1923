"""The SVG chart module (pure: empty data, one point, zero and negative values, escaping) and the regulator's
charts page (``/oversight/charts/``): right figures from bills made through the services; 403 for others."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bills import clock
from bills.models import Bill
from chain_adapter.models import AnchorRecord, AnchorStatus
from finance_portal import charts
from finance_portal.oversight import stats
from finance_portal.oversight.dashboard_views import duration
from finance_portal.oversight.models import OversightFlag, ReconciliationRun, Rule, Severity
from tests.bills.factories import accepted, draft, financed
from tests.conftest import login

PAGE = "/oversight/charts/"


def aria(svg: str) -> str:
    m = re.search(r'aria-label="([^"]*)"', svg)
    assert m is not None
    return m.group(1)


def svgs(html: str) -> list[str]:
    return re.findall(r"<svg .*?</svg>", html, flags=re.S)


# ---------------------------------------------------------------------------------------------------------
# The chart module
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("draw", [
    lambda: charts.bar_chart(title="T", bars=[], empty="Nothing here."),
    lambda: charts.stacked_bar_chart(title="T", rows=[], empty="Nothing here."),
    lambda: charts.line_chart(title="T", points=[], empty="Nothing here."),
])
def test_empty_data_draws_an_accessible_note_not_an_error(draw):
    svg = str(draw())
    assert svg.startswith('<svg class="chart chart-empty" role="img"')
    assert aria(svg) == "T: Nothing here."
    assert ">Nothing here.</text>" in svg
    assert "<rect" not in svg and "<circle" not in svg


def test_a_bar_chart_prints_each_value_as_text_and_in_a_tooltip():
    svg = str(charts.bar_chart(title="Bills", bars=[("Accepted", 3), ("Listed", 1)]))
    assert 'role="img"' in svg and aria(svg) == "Bills: Accepted 3; Listed 1"
    assert svg.count("<rect") == 2
    assert "<title>Accepted: 3</title>" in svg and '<text class="chart-value"' in svg
    assert re.findall(r'class="chart-value"[^>]*>([^<]*)<', svg) == ["3", "1"]


def test_bar_lengths_are_proportional_and_zero_gets_a_hairline():
    svg = str(charts.bar_chart(title="T", bars=[("a", 4), ("b", 2), ("c", 0)]))
    widths = [float(w) for w in re.findall(r'<rect class="series-0" x="[^"]+" y="[^"]+" width="([^"]+)"', svg)]
    assert widths[0] == pytest.approx(2 * widths[1])
    assert widths[2] == 1


def test_negative_values_extend_left_of_a_zero_line():
    svg = str(charts.bar_chart(title="T", bars=[("up", 5), ("down", Decimal("-5"))]))
    assert 'class="series-0 negative"' in svg and '<line class="chart-axis"' in svg
    xs = [float(x) for x in re.findall(r'<rect class="series-0[^"]*" x="([^"]+)"', svg)]
    assert xs[1] < xs[0]  # the negative bar starts left of zero
    assert "<title>down: -5</title>" in svg


def test_decimal_money_is_printed_with_its_own_digits_never_through_a_float():
    svg = str(charts.bar_chart(title="Face", bars=[("2026-01", Decimal("1234567.10"))], unit=" CNY"))
    assert ">1,234,567.10 CNY</text>" in svg
    assert charts.fmt_number(Decimal("0.10")) == "0.10" and charts.fmt_number(1234) == "1,234"


def test_one_point_line_chart_centres_its_dot_and_prints_its_value():
    svg = str(charts.line_chart(title="Score", points=[charts.Point("2026-11-25", 602)]))
    assert svg.count("<circle") == 1 and "<polyline" not in svg
    assert f'cx="{charts.LEFT + (charts.WIDTH - charts.LEFT - charts.RIGHT) // 2}"' in svg  # the middle of the plot
    assert "<title>2026-11-25: 602</title>" in svg and ">602</text>" in svg


def test_a_line_chart_has_one_dot_per_point_and_draws_ranges():
    points = [charts.Point(f"m{i}", Decimal(i), Decimal(i) - 1, Decimal(i) + 1) for i in range(-1, 3)]
    svg = str(charts.line_chart(title="Rates", points=points, unit="%"))
    assert svg.count("<circle") == 4 and svg.count('class="chart-range"') == 4
    assert svg.count("<polyline") == 1
    assert "m-1: -1% (range -2%–0%)" in svg
    ticks = [Decimal(t.rstrip("%")) for t in re.findall(r'class="chart-tick"[^>]*>([^<]*)<', svg) if t.endswith("%")]
    assert ticks[0] <= -2 and ticks[-1] >= 3  # the axis covers the lowest and the highest of the ranges


def test_all_equal_values_still_make_a_scale():
    svg = str(charts.line_chart(title="Flat", points=[charts.Point("a", 0), charts.Point("b", 0)]))
    assert "nan" not in svg.lower() and "inf" not in svg.lower()
    assert svg.count("<circle") == 2


@pytest.mark.parametrize("n", [7, 30, 200])
def test_x_labels_never_overlap_and_the_first_and_last_are_shown(n):
    points = [charts.Point(f"2026-01-{i:04}", i) for i in range(n)]
    svg = str(charts.line_chart(title="Long", points=points))
    labels = re.findall(r'x="([^"]+)" y="[^"]+" text-anchor="middle">(2026-01-\d+)<', svg)
    assert labels[0][1] == points[0].label and labels[-1][1] == points[-1].label
    xs = [float(x) for x, _ in labels]
    width = len(points[0].label) * charts.TICK_CHAR
    assert all(b - a >= width for a, b in zip(xs, xs[1:], strict=False))
    assert xs[0] >= width / 2 and xs[-1] <= charts.WIDTH - width / 2  # inside the drawing


def test_every_text_is_escaped_in_labels_titles_and_series():
    evil = '<script>alert("x")</script> & Co'
    svgs_ = [
        str(charts.bar_chart(title=evil, bars=[(evil, 1)])),
        str(charts.stacked_bar_chart(title=evil, rows=[(evil, [charts.Segment(evil, 1), charts.Segment("b", 2)])])),
        str(charts.line_chart(title=evil, points=[charts.Point(evil, 1)], unit=evil)),
    ]
    for svg in svgs_:
        assert "<script" not in svg
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in svg


def test_a_stacked_bar_prints_its_total_and_parts_and_a_legend():
    svg = str(charts.stacked_bar_chart(title="Flags", series=["high", "medium", "low"], rows=[
        ("Rule A", [charts.Segment("high", 2), charts.Segment("medium", 0), charts.Segment("low", 1)]),
        ("Rule B", [charts.Segment("high", 0), charts.Segment("medium", 0), charts.Segment("low", 0)]),
    ]))
    assert ">3: 2 high, 1 low</text>" in svg and ">0</text>" in svg
    assert [t for t in re.findall(r'class="chart-legend"[^>]*>([^<]*)<', svg)] == ["high", "medium", "low"]
    assert aria(svg) == "Flags: Rule A 3, high 2, low 1; Rule B 0"
    assert 'class="series-2"' in svg  # "low" keeps its colour class whatever the order of segments


# ---------------------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def business(world):  # type: ignore[no-untyped-def]
    """Two accepted bills, two financed at 3.6 % and 4.8 %, one draft; two open flags (high, low) and an
    acknowledged one. The flags are written as rows: the rules and their sweep are tested in test_sweep.py."""
    accepted(world, "10000.00")
    second = accepted(world, "20000.00")
    financed(world, "30000.00", rate="0.036")
    financed(world, "40000.00", rate="0.048", buyer="financier2")
    draft(world, "5000.00")
    now = timezone.now()
    for subject, severity, acknowledged in (("a", Severity.HIGH, False), ("b", Severity.LOW, False),
                                            ("c", Severity.HIGH, True)):
        OversightFlag.objects.create(
            rule=Rule.CHAIN_MISMATCH, subject=f"bill:{subject}", bill=second, severity=severity, explanation="x",
            first_seen=now, last_seen=now, acknowledged_at=now if acknowledged else None,
            acknowledged_by=world.user("regulator") if acknowledged else None,
            acknowledgement_note="seen" if acknowledged else "")
    return world


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["supplier", "buyer", "financier"])
def test_traders_are_refused(world, client, username):
    login(client, username)
    assert client.get(PAGE).status_code == 403


@pytest.mark.django_db
def test_signed_out_visitors_go_to_the_login_page(world, client):
    assert client.get(PAGE).status_code == 302


@pytest.mark.django_db
def test_platform_staff_see_the_page(world, client):
    login(client, "admin")
    assert client.get(PAGE).status_code == 200


@pytest.mark.django_db
def test_the_regulator_sees_the_right_figures(business, client):
    login(client, "regulator")
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # scripts from files only, none inline
    drawn = {aria(svg).split(":")[0]: aria(svg) for svg in svgs(html)}
    assert len(drawn) == 5  # volume and flags are client-side charts (tests/foundation/test_chart_data.py)

    states = drawn["Bills by state now"]
    assert "Draft 1" in states and "Accepted by the debtor 2" in states and "Financed 2" in states

    month = clock.today().strftime("%Y-%m")
    volume = client.get("/charts/data/oversight-volume/?measure=face").json()
    at = volume["labels"].index(month)
    assert sum(Decimal(d["values"][at]) for d in volume["datasets"]) == Decimal("100000.00")
    assert 'data-chart-url="/charts/data/oversight-volume/?measure=count&amp;currency=CNY"' in html

    rates = drawn["Purchase rates by month"]
    assert f"{timezone.localtime().strftime('%Y-%m')} 4.20% (range 3.60–4.80)" in rates

    flags = client.get("/charts/data/oversight-flags/").json()
    row = flags["labels"].index("Database history differs from the chain")
    assert {d["key"]: d["values"][row] for d in flags["datasets"]} == {"high": 1, "medium": 0, "low": 1}
    assert all(d["values"][flags["labels"].index("Tenor beyond the limit")] == 0 for d in flags["datasets"])
    assert "<th scope=\"row\">Database history differs from the chain</th>" in html  # the table without script

    pending = AnchorRecord.objects.exclude(status=AnchorStatus.CONFIRMED).count()
    anchoring = drawn["Anchoring outbox and transactions now"]
    waiting = AnchorRecord.objects.filter(status=AnchorStatus.PENDING).count()
    assert f"Records pending {waiting};" in anchoring
    if pending:
        assert "none waiting" not in html.split("Anchoring lag")[1].split("</dd>")[0]

    assert "No reconciliation run yet." in drawn["Reconciliation runs"]


@pytest.mark.django_db
def test_the_page_shows_the_last_reconciliation_runs_and_the_latest_status(world, client):
    now = timezone.now()
    ReconciliationRun.objects.create(started_at=now - timezone.timedelta(hours=2), finished_at=now, trigger="schedule",
                                     bills_checked=10, events_checked=40, mismatches=0)
    ReconciliationRun.objects.create(started_at=now - timezone.timedelta(hours=1), finished_at=now, trigger="manual",
                                     bills_checked=12, events_checked=50, mismatches=2)
    login(client, "regulator")
    html = client.get(PAGE).content.decode()
    drawn = [aria(svg) for svg in svgs(html) if aria(svg).startswith("Reconciliation runs")][0]
    assert drawn.count("matched") >= 2
    assert "schedule 10, matched 10" in drawn and "manual 12, matched 10, mismatched 2" in drawn
    assert "2 bills differ from the chain" in html


@pytest.mark.django_db
def test_the_median_of_an_even_count_is_exact_in_sql(world):
    for rate in ("0.030", "0.031", "0.040", "0.050"):
        financed(world, "10000.00", rate=rate)
    [month] = stats.financing_rates_by_month()
    assert month.purchases == 4
    assert month.median == Decimal("0.0355") and isinstance(month.median, Decimal)
    assert (month.low, month.high) == (Decimal("0.03"), Decimal("0.05"))


def queries(client) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(PAGE).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_the_charts_page_costs_the_same_queries_whatever_the_bills(world, client):
    login(client, "regulator")
    accepted(world)
    financed(world)
    before = queries(client)
    for _ in range(3):
        accepted(world)
        financed(world, rate="0.05")
    assert queries(client) == before
    assert Bill.objects.count() == 8


def test_a_value_too_long_for_the_room_left_is_kept_inside_the_chart():
    svg = str(charts.bar_chart(title="T", bars=[("a", 10**12), ("b", 1)], unit=" a very long unit name indeed"))
    values = re.findall(r'<text class="chart-value[^"]*" x="([^"]+)"[^>]*>([^<]*)<', svg)
    assert values[0] == (str(charts.WIDTH - charts.PAD), "1,000,000,000,000 a very long unit name indeed")
    assert 'class="chart-value inside"' in svg and 'text-anchor="end"' in svg


@pytest.mark.django_db
def test_anchored_per_day_counts_confirmed_records_with_their_median_delay(world, client):
    accepted(world)  # three events: create, submit, accept
    records = list(AnchorRecord.objects.order_by("id"))
    assert len(records) >= 3
    for record, seconds in zip(records, (2, 4, 10), strict=False):
        AnchorRecord.objects.filter(pk=record.pk).update(
            status=AnchorStatus.CONFIRMED, block_number=1, confirmed_at=record.created_at + dt.timedelta(seconds=seconds))
    [day] = stats.anchoring_by_day()
    assert day.anchored == 3 and day.median_delay == dt.timedelta(seconds=4)
    login(client, "regulator")
    html = client.get(PAGE).content.decode()
    label = f"{day.day:%Y-%m-%d} · median delay 4 s 3"
    assert label in [aria(svg) for svg in svgs(html) if aria(svg).startswith("Records anchored per day")][0]


def test_durations_read_in_two_units_and_never_below_zero():
    assert [duration(s) for s in (None, -5, 0, 40, 3725, 90061)] == [
        "none waiting", "0 s", "0 s", "40 s", "1 h 2 min", "1 d 1 h"]


@pytest.mark.django_db
def test_months_without_bills_or_purchases_are_zero_bars_and_gaps_in_the_line(world, client):
    two_months_ago = stats.month_start(timezone.localdate(), back=2) + dt.timedelta(days=14)
    with clock.travel_to(timezone.make_aware(dt.datetime.combine(two_months_ago, dt.time(12)))):
        financed(world, "10000.00", rate="0.04")
    financed(world, "20000.00", rate="0.05")
    volume = stats.volume_by_month()
    rates = stats.financing_rates_by_month()
    assert len(volume) == len(rates) == 3  # two months ago, last month, this month
    assert [v.count for v in volume] == [1, 0, 1] and volume[1].face == Decimal("0.00")
    assert [r.purchases for r in rates] == [1, 0, 1] and rates[1].median is None
    login(client, "regulator")
    html = client.get(PAGE).content.decode()
    [line] = [svg for svg in svgs(html) if aria(svg).startswith("Purchase rates by month")]
    assert line.count("<circle") == 2 and "<polyline" not in line  # no line drawn across the empty month
    assert f"{rates[1].month:%Y-%m} no purchase" in aria(line)
    counts = client.get("/charts/data/oversight-volume/?measure=count").json()  # the volume is a client-side chart
    at = counts["labels"].index(f"{volume[1].month:%Y-%m}")
    assert [sum(d["values"][i] for d in counts["datasets"]) for i in (at - 1, at, at + 1)] == [1, 0, 1]


def test_month_arithmetic_crosses_years():
    assert stats.month_start(dt.date(2026, 1, 20), back=1) == dt.date(2025, 12, 1)
    assert stats.month_start(dt.date(2026, 1, 20), back=12) == dt.date(2025, 1, 1)
    assert stats.month_start(dt.date(2025, 12, 5), back=-1) == dt.date(2026, 1, 1)
