"""Celery messages that only say "look at the database": one waiting in the queue is enough.

``ring`` sends such a message unless one sent under the same flag still waits, untaken (the flag: a cache key
set with ``cache.add``, Redis ``SET NX``, expiring after ``seconds``); the task calls ``taken`` as it starts,
before it reads what waits, so a commit that found the flag set is read by that task. A lost message silences
the others for ``seconds`` at most. Without the cache, every ring sends (the flag is an economy, not a rule).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.cache import cache

logger = logging.getLogger(__name__)

FLAG_SECONDS = 2


def ring(flag: str, send: Callable[[], object], *, seconds: int = FLAG_SECONDS) -> bool:
    """Call ``send`` unless a message sent under ``flag`` waits; whether it was called."""
    try:
        if not cache.add(flag, 1, timeout=seconds):
            return False  # one waits, untaken: the task it starts reads what this ring is about
    except Exception:  # noqa: BLE001 - without the cache, send anyway
        logger.warning("doorbell flag %s unavailable; sending without it", flag, exc_info=True)
    try:
        send()
    except Exception:
        cache.delete(flag)  # nothing waits after all: the next ring sends again
        raise
    return True


def taken(flag: str) -> None:
    """The task of ``flag`` has started: from now on a ring sends again."""
    try:
        cache.delete(flag)
    except Exception:  # noqa: BLE001 - the flag expires by itself
        logger.warning("doorbell flag %s unavailable", flag, exc_info=True)
