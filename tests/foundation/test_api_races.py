"""Races through the API against gunicorn (issue 13): 8 worker processes, so the requests truly overlap, each on
its own database connection. One winner each time, and the invariants hold after every race: each journal
entry sums to zero, no cash below zero, money in the system equals deposits less withdrawals, split parts sum
to the face, every bill's hash chain verifies.

``make test`` runs each race once with ``RACE_BUYERS`` (default 50) buyers; ``make soak`` repeats this file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

from bills import clock, services
from bills.events import bill_chain_verify
from bills.models import Bill, BillPurchase, BillState
from bills.models_money import BillSettlement
from chain_adapter.devnet import free_port
from finance_portal.ledger.models import JournalEntry
from finance_portal.ledger.selectors import ledger_problems
from sme_credit.services import credit_limit_grant
from tests.bills.factories import accepted, build_world, listed, refresh
from tests.bills.test_money_races import new_financiers
from tests.conftest import ROOT, _test_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WORKERS = 8
BUYERS = int(os.environ.get("RACE_BUYERS", "50"))


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory, django_db_setup: None):  # type: ignore[no-untyped-def]
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "web.log"
    env = os.environ.copy()
    env.update(DJANGO_SETTINGS_MODULE="finance_portal.settings.dev", DATABASE_URL=_test_database_url(),
               CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE + "-races")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "finance_portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(WORKERS), "--timeout", "60"],
        cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True,  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2)  # noqa: S310
            break
        except (urllib.error.URLError, OSError):
            assert proc.poll() is None, Path(log).read_text()
            assert time.monotonic() < deadline, Path(log).read_text()
            time.sleep(0.3)
    yield base
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def post(base: str, path: str, token: str, body: dict[str, object] | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"{base}{path}", data=json.dumps(body or {}).encode(), method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw or b"{}")
    except ValueError:
        text = raw.decode(errors="replace")
        start = text.find('class="exception_value">')
        title = text[start:start + 400] if start >= 0 else text[:300]
        return status, {"not_json": title}


def race(base: str, calls: list[tuple[str, str, dict[str, object] | None]]) -> list[tuple[int, dict[str, object]]]:
    """POST every (path, token, body) at once, each from its own thread; the answers in order."""
    results: list[tuple[int, dict[str, object]]] = [(0, {})] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int) -> None:
        path, token, body = calls[i]
        try:
            start.wait(30)
            results[i] = post(base, path, token, body)
        except Exception as err:  # noqa: BLE001 (shown by the assertion on the results)
            results[i] = (-1, {"error": repr(err)})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        assert not t.is_alive()
    return results


def token(user: object) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def invariants(*bills: Bill) -> None:
    assert ledger_problems() == []
    for bill in bills:
        bill = refresh(bill)
        assert bill_chain_verify(bill) == [], bill.number
        parts = Bill.objects.filter(parent=bill)
        if bill.state == BillState.SPLIT:
            assert sum(p.face for p in parts) == bill.face


def test_many_financiers_buy_one_listing_through_gunicorn_exactly_one_pays(gunicorn):
    world = build_world()
    racers = new_financiers("gun", BUYERS, amount="10000.00")
    bill = listed(world, "10000.00", rate="0.036", days=90)
    results = race(gunicorn, [(f"/api/v1/bills/{bill.pk}/buy/", token(u), {"rate": "0.036"}) for _, u in racers])
    statuses = Counter(status for status, _ in results)
    assert statuses == Counter({200: 1, 409: BUYERS - 1}), results
    assert {body["code"] for status, body in results if status == 409} == {"already_bought"}
    assert refresh(bill).state == BillState.FINANCED
    assert BillPurchase.objects.filter(bill=bill).count() == 1
    assert JournalEntry.objects.filter(kind="purchase", reference=f"bill:{bill.pk}").count() == 1
    invariants(bill)
    print(f"\n[races] {BUYERS} buys of one bill through {WORKERS} gunicorn workers: {dict(statuses)}")


def test_two_buys_that_together_exceed_a_credit_limit_one_is_refused(gunicorn):
    world = build_world()
    credit_limit_grant(actor=world.user("financier"), debtor=world.org("buyer").credit_code, amount="15000.00")
    bills = [listed(world, "10000.00"), listed(world, "10000.00")]
    key = token(world.user("financier"))
    results = race(gunicorn, [(f"/api/v1/bills/{b.pk}/buy/", key, None) for b in bills])
    assert sorted(status for status, _ in results) == [200, 409], results
    assert [body["code"] for status, body in results if status == 409] == ["credit_limit_exceeded"]
    assert BillPurchase.objects.filter(buyer=world.org("financier")).count() == 1
    invariants(*bills)


def test_a_split_and_a_transfer_of_one_bill_at_once_one_wins(gunicorn):
    world = build_world()
    bill = accepted(world, "10000.00")
    key = token(world.user("supplier"))
    results = race(gunicorn, [
        (f"/api/v1/bills/{bill.pk}/split/", key, {"parts": [{"face": "4000.00"}, {"face": "6000.00"}]}),
        (f"/api/v1/bills/{bill.pk}/transfer/", key, {"to": world.org("supplier2").credit_code}),
    ])
    assert sorted(status for status, _ in results) == [200, 409], results
    state = refresh(bill).state
    assert state in (BillState.SPLIT, BillState.PENDING_RECEIPT)
    invariants(bill)


def test_a_settlement_and_the_overdue_sweep_at_once_settle_once(gunicorn):
    world = build_world()
    with clock.travel_to(clock.now() - dt.timedelta(days=40)):
        bill = accepted(world, "10000.00", days=30)  # matured ten days ago: overdue once the sweep sees it
    key = token(world.user("buyer"))
    swept: list[object] = []

    def sweep() -> None:
        from django.db import connection

        try:
            swept.append(services.bills_mark_overdue_and_default())
        finally:
            connection.close()

    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    status, body = post(gunicorn, f"/api/v1/bills/{bill.pk}/settle/", key)
    sweeper.join(60)
    # One winner: the debtor's settlement through the API, or the sweep's automatic settlement from the
    # debtor's cash (then the API answers 409 wrong_state). Either way the bill is settled exactly once.
    assert (status == 200) or (status == 409 and body["code"] == "wrong_state"), body
    assert (status == 200) != bool(swept and swept[0].get("settled")), (status, swept)  # type: ignore[union-attr]
    bill = refresh(bill)
    assert bill.state == BillState.SETTLED
    assert BillSettlement.objects.filter(bill=bill).count() == 1
    assert JournalEntry.objects.filter(kind="settlement", reference=f"bill:{bill.pk}").count() == 1
    assert BillSettlement.objects.get(bill=bill).kind in ("late", "at_maturity", "automatic")
    assert Decimal(str(bill.face)) == Decimal("10000.00")
    invariants(bill)
