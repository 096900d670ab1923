"""Celery tasks of the anchoring pipeline: the doorbell and the sweeper (STYLE habit 4).

The outbox is the truth and these tasks only ring the doorbell: they take no arguments, are idempotent
(``run_once`` reads what waits from the database, under the broadcaster lock), acknowledge late, and
retry transient chain errors with exponential backoff and jitter, a bounded number of times. After that,
or after a permanent error, the beat sweeper rings again every 15 s for rows that waited too long.
"""

from __future__ import annotations

import logging
import random

from celery import shared_task
from django.core.cache import cache

from chain_adapter import txmanager
from chain_adapter.conf import anchoring_settings
from chain_adapter.errors import PermanentChainError, TransientChainError
from chain_adapter.outbox import doorbell_taken
from chain_adapter.selectors import anchoring_overdue

logger = logging.getLogger(__name__)

MAX_RETRIES = 6
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
RETRY_FLAG = "chain_adapter:anchor-retry-scheduled"


def backoff_seconds(retries: int) -> float:
    """Full-jitter exponential backoff: uniform in [base/2, min(cap, base * 2**retries)]."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**retries)
    return random.uniform(BACKOFF_BASE_SECONDS / 2, max(ceiling, BACKOFF_BASE_SECONDS))


@shared_task(bind=True, name="chain_adapter.anchor_pending", acks_late=True, ignore_result=True,
             max_retries=MAX_RETRIES)
def anchor_pending(self) -> None:  # type: ignore[no-untyped-def]
    """Anchor what waits in the outbox (``txmanager.run_lanes``: one broadcaster per anchor sender); ring again
    if a run left work behind.

    Transient chain errors are retried with backoff, by one task at a time: when many doorbells fail
    together (the node is down), only the first schedules retries, the others end.
    """
    doorbell_taken()
    try:
        report = txmanager.run_lanes()
    except TransientChainError as err:
        retries = self.request.retries
        if retries >= MAX_RETRIES:
            logger.warning("anchoring waits for the chain (%s); the sweeper will ring again", err)
            return
        countdown = backoff_seconds(retries)
        if not cache.add(RETRY_FLAG, 1, timeout=int(countdown) + 5) and retries == 0:
            return  # another doorbell already retries
        cache.set(RETRY_FLAG, 1, timeout=int(countdown) + 5)
        logger.info("anchoring waits for the chain (%s); retry %s in %.1f s", err, retries + 1, countdown)
        raise self.retry(exc=err, countdown=countdown) from err
    except PermanentChainError as err:
        logger.error("anchoring stopped: %s", err)
        return
    if report.work_left:
        anchor_pending.delay()


@shared_task(name="chain_adapter.sweep", acks_late=True, ignore_result=True)
def sweep() -> bool:
    """Beat task: ring the doorbell when a record has waited longer than ANCHOR_MAX_WAIT_SECONDS or a
    transaction is still unconfirmed. Returns whether it rang."""
    if anchoring_overdue(max_wait_seconds=anchoring_settings().max_wait_seconds):
        anchor_pending.delay()
        return True
    return False
