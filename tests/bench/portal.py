"""The portal at scale (issue 12, items 4 and 5): latency under concurrent load at a small and a large data set,
``reconcile`` and ``ledger_check`` over the large one, and the SQL of the slowest endpoint.

The one thing to know: both sizes are measured in one run against one gunicorn (``make run``'s: 3 sync
workers), the large set being the small one plus the bills ``bench_generate`` adds, so the ratio of their p95
says how the pages scale and nothing else changed between them. Sizes per mode (``BENCH_MODE``):

    full   1,000 then 100,000 bills, 16 clients, 48 requests per endpoint at each size
    quick  500 then 2,500 bills, 16 clients, 16 requests per endpoint
    smoke  20 then 40 bills, 4 clients, 2 requests per endpoint (``make test``: the code runs, nothing is judged)
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bills.models import Bill, BillState
from bills.verification import reconcile
from finance_portal.ledger.models import Account, AccountKind
from finance_portal.ledger.selectors import ledger_problems
from finance_portal.organizations.models import Organization
from finance_portal.organizations.validators import make_credit_code
from finance_portal.portal.demo import DEMO_ORGS
from finance_portal.portal.management.commands.bench_generate import generate
from tests.bench.loadclient import Endpoint, Gunicorn, api_token, run_load, session_cookie
from tests.bench.report import RESULTS_DIR, ROOT, Report, percentile

API_P95_MS, PAGE_P95_MS, SCALE_RATIO = 150.0, 250.0, 1.5
RECONCILE_BAR_SECONDS = 120.0


@dataclass(frozen=True)
class Sizes:
    small: int
    large: int
    clients: int
    per_endpoint: int
    workers: int = 3


SIZES = {
    "full": Sizes(small=1_000, large=100_000, clients=16, per_endpoint=48),
    "quick": Sizes(small=500, large=2_500, clients=16, per_endpoint=16),
    "smoke": Sizes(small=20, large=40, clients=4, per_endpoint=2, workers=2),
}


def _demo_org(key: str) -> Organization:
    demo = next(d for d in DEMO_ORGS if d.key == key)
    return Organization.objects.get(credit_code=make_credit_code(demo.code17))


def endpoints() -> tuple[list[Endpoint], dict[str, tuple[str, str]]]:
    """What 16 clients ask for, and for each endpoint (user, auth kind) to replay it in process."""
    supplier, buyer, financier = _demo_org("supplier"), _demo_org("buyer"), _demo_org("financier")
    bill = (Bill.objects.filter(creditor=supplier, state=BillState.FINANCED).order_by("-created_at").first()
            or Bill.objects.filter(creditor=supplier).order_by("-created_at").first())
    assert bill is not None, "the generator gives the demo supplier bills"
    account = Account.objects.get(organization=financier, kind=AccountKind.CASH, currency="CNY")
    auth = {
        ("financier", "page"): session_cookie("financier"), ("financier", "api"): api_token("financier"),
        ("supplier", "page"): session_cookie("supplier"), ("supplier", "api"): api_token("supplier"),
        ("regulator", "page"): session_cookie("regulator"), ("regulator", "api"): api_token("regulator"),
    }
    table = [
        ("marketplace API", "api", "financier", "/api/v1/marketplace/"),
        ("marketplace page", "page", "financier", "/marketplace/"),
        ("regulator bill list page (state + org filter)", "page", "regulator",
         f"/oversight/data/bills/?state=listed&org={buyer.credit_code}"),
        ("regulator bills API (state + debtor filter)", "api", "regulator",
         f"/api/v1/bills/?state=accepted&debtor={buyer.credit_code}"),
        ("bill detail page", "page", "supplier", f"/bills/{bill.pk}/"),
        ("bill detail API", "api", "supplier", f"/api/v1/bills/{bill.pk}/"),
        ("supplier dashboard", "page", "supplier", "/home/supplier/"),
        ("financier dashboard", "page", "financier", "/home/financier/"),
        ("account statement page", "page", "financier", f"/money/statement/{account.pk}/"),
        ("account statement API", "api", "financier", f"/api/v1/accounts/{account.pk}/statement/"),
    ]
    return ([Endpoint(name, kind, path, auth[(user, kind)]) for name, kind, user, path in table],
            {name: (user, kind) for name, kind, user, _ in table})


def queries_per_request(eps: list[Endpoint], who: dict[str, tuple[str, str]], *, repeat: int = 1,
                        timings: dict[str, tuple[float, float]] | None = None) -> dict[str, list[tuple[str, float]]]:
    """Replay each endpoint in process (``repeat`` times) and capture its SQL (the text and its time in ms) of
    the last replay; ``timings`` receives, per endpoint, the median wall time and the median SQL time (ms)
    of one request served alone: where the time goes when nothing queues."""
    out: dict[str, list[tuple[str, float]]] = {}
    users = get_user_model().objects
    for ep in eps:
        username, kind = who[ep.name]
        client = Client()
        if kind == "api":
            client.defaults["HTTP_AUTHORIZATION"] = ep.headers["Authorization"]
        else:
            client.force_login(users.get(username=username))
        walls, sqls = [], []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get(ep.path)
                walls.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (ep.name, response.status_code)
            out[ep.name] = [(q["sql"], float(q["time"]) * 1000) for q in ctx.captured_queries]
            sqls.append(sum(t for _, t in out[ep.name]))
        if timings is not None:
            timings[ep.name] = (statistics.median(walls), statistics.median(sqls))
    return out


def explain_slowest(captured: dict[str, list[tuple[str, float]]], endpoint: str) -> tuple[str, str]:
    """EXPLAIN ANALYZE each SELECT of ``endpoint`` and return (the slowest one's SQL, its plan)."""
    best: tuple[float, str, str] = (-1.0, "", "")
    for sql, _ in captured[endpoint]:
        if not sql.lstrip().upper().startswith("SELECT") or " FOR UPDATE" in sql.upper():
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        match = re.search(r"Execution Time: ([0-9.]+) ms", plan)
        took = float(match.group(1)) if match else 0.0
        if took > best[0]:
            best = (took, sql, plan)
    return best[1], best[2]


def measure(report: Report, gunicorn: Gunicorn, eps: list[Endpoint], who: dict[str, tuple[str, str]], sizes: Sizes,
            bills: int) -> dict[str, float]:
    """Load every endpoint at the current data size; add p50/p95 figures; return p95 by endpoint."""
    run_load(gunicorn.port, eps, per_endpoint=1, clients=len(eps))  # warm the workers' caches and connections
    result = run_load(gunicorn.port, eps, per_endpoint=sizes.per_endpoint, clients=sizes.clients)
    alone: dict[str, tuple[float, float]] = {}
    captured = queries_per_request(eps, who, repeat=5 if sizes.per_endpoint > 2 else 1, timings=alone)
    p95s = {}
    for ep in eps:
        values = result.latencies.get(ep.name, [])
        errors = result.errors.get(ep.name, [])
        assert not errors, f"{ep.name}: {errors[:3]}"
        bar = API_P95_MS if ep.kind == "api" else PAGE_P95_MS
        p50, p95 = percentile(values, 50), percentile(values, 95)
        p95s[ep.name] = p95
        size = {"bills": bills, "clients": sizes.clients, "requests": len(values)}
        report.add(f"{ep.name} p50 @{bills:,}", p50, "ms", sizes=size, raw={"latencies_ms": [round(v, 2) for v in values]})
        report.add(f"{ep.name} p95 @{bills:,}", p95, "ms", bar=bar, sizes=size,
                   raw={"queries": len(captured[ep.name]), "path": ep.path})
        report.add(f"{ep.name} alone, in process @{bills:,}", alone[ep.name][0], "ms", sizes={"bills": bills},
                   raw={"sql_ms": alone[ep.name][1], "queries": len(captured[ep.name])},
                   note=f"{alone[ep.name][1]:.1f} ms of it in SQL, {len(captured[ep.name])} queries")
    report.add(f"throughput @{bills:,} (all endpoints)", result.requests / result.seconds, "req/s", better="higher",
               sizes={"bills": bills, "clients": sizes.clients})
    report.note(f"@{bills:,} bills: SQL queries per request: "
                + ", ".join(f"{ep.name} {len(captured[ep.name])}" for ep in eps))
    return p95s


def portal_bench(mode: str, results_dir: Path | None = None) -> Report:
    """The whole benchmark; prints the table, appends the JSON run, and returns the report."""
    sizes = SIZES[mode]
    report = Report("portal", quick=mode != "full", title=f"Portal at scale ({mode})")
    loaded = generate(sizes.small)
    report.add(f"generate {sizes.small:,} bills", loaded["seconds"], "s", sizes={"bills": sizes.small},
               raw=loaded)
    eps, who = endpoints()
    gunicorn = Gunicorn(workers=sizes.workers).start()
    try:
        small = measure(report, gunicorn, eps, who, sizes, sizes.small)
        started = time.monotonic()
        loaded = generate(sizes.large, progress=print if mode == "full" else None)
        report.add(f"generate {sizes.large - sizes.small:,} more bills", time.monotonic() - started, "s",
                   sizes={"bills": sizes.large}, raw=loaded,
                   note=f"{loaded['bills'] / max(loaded['seconds'], 1e-9):,.0f} bills/s, "
                        f"{loaded['events']:,} events")
        large = measure(report, gunicorn, eps, who, sizes, sizes.large)
    finally:
        gunicorn.stop()
    for ep in eps:
        ratio = large[ep.name] / small[ep.name] if small[ep.name] else float("nan")
        report.add(f"{ep.name} p95 ratio {sizes.large:,}/{sizes.small:,}", ratio, "x", bar=SCALE_RATIO,
                   sizes={"small": sizes.small, "large": sizes.large})

    slowest = max(large, key=lambda name: large[name])
    captured = queries_per_request(eps, who)
    sections = []
    for name in sorted(large, key=lambda n: -large[n]):
        sql, plan = explain_slowest(captured, name)
        sections.append(f"== {name} (p95 {large[name]:.1f} ms under load at {sizes.large:,} bills): its slowest "
                        f"query, EXPLAIN (ANALYZE, BUFFERS)\n\n{sql}\n\n{plan}\n")
    directory = results_dir or (RESULTS_DIR if mode == "full" else ROOT / ".run" / "bench-results")
    directory.mkdir(parents=True, exist_ok=True)
    explain = directory / f"{dt.datetime.now(dt.UTC):%Y-%m-%d}-portal-explain{'' if mode == 'full' else '-' + mode}.txt"
    explain.write_text(f"Slowest endpoint at {sizes.large:,} bills: {slowest}. Endpoints by p95, slowest first.\n\n"
                       + "\n".join(sections), encoding="utf-8")
    report.note(f"EXPLAIN of the slowest query of the slowest endpoint ({slowest}): {explain.name}")

    started = time.monotonic()
    problems = ledger_problems()
    report.add(f"ledger_check over {sizes.large:,} bills", time.monotonic() - started, "s",
               note="sound" if not problems else f"{len(problems)} problems")
    assert not problems, problems[:5]
    started = time.monotonic()
    result = reconcile()
    seconds = time.monotonic() - started
    assert result.ok, [d.problems[:3] for d in result.discrepancies[:3]]
    report.add(f"reconcile over {result.checked:,} bills", result.checked / seconds, "bills/s",
               bar=sizes.large / RECONCILE_BAR_SECONDS, better="higher",
               sizes={"bills": result.checked, "events": result.events},
               raw={"seconds": seconds, "pending": result.pending},
               note=f"{seconds:.1f} s; DB side + heads read from the node, events not anchored (pending)")
    report.finish(results_dir)
    return report
