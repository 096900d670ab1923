"""Celery tasks of the anchoring pipeline."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="chain_adapter.anchor_pending", acks_late=True, ignore_result=True)
def anchor_pending() -> None:
    """Anchor what waits in the outbox. Filled in by the transaction manager (issue 4)."""
    from chain_adapter import txmanager  # noqa: F401  (the transaction manager module provides run_once)

    txmanager.run_once()
