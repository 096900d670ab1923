"""The beat's task name ``bills.mark_overdue`` reaches a real worker process through Redis and marks the
bills past maturity overdue in the database, as the platform."""

from __future__ import annotations

import datetime as dt

import pytest

from bills import clock
from bills.models import BillEvent, BillState
from finance_portal.celery import app
from tests.bills.factories import accepted, build_world, drain, refresh

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_beat_task_runs_in_a_worker(celery_worker_process, settings):
    world = build_world()
    drain(world.org("buyer"))  # nothing is settled from the debtor's cash at maturity: it goes overdue
    with clock.travel_to(clock.now() - dt.timedelta(days=40)):
        due = accepted(world, days=30)  # matured ten days ago
    fresh = accepted(world, days=30)
    assert settings.CELERY_BEAT_SCHEDULE["bills-overdue-and-default"]["task"] == "bills.mark_overdue"
    # the task keeps no result (nobody reads it on beat): this test asks for one to see the counts
    result = app.send_task("bills.mark_overdue", ignore_result=False).get(timeout=30)
    assert result == {"lapsed": 0, "settled": 0, "overdue": 1, "defaulted": 0}
    assert refresh(due).state == BillState.OVERDUE and refresh(fresh).state == BillState.ACCEPTED
    event = BillEvent.objects.get(bill=due, type="overdue")
    assert event.actor == world.org("platform") and event.details["days_past_due"] == 10
    assert app.send_task("bills.mark_overdue", ignore_result=False).get(timeout=30) == {"lapsed": 0, "settled": 0, "overdue": 0, "defaulted": 0}
