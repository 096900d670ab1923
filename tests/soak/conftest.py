"""The fault scenarios of issue 13 (``make soak``): sizes, figures, a Redis of the scenario's own, and the two
end checks (``reconcile`` and ``ledger_check``, exit 0).

``SOAK_SCALE=full`` (what ``make soak`` sets) runs each scenario at its full size; anything else runs the fast
slice that ``make test`` includes. Every scenario prints its figures when it ends and again in the terminal
summary, so ``make soak`` shows them without ``-s``.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command

from chain_adapter.devnet import free_port

ROOT = Path(__file__).resolve().parents[2]
FULL = os.environ.get("SOAK_SCALE", "fast").lower() == "full"
FIGURES: list[str] = []


def size(full: int, fast: int) -> int:
    """The full size under ``SOAK_SCALE=full``, the fast slice's otherwise."""
    return full if FULL else fast


def seeded(name: str) -> tuple[int, random.Random]:
    """A seeded RNG: ``SOAK_SEED`` if set (to replay a run), else a fresh seed; printed with the figures."""
    seed = int(os.environ.get("SOAK_SEED") or random.SystemRandom().randrange(2**31))
    print(f"\n[soak] {name}: seed {seed} (replay with SOAK_SEED={seed})")
    return seed, random.Random(seed)


def report(name: str, **figures: object) -> str:
    """Print one scenario's figures now and in the terminal summary."""
    line = f"[soak {'full' if FULL else 'fast'}] {name}: " + ", ".join(f"{k} {v}" for k, v in figures.items())
    FIGURES.append(line)
    print("\n" + line)
    return line


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if FIGURES:
        terminalreporter.section("soak figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


def command(name: str, *args: str) -> tuple[int, str]:
    """Run a management command in-process: (exit code, output). ``SystemExit`` is its exit code."""
    out = io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=out)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
        return code, out.getvalue()
    return 0, out.getvalue()


def assert_reconcile_and_ledger_clean() -> str:
    """``reconcile`` and ``ledger_check`` both exit 0; returns reconcile's report."""
    code, text = command("reconcile")
    assert code == 0, f"reconcile exited {code}:\n{text}"
    ledger_code, ledger = command("ledger_check")
    assert ledger_code == 0, f"ledger_check exited {ledger_code}:\n{ledger}"
    return text


@dataclass(frozen=True)
class ExactlyOnce:
    events: int  # expected
    logs: int  # Anchored logs of the deployment
    duplicates: int  # logs beyond the first of an event
    missing: int  # expected events without a log
    nonce_gaps: int  # missing nonces between the first and the last stored anchor transaction
    transactions: int


def exactly_once(url: str, deployment, expected: set[str], *,  # type: ignore[no-untyped-def]
                 settled: bool = True) -> ExactlyOnce:
    """Count the contract's ``Anchored`` logs per event hash and the stored nonces' gaps. ``settled``: also
    check that the account's nonce on chain follows the last stored one."""
    from chain_adapter.models import AnchorTransaction, TxStatus
    from tests.chain_adapter.helpers import client_for

    logs = client_for(url).anchored_logs(deployment.address, from_block=deployment.block_number)
    counts = Counter(log.event_hash for log in logs)
    nonces = sorted(AnchorTransaction.objects.filter(deployment=deployment).exclude(
        status__in=[TxStatus.DROPPED, TxStatus.REPLACED]).values_list("nonce", flat=True))
    gaps = (nonces[-1] - nonces[0] + 1 - len(set(nonces))) if nonces else 0
    if settled and nonces:
        chain_nonce = client_for(url).nonce("latest")
        assert chain_nonce == nonces[-1] + 1, f"the chain's nonce is {chain_nonce}, the last stored {nonces[-1]}"
    return ExactlyOnce(events=len(expected), logs=len(logs), duplicates=sum(n - 1 for n in counts.values()),
                       missing=len(expected - set(counts)), nonce_gaps=gaps, transactions=len(nonces))


def confirmed_count(ids: list[int] | None = None) -> int:
    from chain_adapter.models import AnchorRecord, AnchorStatus

    rows = AnchorRecord.objects.filter(status=AnchorStatus.CONFIRMED)
    return (rows.filter(pk__in=ids) if ids is not None else rows).count()


def outbox_state() -> str:
    from django.db.models import Count

    from chain_adapter.models import AnchorRecord, AnchorTransaction

    records = {r["status"]: r["n"] for r in AnchorRecord.objects.values("status").annotate(n=Count("id"))}
    txs = {r["status"]: r["n"] for r in AnchorTransaction.objects.values("status").annotate(n=Count("id"))}
    errors = set(AnchorRecord.objects.exclude(last_error="").values_list("last_error", flat=True)[:3])
    return f"records {records}, transactions {txs}, errors {errors}"


def bill_transitions(count: int) -> int:
    """``count`` bills through create, submit and accept (real transitions, three events each). Returns the
    number of events written."""
    from bills import services
    from bills.models import BillEvent
    from tests.bills import factories as f

    before = BillEvent.objects.count()
    world = f.build_world()
    for i in range(count):
        bill = f.draft(world, face=f"{1000 + i}.00")
        services.bill_submit(bill_id=bill.pk, actor=world.user("supplier"))
        services.bill_accept(bill_id=bill.pk, actor=world.user("buyer"))
    return BillEvent.objects.count() - before


def event_hashes() -> set[str]:
    from chain_adapter.models import AnchorRecord

    return set(AnchorRecord.objects.values_list("event_hash", flat=True))


class RedisServer:
    """A redis-server of the scenario's own on a free port (no persistence): restarting it loses everything,
    flushing it too, and no other test run shares it."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, start_new_session=True,  # noqa: SIM115
        )
        import redis

        deadline = time.monotonic() + 15
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return self
            except redis.ConnectionError:
                assert self.process.poll() is None, f"redis-server exited; see {self.log}"
                assert time.monotonic() < deadline, f"redis-server did not answer; see {self.log}"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def flushall(self) -> None:
        import redis

        redis.Redis.from_url(self.url).flushall()


def point_celery_at(url: str) -> None:
    """Make this process's Celery app publish to (and ping workers through) ``url``."""
    from finance_portal.celery import app

    app.conf.broker_url = url
    app.conf.result_backend = url
    forget_connections()


def forget_connections() -> None:
    """Drop the Celery app's broker pools and result backend, so the next use connects to the configured URL."""
    from finance_portal.celery import app

    app._pool = None  # type: ignore[attr-defined]
    app.amqp._producer_pool = None
    try:
        del app._local.backend  # type: ignore[attr-defined]
    except AttributeError:
        pass


@pytest.fixture
def private_redis(tmp_path: Path, settings) -> Iterator[RedisServer]:  # type: ignore[no-untyped-def]
    """A redis-server of this test's own; this process's Celery app and Django cache use it while the test runs
    (start workers with ``REDIS_URL=server.url``)."""
    from finance_portal.celery import app

    server = RedisServer(tmp_path / "redis.log").start()
    before = (app.conf.broker_url, app.conf.result_backend)
    point_celery_at(server.url)
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": server.url}}
    try:
        yield server
    finally:
        server.stop()
        app.conf.broker_url, app.conf.result_backend = before
        forget_connections()
