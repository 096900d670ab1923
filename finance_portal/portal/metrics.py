"""Prometheus metrics at ``/metrics``: anchoring, bills, and request latency.

Gauges read from the database at scrape time (``PortalCollector``): the anchoring lag (age of the oldest
pending anchor record), anchor records by status, anchor transactions by status (``stuck`` ones need an
operator), bills by state. ``MetricsMiddleware`` times every request into a histogram by route name (the URL
pattern's name, never the raw path, so the label set stays small) and method. The histogram is per process:
with several gunicorn workers each scrape sees one worker's (set ``PROMETHEUS_MULTIPROC_DIR`` and a
multiprocess collector if that matters).

Who may read it: a request from a loopback address that no proxy forwarded (no ``X-Forwarded-For``), a
platform staff user, or anyone sending ``Authorization: Bearer <METRICS_TOKEN>`` when that setting is set.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bills.models import Bill, BillState
from chain_adapter.models import AnchorRecord, AnchorStatus, AnchorTransaction, TxStatus
from finance_portal.portal.health import anchoring_lag_seconds

REGISTRY = CollectorRegistry()

REQUEST_LATENCY = Histogram(
    "finance_portal_http_request_duration_seconds",
    "Time to answer a request, by URL route name and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)


def _counts(rows: Iterable[Any]) -> dict[str, int]:
    return {str(k): int(v) for k, v in rows}


class PortalCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily("finance_portal_anchoring_lag_seconds",
                                "Age of the oldest pending anchor record (0 when none waits).")
        lag.add_metric([], anchoring_lag_seconds())
        yield lag

        records = GaugeMetricFamily("finance_portal_anchor_records", "Anchor records by status.", labels=["status"])
        counts = _counts(AnchorRecord.objects.order_by().values_list("status").annotate(n=Count("id")))
        for status in AnchorStatus:
            records.add_metric([status.value], counts.get(status.value, 0))
        yield records

        txs = GaugeMetricFamily("finance_portal_anchor_transactions",
                                "Anchor transactions by status (stuck: an operator must replace it).", labels=["status"])
        counts = _counts(AnchorTransaction.objects.order_by().values_list("status").annotate(n=Count("id")))
        for tx_status in TxStatus:
            txs.add_metric([tx_status.value], counts.get(tx_status.value, 0))
        yield txs

        bills = GaugeMetricFamily("finance_portal_bills", "Bills (split parts included) by state.", labels=["state"])
        counts = _counts(Bill.objects.order_by().values_list("state").annotate(n=Count("id")))
        for state in BillState:
            bills.add_metric([state.value], counts.get(state.value, 0))
        yield bills


REGISTRY.register(PortalCollector())


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return (match.view_name or "unnamed") if match else "unmatched"


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                                                      "OPTIONS"} else "other"
        REQUEST_LATENCY.labels(route_of(request), method).observe(time.perf_counter() - started)
        return response


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def may_read_metrics(request: HttpRequest) -> bool:
    token = str(getattr(settings, "METRICS_TOKEN", "") or "")
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR") or request.META.get("HTTP_X_REAL_IP")
    return not forwarded and _is_loopback(request.META.get("REMOTE_ADDR", ""))


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not may_read_metrics(request):
        return HttpResponse("Metrics are for loopback, staff or the METRICS_TOKEN bearer.\n", status=403,
                            content_type="text/plain; charset=utf-8")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
