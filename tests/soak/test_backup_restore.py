"""Fault 5: backup and restore. ``pg_dump`` of a running platform (an anchoring worker running, bills anchored,
money moved) restored with ``pg_restore`` into a new database passes ``manage.py reconcile`` and
``manage.py ledger_check`` run against it and the same chain (subprocesses, ``DATABASE_URL`` at the restored
copy). The restored database is dropped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from bills.models import BillEvent
from tests.bills import factories as f
from tests.chain_adapter.conftest import anchoring_worker  # noqa: F401  (fixture)
from tests.chain_adapter.helpers import wait_for
from tests.conftest import ROOT, _test_database_url
from tests.soak.conftest import (
    FULL,
    assert_reconcile_and_ledger_clean,
    bill_transitions,
    confirmed_count,
    exactly_once,
    outbox_state,
    report,
    size,
)

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True),
              pytest.mark.timeout(900 if FULL else 120)]


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def admin(url: str, sql: str) -> None:
    connection = psycopg2.connect(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def manage(commands: list[str], env: dict[str, str]) -> list[tuple[int, str]]:
    """Run the management ``commands`` side by side as subprocesses: (exit code, output) of each."""
    running = [subprocess.Popen([sys.executable, "manage.py", name], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for name in commands]
    return [(process.wait(timeout=600), process.communicate()[0]) for process in running]


def test_a_dump_of_a_running_platform_restores_into_a_database_that_reconciles(anvil, anchor_contract,
                                                                               anchoring_worker, tmp_path: Path):  # noqa: F811
    started = time.monotonic()
    worker = anchoring_worker(ANCHOR_BATCH_SIZE=50, ANCHOR_MAX_WAIT_SECONDS=0)
    bill_transitions(size(300, 5))
    world = f.build_world()
    for _ in range(size(20, 1)):  # money moves: deposits and purchases
        f.financed(world, "10000.00")
    events = BillEvent.objects.count()
    wait_for(lambda: confirmed_count() == events, timeout=600 if FULL else 90, interval=0.1,
             what=f"every event anchored ({outbox_state()}; {worker.log})")
    source = _test_database_url()
    restored_name = f"{source.rsplit('/', 1)[1]}_restore_{os.getpid()}"
    restored = with_database(source, restored_name)
    dump = tmp_path / "platform.dump"
    t0 = time.monotonic()
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", f"--dbname={source}"],
                   check=True, timeout=600)  # the worker is still running
    dumped = time.monotonic() - t0
    admin(source, f'DROP DATABASE IF EXISTS "{restored_name}"')
    admin(source, f'CREATE DATABASE "{restored_name}"')
    try:
        t0 = time.monotonic()
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored}", str(dump)],
                       check=True, timeout=600)
        restore_seconds = time.monotonic() - t0
        env = os.environ.copy()
        env.update(DJANGO_SETTINGS_MODULE="finance_portal.settings.dev", DATABASE_URL=restored,
                   ETH_RPC_URL=anvil.url, CHAIN_ID="31337")
        (reconcile_exit, reconciled), (ledger_exit, ledger) = manage(["reconcile", "ledger_check"], env)
    finally:
        admin(source, f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')
    worker.stop()
    figures = exactly_once(anvil.url, anchor_contract, set(BillEvent.objects.values_list("hash", flat=True)))
    assert_reconcile_and_ledger_clean()  # and the original still agrees
    report("pg_dump and pg_restore of a running platform", runs=1, kills=0, events=events,
           logs=figures.logs, duplicates=figures.duplicates, gaps=figures.nonce_gaps,
           dump_bytes=dump.stat().st_size, dump_s=round(dumped, 1), restore_s=round(restore_seconds, 1),
           reconcile_exit=reconcile_exit, ledger_check_exit=ledger_exit,
           seconds=round(time.monotonic() - started, 1))
    assert reconcile_exit == 0, reconciled
    assert ledger_exit == 0, ledger
    assert "database and chain agree" in reconciled, reconciled
    assert figures.duplicates == 0 and figures.missing == 0 and figures.nonce_gaps == 0
