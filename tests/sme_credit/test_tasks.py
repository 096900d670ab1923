"""Profiles follow the bill event log: the beat task ``sme_credit.refresh_profiles`` and ``manage.py credit_refresh``."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.management import call_command

from bills import services
from bills.models import BillEvent
from sme_credit.models import CreditProfile, CreditScore, RefreshWatermark
from sme_credit.tasks import refresh_profiles
from tests.bills.factories import financed, past

pytestmark = pytest.mark.django_db


def test_the_task_recomputes_the_profiles_of_the_organizations_in_new_events(world):
    bill = financed(world, days=30)
    result = refresh_profiles()
    assert result["organizations"] >= 2
    assert RefreshWatermark.objects.get().last_event_id == BillEvent.objects.order_by("-id").first().pk
    assert CreditProfile.objects.get(organization=world.org("buyer")).settled_on_time == 0
    with past(30):
        services.bill_settle(bill_id=bill.pk, actor=world.user("buyer"))
        refresh_profiles()
    assert CreditProfile.objects.get(organization=world.org("buyer")).settled_on_time == 1
    latest = CreditScore.objects.filter(organization=world.org("buyer")).order_by("-computed_at", "-id").first()
    assert {"factor": "on_time", "value": 1, "points": 10, "reason": "1 bill settled on time: +10"} in latest.factors


def test_organizations_without_new_events_are_left_alone(world):
    financed(world)
    refresh_profiles()
    assert not CreditProfile.objects.filter(organization=world.org("supplier2")).exists()


def test_the_task_is_on_the_beat_schedule():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "sme_credit.refresh_profiles" in tasks
    assert settings.BILL_PURCHASE_POLICIES == ["sme_credit.policies.exposure_within_limit"]


def test_the_command_refreshes_on_demand(world):
    out = io.StringIO()
    call_command("credit_refresh", "--org", world.org("supplier2").credit_code, stdout=out)
    assert CreditScore.objects.filter(organization=world.org("supplier2")).count() == 1
    assert out.getvalue().startswith(world.org("supplier2").credit_code)
    call_command("credit_refresh", stdout=out)
    assert "refreshed up to bill event" in out.getvalue()
