"""Transition throughput through the API (issue 12, item 3): 8 clients POST accept, list, buy and settle
against ``make run``'s gunicorn (3 sync workers), each request its own bill, token-authenticated as the demo
buyer, supplier and financier. Bar: p95 ≤ 100 ms.

Settle runs on the demo buyer's bills that ``bench_generate`` lets mature on the generation day (accepted,
listed and financed ones, about 4.7 % of the demo buyer's bills: 3 at smoke size, 6 quick, 39 full); the
demo buyer pays their faces from cash the bench deposits first. Every transition goes through the services
(guard, row lock, event, outbox row, doorbell); every buy takes the demo financier's cash account lock and
every settle the demo buyer's, so buys contend with buys and settles with settles as they would in
production. The actions are shuffled together, each bill touched once."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from bills import clock, rules
from bills.models import Bill, BillState
from finance_portal.ledger.services import deposit_record
from finance_portal.portal.management.commands.bench_generate import generate
from tests.bench.loadclient import Gunicorn, api_token, request
from tests.bench.portal import _demo_org
from tests.bench.report import Report, percentile

P95_MS = 100.0


@dataclass(frozen=True)
class Sizes:
    bills: int
    clients: int
    buys: int


SIZES = {
    "full": Sizes(bills=20_000, clients=8, buys=400),
    "quick": Sizes(bills=2_000, clients=8, buys=60),
    "smoke": Sizes(bills=200, clients=2, buys=6),
}


def work_items(buys: int) -> list[tuple[str, str, str, bytes]]:
    """(action, bill id, username, JSON body): one per bill, none touching the same bill twice."""
    supplier, buyer = _demo_org("supplier"), _demo_org("buyer")
    financier = _demo_org("financier")
    accept = Bill.objects.filter(debtor=buyer, state=BillState.SUBMITTED).values_list("pk", flat=True)
    to_list = Bill.objects.filter(holder=supplier, state=BillState.ACCEPTED).values_list("pk", flat=True)
    buy = (Bill.objects.filter(state=BillState.LISTED).exclude(holder=financier).exclude(debtor=buyer)
           .exclude(holder=supplier).order_by("-created_at").values_list("pk", flat=True))
    settle = Bill.objects.filter(debtor=buyer, state__in=rules.RULES["settle"].from_states,
                                 maturity_date__lte=clock.today()).values_list("pk", flat=True)
    items = [("accept", str(pk), "buyer", b"{}") for pk in accept]
    items += [("list", str(pk), "supplier", json.dumps({"rate": "0.036"}).encode()) for pk in to_list]
    items += [("buy", str(pk), "financier", b"{}") for pk in buy[:buys]]
    items += [("settle", str(pk), "buyer", b"{}") for pk in settle]
    return items


def api_transitions_bench(mode: str, results_dir: Path | None = None) -> Report:
    sizes = SIZES[mode]
    report = Report("api-transitions", quick=mode != "full", title=f"Transitions through the API ({mode})")
    generate(sizes.bills)
    for who in ("financier", "buyer"):  # buys are paid from the financier's cash, settlements from the buyer's
        deposit_record(organization=_demo_org(who), amount="90000000000.00", currency=settings.DEFAULT_CURRENCY,
                       reference=f"BENCH-API-{who}-{time.time_ns()}", reason="bench", actor=None)
    items = work_items(sizes.buys)
    random.Random(3).shuffle(items)
    tokens = {u: api_token(u) for u in ("buyer", "supplier", "financier")}
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    gunicorn = Gunicorn().start()

    def client() -> None:
        while True:
            with lock:
                if not items:
                    return
                action, bill_id, user, body = items.pop()
            headers = {**tokens[user], "Content-Type": "application/json"}
            started = time.perf_counter()
            status, answer = request(gunicorn.port, f"/api/v1/bills/{bill_id}/{action}/", headers, method="POST",
                                     body=body)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if status == 200:
                    latencies[action].append(elapsed)
                else:
                    errors.append(f"{action} {bill_id}: {status} {answer[:200]!r}")

    try:
        total = len(items)
        threads = [threading.Thread(target=client, daemon=True) for _ in range(sizes.clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - started
    finally:
        gunicorn.stop()
    assert not errors, errors[:5]
    every = [x for v in latencies.values() for x in v]
    size = {"bills": sizes.bills, "clients": sizes.clients, "transitions": total}
    report.add("transitions per second", len(every) / seconds, "tx/s", better="higher", sizes=size,
               raw={"seconds": seconds})
    report.add("transition p50", percentile(every, 50), "ms", sizes=size)
    report.add("transition p95", percentile(every, 95), "ms", bar=P95_MS, sizes=size)
    for action, values in sorted(latencies.items()):
        report.add(f"{action} p50", percentile(values, 50), "ms", sizes={**size, "requests": len(values)},
                   raw={"latencies_ms": [round(v, 2) for v in values]})
        report.add(f"{action} p95", percentile(values, 95), "ms", bar=P95_MS, sizes={**size, "requests": len(values)})
    report.finish(results_dir)
    return report
