"""A task queued by a web request runs in a real worker process, through Redis, against the test database."""

import time

import pytest
from django.test import Client

from finance_portal.portal.models import WorkerProbe
from tests.conftest import login

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_probe_queued_from_a_page_is_processed_by_the_worker(celery_worker_process, demo_orgs):
    client = Client()
    login(client, "admin")
    response = client.post("/ops/worker/")
    assert response.status_code == 302
    probe = WorkerProbe.objects.get()
    assert wait_for(lambda: WorkerProbe.objects.filter(pk=probe.pk, processed_at__isnull=False).exists()), (
        f"the worker never processed the probe; see {celery_worker_process.log}"
    )
    probe.refresh_from_db()
    assert probe.worker


def test_a_task_result_comes_back_through_redis(celery_worker_process):
    from finance_portal.portal.tasks import echo

    assert echo.delay("ping").get(timeout=20) == "ping"


def test_the_worker_status_page_is_for_staff_only(demo_orgs):
    client = Client()
    login(client, "supplier")
    assert client.post("/ops/worker/").status_code == 404
    assert not WorkerProbe.objects.exists()
