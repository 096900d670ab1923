"""Liveness and readiness for a load balancer or an orchestrator; no login, JSON only.

``/healthz`` (liveness) answers ``{"status": "ok"}`` as long as the process serves requests: it touches
nothing, so a database outage never makes an orchestrator restart healthy web processes.
``/readyz`` (readiness) runs every check and answers 200 when all pass, 503 otherwise, naming the failing
ones in ``failing``. The checks: the database answers; Redis (broker and cache) answers; the chain's node
answers ``eth_chainId`` with the configured chain id within ``HEALTH_RPC_TIMEOUT_MS``; the contract in use
(``chain_adapter.selectors.deployment_current``) has code on chain; and the oldest pending anchor record is
younger than ``READYZ_MAX_ANCHOR_LAG_SECONDS``. The node is asked with two plain JSON-RPC calls (no web3:
importing it costs a second).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from chain_adapter.selectors import anchoring_backlog, deployment_current

logger = logging.getLogger(__name__)


class CheckFailed(Exception):
    """A readiness check did not pass; the message says why."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    ms: float

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail, "ms": round(self.ms, 1)}


def _timeout() -> float:
    return int(getattr(settings, "HEALTH_RPC_TIMEOUT_MS", 2000)) / 1000


def rpc(method: str, params: list[object], *, timeout: float | None = None) -> object:
    """One JSON-RPC call to ``ETH_RPC_URL`` with ``timeout`` seconds (the health timeout by default);
    CheckFailed on any failure."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(settings.ETH_RPC_URL, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=_timeout() if timeout is None else timeout) as answer:  # noqa: S310 (the configured node)
            response = json.loads(answer.read())
    except (OSError, ValueError) as err:
        raise CheckFailed(f"the node does not answer {method} ({err.__class__.__name__})") from err
    if not isinstance(response, dict) or "result" not in response:
        raise CheckFailed(f"the node refused {method}: {response.get('error') if isinstance(response, dict) else response}")
    return response["result"]


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "answers"


def check_redis() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=_timeout(), socket_timeout=_timeout())
    try:
        client.ping()
    except redis.RedisError as err:
        raise CheckFailed(f"Redis does not answer ({err.__class__.__name__})") from err
    finally:
        client.close()
    return "answers"


def check_chain() -> str:
    answer = rpc("eth_chainId", [])
    chain_id = int(str(answer), 16)
    if chain_id != settings.CHAIN_ID:
        raise CheckFailed(f"the node is on chain {chain_id}, the portal expects {settings.CHAIN_ID}")
    return f"chain {chain_id}"


def check_contract() -> str:
    deployment = deployment_current(chain_id=settings.CHAIN_ID)
    if deployment is None:
        raise CheckFailed(f"no contract deployment is recorded for chain {settings.CHAIN_ID}")
    code = str(rpc("eth_getCode", [deployment.address, "latest"]))
    if code in ("", "0x", "0x0"):
        raise CheckFailed(f"no contract code at {deployment.address}")
    return f"code at {deployment.address}"


def anchoring_lag_seconds() -> float:
    """Age of the oldest pending anchor record, in seconds (0 when none waits)."""
    oldest = anchoring_backlog().oldest_pending_at
    return 0.0 if oldest is None else max(0.0, (timezone.now() - oldest).total_seconds())


def check_anchoring_lag() -> str:
    lag = anchoring_lag_seconds()
    limit = int(getattr(settings, "READYZ_MAX_ANCHOR_LAG_SECONDS", 300))
    if lag > limit:
        raise CheckFailed(f"the oldest pending anchor record waits {lag:.0f} s, over {limit} s")
    return f"{lag:.0f} s"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "redis": check_redis,
    "chain": check_chain,
    "contract": check_contract,
    "anchoring_lag": check_anchoring_lag,
}


def run_checks() -> list[CheckResult]:
    results = []
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            detail, ok = check(), True
        except CheckFailed as err:
            detail, ok = str(err), False
        except Exception as err:  # noqa: BLE001 - a readiness probe reports every failure, it never raises
            # The answer is public: the class only (a driver's message names hosts); the log has the rest.
            logger.warning("readiness check %s failed", name, exc_info=True)
            detail, ok = err.__class__.__name__, False
        results.append(CheckResult(name, ok, detail, (time.monotonic() - started) * 1000))
    return results


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    results = run_checks()
    failing = [r.name for r in results if not r.ok]
    body = {"status": "fail" if failing else "ok", "failing": failing, "checks": {r.name: r.as_dict() for r in results}}
    return JsonResponse(body, status=503 if failing else 200)
