"""The doorbell coalesces: while one ``anchor_pending`` message waits in the queue, untaken, a commit adds no
other; the task clears the flag as it starts, so the next commit rings again. Counted in this run's real Redis
queue (no worker consumes it here); the worker tests anchor through the same doorbell."""

import base64
import json
import time

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from chain_adapter import outbox, tasks
from chain_adapter.devnet import free_port
from tests.chain_adapter.helpers import chains, enqueue

pytestmark = pytest.mark.django_db(transaction=True)


def doorbells() -> int:
    """``anchor_pending`` messages waiting in this run's queue."""
    queue = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    names = []
    for raw in queue.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1):
        message = json.loads(raw)
        names.append(message["headers"]["task"])
        json.loads(base64.b64decode(message["body"]))  # a well-formed Celery message
    return names.count("chain_adapter.anchor_pending")


@pytest.fixture
def quiet_queue():
    queue = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    cache.delete(outbox.DOORBELL_QUEUED)
    yield
    queue.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    cache.delete(outbox.DOORBELL_QUEUED)


def test_commits_while_a_doorbell_waits_queue_no_other(quiet_queue):
    links = chains("coalesce", keys=5, per_key=1)
    for link in links:  # five transactions, five commits
        enqueue([link])
    assert doorbells() == 1
    assert cache.get(outbox.DOORBELL_QUEUED) == 1


def test_a_doorbell_taken_lets_the_next_commit_ring(quiet_queue, monkeypatch):
    enqueue(chains("taken-a", keys=1, per_key=1))
    assert doorbells() == 1
    ran = []
    monkeypatch.setattr(tasks.txmanager, "run_lanes", lambda: ran.append(cache.get(outbox.DOORBELL_QUEUED))
                        or tasks.txmanager.RunReport(acquired=False))
    tasks.anchor_pending.apply().get()  # what the worker does with the message it took
    assert ran == [None], "the flag must be cleared before the task reads the outbox"
    enqueue(chains("taken-b", keys=1, per_key=1))
    assert doorbells() == 2


def test_a_lost_doorbell_silences_the_others_for_seconds_only(quiet_queue, monkeypatch):
    enqueue(chains("lost-a", keys=1, per_key=1))
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(settings.CELERY_TASK_DEFAULT_QUEUE)  # the message lost
    enqueue(chains("lost-b", keys=1, per_key=1))
    assert doorbells() == 0
    time.sleep(outbox.DOORBELL_QUEUED_SECONDS + 0.2)
    enqueue(chains("lost-c", keys=1, per_key=1))
    assert doorbells() == 1


def test_without_the_cache_every_commit_rings(quiet_queue, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    for link in chains("nocache", keys=3, per_key=1):
        enqueue([link])
    assert doorbells() == 3


def test_a_failed_publish_clears_the_flag(quiet_queue, monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.anchor_pending, "delay", broker_down)
    with transaction.atomic():  # the hook is robust: the failure is logged, the commit stands
        enqueue(chains("down", keys=1, per_key=1))
    assert cache.get(outbox.DOORBELL_QUEUED) is None
    monkeypatch.undo()
    enqueue(chains("up", keys=1, per_key=1))
    assert doorbells() == 1
