"""``{% load chart_tags %}{% data_chart "financier-ladder" currency="CNY" %}``: a client-side chart on a page.

Renders a ``<canvas data-chart-url=... data-chart-kind=...>`` that ``static/js/charts.js`` fills from the
JSON endpoint, with an ``aria-label`` summing the data up and, in a ``<details>``, a table of the same numbers
rendered here from the same source (``finance_portal.charts.SOURCES``): what a screen reader or a browser
without JavaScript gets. A page passes ``subject=`` the organization it already decided the viewer reads (no
second check, no extra query); without it the source checks, and a refusal renders nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from finance_portal import charts
from finance_portal.portal import charts_data  # noqa: F401 - registers the portal's chart sources
from finance_portal.portal.templatetags.money import format_money

register = template.Library()

SUMMARY_ITEMS = 14  # categories named in the aria-label; the table holds them all


def cell(value: str | int, value_type: str, unit: str) -> str:
    """A value of the payload as the table shows it: money with its currency, counts and scores as they are."""
    if value_type == "money":
        return format_money(value, unit)
    return f"{value:,}" if isinstance(value, int) else str(value)


def table_of(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as a table: a column per dataset, a row per label."""
    datasets = payload["datasets"]
    rows = [(label, [cell(d["values"][i], d["value_type"], payload["unit"]) for d in datasets])
            for i, label in enumerate(payload["labels"])]
    return {"columns": [d["label"] for d in datasets], "rows": rows}


def summary_of(payload: dict[str, Any]) -> str:
    """The aria-label: the title, then each category with its drawn values, or the empty note."""
    if payload["empty"]:
        return f"{payload['title']}: {payload['empty']}"
    drawn = [d for d in payload["datasets"] if d["draw"]]
    parts = []
    for i, label in enumerate(payload["labels"][:SUMMARY_ITEMS]):
        values = ", ".join(
            (f"{d['label']} " if len(drawn) > 1 else "") + cell(d["values"][i], d["value_type"], payload["unit"])
            for d in drawn)
        parts.append(f"{label}: {values}")
    more = len(payload["labels"]) - SUMMARY_ITEMS
    if more > 0:
        parts.append(_("and %(count)s more in the table") % {"count": more})
    return f"{payload['title']}. " + "; ".join(parts)


@register.inclusion_tag("portal/_data_chart.html", takes_context=True)
def data_chart(context: template.Context, name: str, subject: Any = None, **params: Any) -> dict[str, Any]:
    """The chart ``name`` with the query ``params``. ``subject``: the organization the page has already
    authorized the viewer to read (its own rule, as the source's); without it the source checks again."""
    request = context.get("request")
    source = charts.SOURCES.get(name)
    query = {k: str(v) for k, v in params.items() if v is not None and v != ""}
    if request is None or source is None:
        return {"missing": True}
    try:
        payload = source.build(subject, query) if subject is not None else source.payload(request, query)
    except (Http404, PermissionDenied, ValueError):
        return {"missing": True}
    url = reverse("chart-data", kwargs={"name": name}) + (f"?{urlencode(query)}" if query else "")
    return {"missing": False, "name": name, "url": url, "payload": payload, "table": table_of(payload),
            "summary": summary_of(payload)}
