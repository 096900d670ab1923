"""Fixtures of the chain adapter's tests: real Celery workers with chosen anchoring settings, and an Anvil
of a test's own (with a state file, to stop and restart it)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

from chain_adapter.devnet import Anvil, rpc_call
from chain_adapter.models import ContractDeployment
from chain_adapter.selectors import deployment_current
from tests.conftest import WorkerProcess

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def anchoring_worker(transactional_db: None) -> Iterator[Callable[..., WorkerProcess]]:
    """Start a real worker process (prefork, 2 processes) with anchoring settings from keyword arguments,
    e.g. ``anchoring_worker(ANCHOR_BATCH_SIZE=200)``. Every worker started is stopped at the end."""
    started: list[WorkerProcess] = []

    def start(**env: object) -> WorkerProcess:
        worker = WorkerProcess(extra_env={k: str(v) for k, v in env.items()}, concurrency=2).start()
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def own_anvil(tmp_path: Path, settings, anvil: Anvil) -> Iterator[Anvil]:  # type: ignore[no-untyped-def]
    """An Anvil of this test's own with its state in ``tmp_path``; ``settings.ETH_RPC_URL`` points at it
    (workers started afterwards use it too). Restart it with ``restart(node)``."""
    node = Anvil(chain_id=31337, state_file=tmp_path / "anvil-state.json",
                 log_file=ROOT / ".run" / "logs" / "anvil-test-own.log").start()
    settings.ETH_RPC_URL = node.url
    try:
        yield node
    finally:
        node.stop()


def stop_mid_run(node: Anvil) -> None:
    """Stop ``node`` (SIGTERM: it writes its state file) while transactions are being sent to it, as a node
    that goes away does: what it mined is kept, what waits in its pool is lost. Mining is switched off first:
    once (CI, 2026-12-07) a node stopped while it mined came back with a transaction's effects in the
    contract's storage (the keys' heads had moved, the nonce was spent) but without the transaction, its
    receipt or its ``Anchored`` logs, which no real node's restart does: a block mined while Anvil wrote its
    state file, as far as we can tell. With mining off, the file is written from a quiet node."""
    rpc_call(node.url, "evm_setAutomine", [False])
    time.sleep(0.3)  # a block being mined as the call arrived is finished
    node.stop()


def restart(node: Anvil) -> Anvil:
    """Start ``node`` again on its port from its state file (it was stopped with SIGTERM)."""
    node.process = None
    return node.start()


def deploy() -> ContractDeployment:
    from django.conf import settings

    call_command("deploy_contract", stdout=io.StringIO())
    deployment = deployment_current(chain_id=settings.CHAIN_ID)
    assert deployment is not None
    return deployment


@pytest.fixture
def rpc_outside_transactions(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[None]:
    """Every client ``ChainClient.from_settings()`` makes fails the test if it calls the node while the code
    under test holds a database transaction open."""
    from django.db import connection

    from chain_adapter.client import ChainClient
    from tests.chain_adapter.helpers import NoRpcInTransaction

    if request.node.get_closest_marker("django_db") is not None:
        request.getfixturevalue("_django_db_helper")  # the test's own transaction is open from here on
    monkeypatch.setattr(NoRpcInTransaction, "outer_depth", len(connection.atomic_blocks))
    monkeypatch.setattr(NoRpcInTransaction, "calls_in_transaction", [])
    original = ChainClient.from_settings.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(ChainClient, "from_settings", classmethod(lambda cls, lane=0: original(NoRpcInTransaction, lane)))
    yield
    assert NoRpcInTransaction.calls_in_transaction == []


@pytest.fixture
def batch(settings):  # type: ignore[no-untyped-def]
    """Set the anchoring knobs of an in-process ``run_once``: ``batch(size, max_wait=0, confirmations=1)``."""

    def configure(size: int, max_wait: int = 0, confirmations: int = 1) -> None:
        settings.ANCHOR_BATCH_SIZE = size
        settings.ANCHOR_MAX_WAIT_SECONDS = max_wait
        settings.ANCHOR_CONFIRMATIONS = confirmations

    return configure
