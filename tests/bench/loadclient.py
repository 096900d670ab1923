"""A small load client and a gunicorn of the benchmark's own, for the portal benchmarks.

The one thing to know: ``run_load`` keeps ``clients`` requests in flight at once (one thread and one HTTP
connection each) over a shuffled list of requests, so every endpoint is measured under the same mixed load;
latency is the client's wall time from sending the request to reading the whole body.
"""

from __future__ import annotations

import http.client
import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import import_module

from django.conf import settings

from chain_adapter.devnet import free_port
from finance_portal.settings.database import PREPARE_THRESHOLD
from tests.conftest import ROOT, _test_database_url


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str  # "api" or "page": they have different bars
    path: str
    headers: dict[str, str]


@dataclass
class LoadResult:
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # ms, per endpoint
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())


def session_cookie(username: str) -> dict[str, str]:
    """A logged-in session of ``username`` written straight into the session store, as a Cookie header."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model

    user = get_user_model().objects.get(username=username)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={store.session_key}"}


def api_token(username: str) -> dict[str, str]:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=get_user_model().objects.get(username=username))
    return {"Authorization": f"Token {token.key}", "Accept": "application/json"}


class Gunicorn:
    """``make run``'s web server (gunicorn, sync workers) on a free port, reading the test database."""

    def __init__(self, *, workers: int = 3, extra_env: dict[str, str] | None = None) -> None:
        self.workers = workers
        self.port = free_port()
        self.extra_env = extra_env or {}
        self.log = ROOT / ".run" / "logs" / f"gunicorn-bench-{os.getpid()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Gunicorn:
        env = os.environ.copy()
        env.update(
            DJANGO_SETTINGS_MODULE="finance_portal.settings.test",
            DATABASE_URL=_test_database_url(),
            TEST_DATABASE_NAME=settings.DATABASES["default"]["NAME"],
            ETH_RPC_URL=settings.ETH_RPC_URL,
            DEBUG="0",
            COMPILED_READS_CHECK="0",  # as in production: the suite checks them (finance_portal/compiled.py)
            DATABASE_PREPARE_THRESHOLD=str(PREPARE_THRESHOLD),  # the suite prepares at once
        )
        env.update(self.extra_env)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "finance_portal.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--timeout", "120", "--error-logfile", "-"],
            env=env, cwd=str(ROOT), stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited; see {self.log}"
            try:
                status, _ = request(self.port, "/healthz", {})
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer within 60 s; see {self.log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=10)


def request(port: int, path: str, headers: dict[str, str], conn: http.client.HTTPConnection | None = None,
            *, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    connection = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers={"Host": "127.0.0.1", **headers})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        if conn is None:
            connection.close()


def run_load(port: int, endpoints: list[Endpoint], *, per_endpoint: int, clients: int, seed: int = 1) -> LoadResult:
    """Send ``per_endpoint`` GETs to each endpoint, shuffled, ``clients`` at a time; time each one."""
    work: list[Endpoint] = [e for e in endpoints for _ in range(per_endpoint)]
    random.Random(seed).shuffle(work)
    lock = threading.Lock()
    result = LoadResult(seconds=0.0)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not work:
                    break
                endpoint = work.pop()
            started = time.perf_counter()
            try:
                status, body = request(port, endpoint.path, endpoint.headers, conn)
            except (OSError, http.client.HTTPException) as err:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                status, body = -1, repr(err).encode()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if status == 200:
                    result.latencies[endpoint.name].append(elapsed)
                else:
                    result.errors[endpoint.name].append(f"{status}: {body[:200]!r}")
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - started
    return result

