"""Fault 4: a gunicorn worker SIGKILLed in the middle of a purchase.

A third connection holds the listed bill's row lock, so the buy request waits inside its transaction; the
worker serving it (found by the port of its database connection: ``pg_stat_activity.client_port`` ↔ the
worker's TCP connections) is SIGKILLed, then the lock is let go. Pass: the purchase happened completely or not
at all (state, purchase row, journal entry and event agree), a retry with the same ``Idempotency-Key`` buys
once, a second retry returns the original result with no second effect; ``reconcile`` and ``ledger_check``
exit 0 once the events are anchored.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg2
import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

from bills.models import Bill, BillEvent, BillPurchase, BillState
from chain_adapter import txmanager
from chain_adapter.devnet import free_port
from finance_portal.ledger.models import JournalEntry
from finance_portal.ledger.selectors import ledger_problems
from tests.bills.factories import build_world, listed
from tests.bills.test_money_races import new_financiers
from tests.chain_adapter.helpers import wait_for
from tests.conftest import ROOT, _test_database_url
from tests.soak.conftest import FULL, assert_reconcile_and_ledger_clean, report, seeded, size

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True),
              pytest.mark.timeout(600 if FULL else 120)]


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """gunicorn with 2 workers on the test database: (base URL, master pid)."""
    port = free_port()
    log = tmp_path / "web.log"
    env = os.environ.copy()
    env.update(DJANGO_SETTINGS_MODULE="finance_portal.settings.dev", DATABASE_URL=_test_database_url(),
               CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE + "-soak-web", DB_CONN_MAX_AGE="0")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "finance_portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--timeout", "60"],
        cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True,  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2)  # noqa: S310
            break
        except (urllib.error.URLError, OSError):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    yield base, proc.pid
    os.killpg(proc.pid, signal.SIGQUIT)  # gunicorn's quick shutdown
    proc.wait(timeout=30)


def buy(base: str, bill: Bill, token: str, key: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"{base}/api/v1/bills/{bill.pk}/buy/", data=json.dumps({"rate": "0.036"}).encode(), method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json", "Idempotency-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def db_connection():  # type: ignore[no-untyped-def]
    return psycopg2.connect(_test_database_url())


def waiting_backend(cursor) -> tuple[int, int] | None:  # type: ignore[no-untyped-def]
    """(pid, client port) of the backend waiting for a lock in the test database, if any."""
    cursor.execute("SELECT pid, client_port FROM pg_stat_activity WHERE datname = current_database() "
                   "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
    row = cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else None


def worker_serving(master: int, client_port: int) -> psutil.Process:
    """The gunicorn worker whose database connection leaves from ``client_port``."""
    for child in psutil.Process(master).children():
        if any(c.laddr and c.laddr.port == client_port for c in child.net_connections(kind="tcp")):
            return child
    raise AssertionError(f"no gunicorn worker holds the database connection from port {client_port}")


def purchase_state(bill: Bill) -> tuple[str, int, int, int]:
    """(state, purchase rows, purchase journal entries, purchase events) of ``bill``."""
    return (Bill.objects.get(pk=bill.pk).state, BillPurchase.objects.filter(bill=bill).count(),
            JournalEntry.objects.filter(kind="purchase", reference=f"bill:{bill.pk}").count(),
            BillEvent.objects.filter(bill=bill, to_state=BillState.FINANCED).count())


def test_a_gunicorn_worker_killed_mid_purchase_leaves_all_or_nothing(gunicorn, anchor_contract):
    started = time.monotonic()
    base, master = gunicorn
    seed, _rng = seeded("gunicorn kill")
    rounds = size(10, 2)
    world = build_world()
    (_org, user), = new_financiers(f"soakkill{seed % 100000}x", 1, amount=f"{rounds * 10000}.00")
    token = Token.objects.get_or_create(user=user)[0].key
    outcomes = {"none": 0, "complete": 0}
    for round_ in range(rounds):
        bill = listed(world, "10000.00", rate="0.036", days=90)
        key = f"soak-{seed}-{round_}"
        answer: list[object] = []
        locker, monitor = db_connection(), db_connection()
        monitor.autocommit = True  # pg_stat_activity is read once per transaction: a fresh one each look
        try:
            with locker.cursor() as held, monitor.cursor() as cursor:
                held.execute(f"SELECT 1 FROM {Bill._meta.db_table} WHERE id = %s FOR UPDATE", [str(bill.pk)])
                request = threading.Thread(target=lambda b=bill, k=key, a=answer: a.append(_try(buy, base, b, token, k)))
                request.start()
                wait_for(lambda c=cursor, a=answer: waiting_backend(c) is not None or bool(a), timeout=30,
                         interval=0.05)
                found = waiting_backend(cursor)
                assert found is not None, f"the buy request did not wait for the bill's row lock: {answer}"
                backend_pid, port = found
                victim = worker_serving(master, port)
                victim.send_signal(signal.SIGKILL)
                victim.wait(10)
                locker.rollback()  # the lock goes; the killed worker's transaction can never commit
                wait_for(lambda c=cursor, p=backend_pid: _gone(c, p), timeout=30, interval=0.05,
                         what="the killed worker's database backend to end")
        finally:
            locker.close()
            monitor.close()
        request.join(60)
        assert answer and not isinstance(answer[0], tuple), f"the killed request was answered: {answer}"
        state = purchase_state(bill)
        assert state in ((BillState.LISTED, 0, 0, 0), (BillState.FINANCED, 1, 1, 1)), state
        outcomes["none" if state[1] == 0 else "complete"] += 1
        assert ledger_problems() == []

        status, first = buy(base, bill, token, key)  # the client retries with the same key
        assert status == 200, first
        status, again = buy(base, bill, token, key)
        assert status == 200, again
        assert purchase_state(bill) == (BillState.FINANCED, 1, 1, 1)
        assert {k: first.get(k) for k in ("id", "state", "holder", "face")} == {
            k: again.get(k) for k in ("id", "state", "holder", "face")}
        assert ledger_problems() == []

    while txmanager.run_once().work_left:  # anchor the events, for reconcile
        pass
    assert_reconcile_and_ledger_clean()
    report("gunicorn worker SIGKILLed mid-purchase", seed=seed, runs=rounds, kills=rounds,
           purchases_none=outcomes["none"], purchases_complete=outcomes["complete"], retries=2 * rounds,
           duplicates=BillPurchase.objects.count() - rounds, seconds=round(time.monotonic() - started, 1))
    assert BillPurchase.objects.count() == rounds


def _try(call, *args):  # type: ignore[no-untyped-def]
    try:
        return call(*args)
    except Exception as err:  # noqa: BLE001 (the connection reset of a killed worker is the expected answer)
        return err


def _gone(cursor, pid: int) -> bool:  # type: ignore[no-untyped-def]
    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
    return int(cursor.fetchone()[0]) == 0
