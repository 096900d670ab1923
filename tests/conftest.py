"""Fixtures shared by the whole suite: a private Anvil devnet, a real Celery worker process, factories.

The suite runs on PostgreSQL (its own test database), with Redis, and with an Anvil node it starts on a
free port and stops at the end of the session.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from chain_adapter.devnet import Anvil

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _default_language() -> None:
    """Every test starts in the default language. A request in Chinese leaves its thread's language active
    (LocaleMiddleware activates it and nothing puts it back), and the services translate their refusals, so
    without this a test calling a service directly would read Chinese after such a request in its process."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    """A fresh Anvil devnet of this test session; ``settings.ETH_RPC_URL`` points at it."""
    log = ROOT / ".run" / "logs" / f"anvil-test{os.environ.get('PYTEST_XDIST_WORKER', '')}.log"
    node = Anvil(chain_id=31337, log_file=log)
    (ROOT / ".run" / "logs").mkdir(parents=True, exist_ok=True)
    node.start()
    previous = settings.ETH_RPC_URL
    settings.ETH_RPC_URL = node.url
    os.environ["ETH_RPC_URL"] = node.url
    try:
        yield node
    finally:
        settings.ETH_RPC_URL = previous
        node.stop()


def _test_database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class WorkerProcess:
    """A Celery worker in its own process, on this test run's queue and database."""

    def __init__(self, extra_env: dict[str, str] | None = None, concurrency: int = 1) -> None:
        self.extra_env = extra_env or {}
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None
        self.name = f"test-{os.getpid()}-{time.monotonic_ns()}@{socket.gethostname()}"
        self.log = ROOT / ".run" / "logs" / f"worker-test-{os.getpid()}.log"

    def start(self) -> WorkerProcess:
        env = os.environ.copy()
        env.update(
            DJANGO_SETTINGS_MODULE="finance_portal.settings.test",
            DATABASE_URL=_test_database_url(),
            TEST_DATABASE_NAME=settings.DATABASES["default"]["NAME"],
            ETH_RPC_URL=settings.ETH_RPC_URL,
        )
        env.update(self.extra_env)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "finance_portal", "worker", "--loglevel", "INFO",
             "--pool", "prefork", "--concurrency", str(self.concurrency),
             "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "-n", self.name,
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=env, cwd=str(ROOT), stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        from finance_portal.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, f"worker died; see {self.log}"
            replies = app.control.ping(destination=[self.name], timeout=0.5) or []
            if replies:
                return
        raise AssertionError(f"the Celery worker did not answer within {timeout} s; see {self.log}")

    def stop(self, sig: int = 15) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=10)


@pytest.fixture
def celery_worker_process(transactional_db: None) -> Iterator[WorkerProcess]:
    """A real worker process consuming this run's queue from Redis, reading the test database."""
    worker = WorkerProcess().start()
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def demo_orgs(db: None) -> dict[str, object]:
    from finance_portal.portal.demo import load_demo_organizations

    return load_demo_organizations()


def login(client, username: str):  # type: ignore[no-untyped-def]
    """Sign ``client`` in as ``username`` (axes needs a request for password log-ins; tests skip that)."""
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=username))
    return client


@pytest.fixture
def anchor_contract(anvil: Anvil, db: None):  # type: ignore[no-untyped-def]
    """The BillAnchor contract on the session's Anvil, recorded in the test database by
    ``manage.py deploy_contract`` (a fresh contract whenever the test database was emptied)."""
    import io

    from django.core.management import call_command

    from chain_adapter.selectors import deployment_current

    call_command("deploy_contract", stdout=io.StringIO())
    return deployment_current(chain_id=settings.CHAIN_ID)
