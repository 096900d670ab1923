"""Server-rendered SVG charts: horizontal bars, stacked horizontal bars and a line chart, from plain data.

Pure functions, no database and no JavaScript: each returns one ``<svg role="img" aria-label=...>`` string
(``SafeString``) for a template to drop in. A newcomer must know one thing: every piece of text that reaches
the SVG (labels, titles, series names) goes through ``escape``; values are ``int`` or ``Decimal`` in and are
turned into ``float`` only for coordinates, never for the numbers printed. Every value is printed as text
beside its mark and repeated in a ``<title>`` tooltip, so a chart reads without colour. Colours come from the
classes in ``finance_portal/static/css/charts.css`` (``series-0``…``series-5``).

The drawing is sized for a phone: a ``viewBox`` 400 units wide scaled to the container, so 13-unit text
stays about 11 px on a 390 px screen; the stylesheet caps the width on a desktop.

The second half is the data of the client-side charts (Chart.js, drawn by ``static/js/charts.js``): a chart
*source* is registered by name with ``@chart_source("name", authorize=...)``: ``authorize`` applies the rule of
the page that shows the chart (``Http404``/``PermissionDenied``) and returns its subject, the decorated function
builds ``data_payload(...)`` from it (``ValueError`` for a bad parameter). The JSON view
(``/charts/data/<name>/``) and the ``{% data_chart %}`` tag that puts the canvas and its fallback table on a
page call the same source, so the table a screen reader gets is the data the chart draws. Amounts travel as
decimal strings, never floats.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

Number = int | Decimal
Formatter = Callable[[Number], str]

WIDTH = 400
FONT = 13
PAD = 8
SERIES_CLASSES = 6


def fmt_number(value: Number) -> str:
    """``1234`` → ``1,234``; ``Decimal("1234.5")`` → ``1,234.5`` (the Decimal's own digits, grouped)."""
    if isinstance(value, Decimal):
        return f"{value:,f}"
    return f"{value:,}"


def _f(value: float) -> str:
    """A coordinate, short."""
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _svg(*, title: str, summary: str, height: float, body: list[str], css: str) -> SafeString:
    label = f"{title}: {summary}" if summary else title
    classes = escape(" ".join(["chart", *css.split()]))
    return mark_safe(  # noqa: S308 - every text below went through escape()
        f'<svg class="{classes}" role="img" aria-label="{escape(label)}" viewBox="0 0 {WIDTH} {_f(height)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="{FONT}"><title>{escape(label)}</title>'
        + "".join(body) + "</svg>"
    )


def _empty(title: str, message: str) -> SafeString:
    return _svg(title=title, summary=message, height=40, css="chart-empty", body=[
        f'<text class="chart-note" x="{PAD}" y="25">{escape(message)}</text>'])


def _scale(values: Sequence[Number]) -> tuple[float, float]:
    """The [low, high] the axis covers: the values and zero, never an empty span."""
    low = min([0.0, *(float(v) for v in values)])
    high = max([0.0, *(float(v) for v in values)])
    if high == low:
        high = low + 1
    return low, high


# ---------------------------------------------------------------------------------------------------------
# Horizontal bars: one row per category, its label above the bar and its value printed at the bar's end
# ---------------------------------------------------------------------------------------------------------

ROW = 38  # label line + bar
BAR = 14
CHAR = FONT * 0.62  # the width of a character, about, for keeping room beside the bars


def _value_room(texts: Sequence[str]) -> float:
    """Room kept right of the longest bar for the printed values: the longest text, within [40, 0.6 × WIDTH]."""
    return min(max([40.0, *(len(t) * CHAR + 8 for t in texts)]), WIDTH * 0.6)


def _value_text(x: float, y: float, text: str) -> str:
    """A bar's printed value just right of its end; one too long for the room left is right-aligned on the
    chart's edge instead, over the bar, with a halo (``.inside`` in the stylesheet) to stay readable."""
    if x + len(text) * CHAR > WIDTH - PAD:
        return (f'<text class="chart-value inside" x="{WIDTH - PAD}" y="{_f(y)}" text-anchor="end">'
                f"{escape(text)}</text>")
    return f'<text class="chart-value" x="{_f(x)}" y="{_f(y)}">{escape(text)}</text>'


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar: the series it belongs to and its value (≥ 0)."""

    series: str
    value: Number


def bar_chart(*, title: str, bars: Sequence[tuple[str, Number]], fmt: Formatter = fmt_number,
              unit: str = "", empty: str = "No data yet.", css: str = "") -> SafeString:
    """One horizontal bar per ``(label, value)``; negative values extend left of the zero line."""
    if not bars:
        return _empty(title, empty)
    low, high = _scale([v for _, v in bars])
    span = WIDTH - 2 * PAD - _value_room([f"{fmt(v)}{unit}" for _, v in bars])
    zero = PAD + span * (-low) / (high - low)
    body = []
    for i, (label, value) in enumerate(bars):
        top = PAD + i * ROW
        length = span * abs(float(value)) / (high - low)
        x = zero - length if value < 0 else zero
        text = f"{fmt(value)}{unit}"
        tip = escape(f"{label}: {text}")
        body.append(
            f'<g class="bar-row"><text class="chart-label" x="{PAD}" y="{_f(top + FONT)}">{escape(label)}</text>'
            f'<rect class="series-0{" negative" if value < 0 else ""}" x="{_f(x)}" y="{_f(top + 18)}" '
            f'width="{_f(max(length, 1))}" height="{BAR}"><title>{tip}</title></rect>'
            + _value_text(max(zero, x + length) + 4, top + 18 + BAR - 2, text) + "</g>"
        )
    height = PAD * 2 + ROW * len(bars)
    if low < 0:
        body.append(f'<line class="chart-axis" x1="{_f(zero)}" x2="{_f(zero)}" y1="{PAD}" y2="{_f(height - PAD)}"/>')
    summary = "; ".join(f"{label} {fmt(value)}{unit}" for label, value in bars)
    return _svg(title=title, summary=summary, height=height, body=body, css=f"chart-bars {css}")


def stacked_bar_chart(*, title: str, rows: Sequence[tuple[str, Sequence[Segment]]], fmt: Formatter = fmt_number,
                      series: Sequence[str] = (), empty: str = "No data yet.", css: str = "") -> SafeString:
    """One horizontal bar per ``(label, segments)``, its segments side by side; the row's total and its
    non-zero parts are printed after the bar ("5: 3 high, 2 low"). ``series`` fixes the order of the
    colour classes and the legend (by default the order segments first appear). Negative parts count as 0."""
    if not rows:
        return _empty(title, empty)
    names = list(series) or list(dict.fromkeys(s.series for _, segs in rows for s in segs))
    totals = [Decimal(sum((max(s.value, 0) for s in segs), Decimal(0))) for _, segs in rows]
    _, high = _scale(totals)
    texts = [fmt(_as_number(total)) + (f": {detail}" if detail and len(segs) > 1 else "")
             for (_, segs), total in zip(rows, totals, strict=True)
             for detail in [", ".join(f"{fmt(s.value)} {s.series}" for s in segs if s.value > 0)]]
    span = WIDTH - 2 * PAD - _value_room(texts)
    legend = _legend(names)
    body = [legend[0]]
    top0 = legend[1]
    for i, ((label, segs), text) in enumerate(zip(rows, texts, strict=True)):
        top = top0 + i * ROW
        parts = [f'<text class="chart-label" x="{PAD}" y="{_f(top + FONT)}">{escape(label)}</text>']
        x = float(PAD)
        for s in segs:
            if s.value <= 0:
                continue
            width = span * float(s.value) / high
            k = names.index(s.series) % SERIES_CLASSES if s.series in names else 0
            parts.append(f'<rect class="series-{k}" x="{_f(x)}" y="{_f(top + 18)}" width="{_f(max(width, 1))}" '
                         f'height="{BAR}"><title>{escape(f"{label}, {s.series}: {fmt(s.value)}")}</title></rect>')
            x += width
        parts.append(_value_text(x + 4, top + 18 + BAR - 2, text))
        body.append('<g class="bar-row">' + "".join(parts) + "</g>")
    height = top0 + ROW * len(rows) + PAD
    summary = "; ".join(
        f"{label} {fmt(_as_number(total))}" + "".join(f", {s.series} {fmt(s.value)}" for s in segs if s.value > 0)
        for (label, segs), total in zip(rows, totals, strict=True))
    return _svg(title=title, summary=summary, height=height, body=body, css=f"chart-stacked {css}")


def _as_number(total: Decimal) -> Number:
    return int(total) if total == total.to_integral_value() and total.as_tuple().exponent == 0 else total


def _legend(names: Sequence[str]) -> tuple[str, float]:
    """The legend as one SVG group, wrapping onto new lines; and the y where the chart may start."""
    items, x, y = [], float(PAD), float(PAD)
    for k, name in enumerate(names):
        width = 16 + len(name) * FONT * 0.6 + 12
        if x + width > WIDTH - PAD and x > PAD:
            x, y = float(PAD), y + 20
        items.append(f'<rect class="series-{k % SERIES_CLASSES}" x="{_f(x)}" y="{_f(y + 2)}" width="11" height="11"/>'
                     f'<text class="chart-legend" x="{_f(x + 15)}" y="{_f(y + 12)}">{escape(name)}</text>')
        x += width
    return '<g class="chart-legend-box">' + "".join(items) + "</g>", (y + 24 if names else PAD)


# ---------------------------------------------------------------------------------------------------------
# Line chart: one value per x label, optionally with a range (low–high) drawn as a whisker at each point
# ---------------------------------------------------------------------------------------------------------

LINE_HEIGHT = 230
LEFT = 52  # room for the y tick labels
BOTTOM = 40  # room for the x labels
TOP = 22
RIGHT = 30  # room right of the last point
TICK_CHAR = 11 * 0.6  # the width of a character of the 11 px tick labels, about


@dataclass(frozen=True)
class Point:
    """One x position. ``value`` None is a gap (no dot, the line breaks), e.g. a month with no purchase."""

    label: str
    value: Number | None
    low: Number | None = None
    high: Number | None = None
    note: str = ""  # the tooltip's name of the point when the axis label is shorter (a date for a time)


def line_chart(*, title: str, points: Sequence[Point], fmt: Formatter = fmt_number, unit: str = "",
               y_min: Number | None = None, y_max: Number | None = None,
               empty: str = "No data yet.", gap: str = "none", css: str = "") -> SafeString:
    """A line through ``points`` in order, each a dot with a ``<title>``; a point's ``low``/``high`` draw a
    range whisker; a point without a value is a gap in the line (``gap`` says so in the summary). The y axis
    spans the data (and ``y_min``/``y_max`` when given) with about five ticks."""
    values = [float(v) for p in points for v in (p.value, p.low, p.high) if v is not None]
    if not values:
        return _empty(title, empty)
    low = min(values + ([float(y_min)] if y_min is not None else []))
    high = max(values + ([float(y_max)] if y_max is not None else []))
    ticks = _ticks(low, high)
    low, high = min(low, ticks[0]), max(high, ticks[-1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, LINE_HEIGHT - TOP - BOTTOM

    def y(v: Number | float) -> float:
        return TOP + plot_h - plot_h * (float(v) - low) / (high - low)

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if len(points) == 1 else plot_w * i / (len(points) - 1))

    body = []
    for t in ticks:
        body.append(f'<line class="chart-grid" x1="{LEFT}" x2="{_f(LEFT + plot_w)}" y1="{_f(y(t))}" y2="{_f(y(t))}"/>'
                    f'<text class="chart-tick" x="{LEFT - 4}" y="{_f(y(t) + 4)}" text-anchor="end">'
                    f'{escape(_tick_text(t, fmt) + unit)}</text>')
    body.append(f'<line class="chart-axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{_f(TOP + plot_h)}"/>'
                f'<line class="chart-axis" x1="{LEFT}" x2="{_f(LEFT + plot_w)}" y1="{_f(TOP + plot_h)}" '
                f'y2="{_f(TOP + plot_h)}"/>')
    label_w = max(len(p.label) for p in points) * TICK_CHAR
    for i in _labelled(len(points), plot_w, label_w + 10):
        centre = min(max(x(i), label_w / 2), WIDTH - label_w / 2)  # the first and last stay inside the chart
        body.append(f'<text class="chart-tick" x="{_f(centre)}" y="{_f(TOP + plot_h + 16)}" text-anchor="middle">'
                    f'{escape(points[i].label)}</text>')
    for run in _runs(points):
        if len(run) > 1:
            path = " ".join(f"{_f(x(i))},{_f(y(v))}" for i, v in run)
            body.append(f'<polyline class="chart-line" points="{path}"/>')
    for i, p in enumerate(points):
        if p.value is None:
            continue
        tip = f"{p.note or p.label}: {fmt(p.value)}{unit}"
        if p.low is not None and p.high is not None:
            tip += " " + gettext("(range %(low)s–%(high)s)") % {"low": f"{fmt(p.low)}{unit}", "high": f"{fmt(p.high)}{unit}"}
            body.append(f'<line class="chart-range" x1="{_f(x(i))}" x2="{_f(x(i))}" y1="{_f(y(p.low))}" '
                        f'y2="{_f(y(p.high))}"><title>{escape(tip)}</title></line>')
        body.append(f'<circle class="chart-dot" cx="{_f(x(i))}" cy="{_f(y(p.value))}" r="4">'
                    f'<title>{escape(tip)}</title></circle>')
    i_last, last = max((i, p.value) for i, p in enumerate(points) if p.value is not None)
    at_right = len(points) > 1 and i_last > 0
    body.append(f'<text class="chart-value" x="{_f(x(i_last) - (8 if at_right else 0))}" '
                f'y="{_f(max(y(last) - 9, 12))}" text-anchor="{"end" if at_right else "middle"}">'
                f"{escape(fmt(last) + unit)}</text>")
    summary = "; ".join(
        f"{p.note or p.label} " + (gap if p.value is None else f"{fmt(p.value)}{unit}")
        + (" " + gettext("(range %(low)s–%(high)s)") % {"low": fmt(p.low), "high": fmt(p.high)}
           if p.low is not None and p.high is not None else "")
        for p in points)
    return _svg(title=title, summary=summary, height=LINE_HEIGHT, body=body, css=f"chart-line-box {css}")


def _runs(points: Sequence[Point]) -> list[list[tuple[int, Number]]]:
    """The stretches of consecutive points that have a value, each as ``(index, value)`` pairs."""
    runs: list[list[tuple[int, Number]]] = [[]]
    for i, p in enumerate(points):
        if p.value is None:
            runs.append([])
        else:
            runs[-1].append((i, p.value))
    return [r for r in runs if r]


def _labelled(n: int, plot_w: float, label_w: float) -> list[int]:
    """Which of ``n`` evenly spaced x positions get a label ``label_w`` wide without overlapping: every
    ``step``-th from the first, and the last one (in place of the one before it when they would touch)."""
    step = max(1, math.ceil(label_w * (n - 1) / plot_w)) if n > 1 else 1
    chosen = list(range(0, n, step))
    if chosen[-1] != n - 1:
        if len(chosen) > 1:
            chosen[-1] = n - 1
        elif plot_w >= label_w:
            chosen.append(n - 1)
        else:
            chosen = [n - 1]
    return chosen


def _ticks(low: float, high: float) -> list[float]:
    """About five round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering [low, high]."""
    if high == low:
        low, high = low - 1, high + 1
    raw = (high - low) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(magnitude * f for f in (1, 2, 2.5, 5, 10) if magnitude * f >= raw)
    t = math.floor(low / step) * step
    ticks: list[float] = []
    while t < high + step * 1e-9 or not ticks or ticks[-1] < high:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _tick_text(t: float, fmt: Formatter) -> str:
    """A tick value printed with ``fmt``: as an int when whole, else as the shortest Decimal."""
    if t == int(t):
        return fmt(int(t))
    return fmt(Decimal(repr(t)))


# ---------------------------------------------------------------------------------------------------------
# Data of the client-side charts: named sources and their JSON payload
# ---------------------------------------------------------------------------------------------------------

ChartKind = Literal["bar", "line", "doughnut"]
ValueType = Literal["money", "count", "score"]
Authorize = Callable[[HttpRequest, Mapping[str, str]], Any]
Build = Callable[[Any, Mapping[str, str]], dict[str, Any]]


@dataclass(frozen=True)
class ChartSource:
    """A named chart's two halves: ``authorize(request, params)`` applies the rule of the page that shows the
    chart and returns its subject (an organization, or None); ``build(subject, params)`` reads the data."""

    name: str
    authorize: Authorize
    build: Build

    def payload(self, request: HttpRequest, params: Mapping[str, str]) -> dict[str, Any]:
        return self.build(self.authorize(request, params), params)


SOURCES: dict[str, ChartSource] = {}


def chart_source(name: str, *, authorize: Authorize) -> Callable[[Build], Build]:
    """Register the decorated ``build`` as the chart ``name`` (a slug), guarded by ``authorize``."""
    def register(build: Build) -> Build:
        known = SOURCES.get(name)
        if known is not None and known.build is not build:
            raise ValueError(f"Two chart sources named {name!r}.")
        SOURCES[name] = ChartSource(name, authorize, build)
        return build
    return register


@dataclass(frozen=True)
class Series:
    """One dataset: its label, one value per category, and how it is drawn. ``stack`` groups bars stacked
    together; ``draw=False`` is a column of the table only (a count beside the amounts); ``kind`` overrides
    the chart's kind for this dataset (a line over bars)."""

    key: str
    label: str
    values: Sequence[Number]
    stack: str = ""
    draw: bool = True
    kind: ChartKind | None = None
    value_type: ValueType | None = None


def _json_number(value: Number) -> str | int:
    """A Decimal as its exact text (``"1234.50"``), an int as itself; a float is refused (money is never one)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"chart values are int or Decimal, not {type(value).__name__}")
    return str(value) if isinstance(value, Decimal) else value


def data_payload(*, title: str, kind: ChartKind, category: str, labels: Sequence[str], series: Sequence[Series],
                 value_type: ValueType = "money", unit: str = "", stacked: bool = False, horizontal: bool = False,
                 empty: str = "", note: str = "", as_of: str = "", timezone_name: str = "") -> dict[str, Any]:
    """The JSON of one chart: ``labels`` (the categories, translated), one dataset per series with a value per
    label (amounts as decimal strings), the unit, and ``empty`` (the sentence shown instead of a drawing)
    when every drawn value is zero or there is no category."""
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.key!r} has {len(s.values)} values for {len(labels)} labels")
    nothing = not labels or all(v == 0 for s in series if s.draw for v in s.values)
    return {
        "title": title,
        "kind": kind,
        "category": category,
        "labels": [str(label) for label in labels],
        "datasets": [{"key": s.key, "label": str(s.label), "values": [_json_number(v) for v in s.values],
                      "stack": s.stack, "draw": s.draw, "kind": s.kind or kind,
                      "value_type": s.value_type or value_type} for s in series],
        "value_type": value_type,
        "unit": unit,
        "stacked": stacked,
        "horizontal": horizontal,
        "empty": str(empty) if nothing else "",
        "note": str(note),
        "as_of": as_of,
        "timezone": timezone_name,
    }
