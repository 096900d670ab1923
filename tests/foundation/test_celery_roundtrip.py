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


def test_the_platforms_tasks_keep_no_results(celery_worker_process, demo_orgs):
    """Nobody reads what the platform's tasks return (the worker logs it): a stored result per transition
    (``oversight.evaluate_bill`` runs after every bill event) would fill Redis for a day each. Only the
    round-trip probe ``portal.echo`` keeps its result."""
    from finance_portal.celery import app
    from finance_portal.portal.tasks import worker_probe_process

    app.loader.import_default_modules()  # every app's tasks module, as the worker loads them
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert "oversight.evaluate_bill" in ours and "chain_adapter.anchor_pending" in ours
    assert sorted(name for name, task in ours.items() if not task.ignore_result) == ["portal.echo"]

    probe = WorkerProbe.objects.create()
    sent = worker_probe_process.delay(probe.pk)
    assert wait_for(lambda: WorkerProbe.objects.filter(pk=probe.pk, processed_at__isnull=False).exists())
    time.sleep(0.5)  # the worker would store a result right after the task returns
    assert app.backend.client.get(app.backend.get_key_for_task(sent.id)) is None
    kept = app.tasks["portal.echo"].delay("kept")
    assert kept.get(timeout=20) == "kept"
    assert app.backend.client.get(app.backend.get_key_for_task(kept.id)) is not None
