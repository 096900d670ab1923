"""The chain banner of signed-in pages: ``/status/anchoring/`` says whether the chain's node answers and
whether anchoring lags, as a fragment that ``templates/portal/_chain_banner.html`` loads after the page.

The one thing to know: a page never waits for the chain. The banner is fetched by htmx once the page is
shown, and the endpoint answers from a status cached for ``CHAIN_STATUS_CACHE_SECONDS`` (5 s): at most one
request per cache period probes the node (``eth_chainId``, ``CHAIN_STATUS_RPC_TIMEOUT_MS``, default 800 ms,
guarded by a lock in the cache) and counts the oldest record still waiting to be anchored; the others use
the last known status (kept a minute), or say nothing while there is none.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chain_adapter.models import AnchorRecord, AnchorStatus
from finance_portal.portal.health import CheckFailed, rpc

logger = logging.getLogger(__name__)

FRESH_KEY = "portal:chain-status:fresh"
STALE_KEY = "portal:chain-status:last"
LOCK_KEY = "portal:chain-status:probing"
STALE_SECONDS = 60


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def anchoring_lag_seconds() -> float:
    """Age of the oldest record not anchored yet (waiting or in a transaction not confirmed), in seconds;
    0 when none waits. One query."""
    oldest = (AnchorRecord.objects.filter(status__in=[AnchorStatus.PENDING, AnchorStatus.SENT])
              .aggregate(oldest=Min("created_at"))["oldest"])
    return 0.0 if oldest is None else max(0.0, (timezone.now() - oldest).total_seconds())


def probe_chain() -> dict[str, Any]:
    """Ask the node once, with a short timeout, and count the anchoring lag: the status the banner shows.
    ``node_ok`` is False when the node does not answer or is on another chain; ``lag_minutes`` is set when
    the oldest waiting record is older than ``CHAIN_STATUS_MAX_LAG_SECONDS`` (default
    ``READYZ_MAX_ANCHOR_LAG_SECONDS``, the readiness check's limit)."""
    timeout = _setting("CHAIN_STATUS_RPC_TIMEOUT_MS", 800) / 1000
    try:
        node_ok = int(str(rpc("eth_chainId", [], timeout=timeout)), 16) == settings.CHAIN_ID
    except (CheckFailed, ValueError):
        node_ok = False
    lag = anchoring_lag_seconds()
    limit = _setting("CHAIN_STATUS_MAX_LAG_SECONDS", _setting("READYZ_MAX_ANCHOR_LAG_SECONDS", 300))
    return {"node_ok": node_ok, "lag_minutes": math.ceil(lag / 60) if lag > limit else None}


def chain_status() -> dict[str, Any] | None:
    """The cached status; probes when it is stale and no other request is probing. None when unknown."""
    try:
        status = cache.get(FRESH_KEY)
        if status is not None:
            return dict(status)
        lock_seconds = math.ceil(_setting("CHAIN_STATUS_RPC_TIMEOUT_MS", 800) / 1000) + 5
        if not cache.add(LOCK_KEY, 1, timeout=lock_seconds):
            last = cache.get(STALE_KEY)
            return dict(last) if last is not None else None
    except Exception:  # noqa: BLE001 - the cache being down must not turn a banner into an error
        logger.warning("chain status: the cache does not answer", exc_info=True)
        return None
    try:
        status = probe_chain()
        cache.set(FRESH_KEY, status, _setting("CHAIN_STATUS_CACHE_SECONDS", 5))
        cache.set(STALE_KEY, status, STALE_SECONDS)
    except Exception:  # noqa: BLE001 - as above: no banner rather than a broken page
        logger.warning("chain status could not be determined", exc_info=True)
        return None
    finally:
        try:
            cache.delete(LOCK_KEY)
        except Exception:  # noqa: BLE001, S110 - the lock expires by itself
            pass
    return status


@never_cache
@require_GET
def anchoring_status(request: HttpRequest) -> HttpResponse:
    """The banner's fragment for a signed-in user: empty when all is well. 204 (htmx swaps nothing) for
    anyone else."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    return render(request, "portal/_chain_banner_status.html", {"status": chain_status()})
