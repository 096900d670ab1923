"""Celery tasks of the credit app. Thin: they call the services and return what they did."""

from __future__ import annotations

from celery import shared_task

from sme_credit.services import credit_profiles_refresh_from_events


@shared_task(name="sme_credit.refresh_profiles", acks_late=True, ignore_result=True)
def refresh_profiles() -> dict[str, int]:
    """From Celery beat every few minutes, or on demand: recompute the profiles and scores of the organizations
    named in bill events since the last run (the watermark). Idempotent; overlapping runs skip."""
    return credit_profiles_refresh_from_events()
