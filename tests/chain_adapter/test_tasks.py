"""The Celery tasks, run in-process: the doorbell is idempotent, retries transient errors with bounded
backoff and jitter, and the sweeper rings only for rows that waited too long."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chain_adapter import tasks
from chain_adapter.devnet import free_port
from chain_adapter.models import AnchorRecord, AnchorStatus
from tests.chain_adapter.helpers import chains, enqueue

pytestmark = pytest.mark.django_db


def test_backoff_grows_is_capped_and_jittered():
    for retries in range(10):
        values = [tasks.backoff_seconds(retries) for _ in range(50)]
        ceiling = min(tasks.BACKOFF_CAP_SECONDS, tasks.BACKOFF_BASE_SECONDS * 2**retries)
        assert all(tasks.BACKOFF_BASE_SECONDS / 2 <= v <= max(ceiling, 1.0) for v in values)
        if retries >= 2:
            assert len(set(values)) > 1


def test_the_tasks_acknowledge_late_and_take_no_objects():
    for task in (tasks.anchor_pending, tasks.sweep):
        assert task.acks_late is True
    assert tasks.anchor_pending.max_retries == tasks.MAX_RETRIES


@pytest.mark.chain
def test_the_doorbell_anchors_and_ringing_again_changes_nothing(anvil, anchor_contract, settings):
    settings.ANCHOR_BATCH_SIZE = 5
    settings.ANCHOR_MAX_WAIT_SECONDS = 0
    ids = enqueue(chains("doorbell", keys=3, per_key=2))
    tasks.anchor_pending.apply().get()
    confirmed = list(AnchorRecord.objects.filter(pk__in=ids).values_list("pk", "status", "tx_hash", "log_index"))
    assert {status for _pk, status, _tx, _li in confirmed} == {AnchorStatus.CONFIRMED}
    tasks.anchor_pending.apply().get()
    assert list(AnchorRecord.objects.filter(pk__in=ids).values_list("pk", "status", "tx_hash", "log_index")) == confirmed


@pytest.mark.chain
def test_the_doorbell_gives_up_after_bounded_retries_while_the_node_is_down(anvil, anchor_contract, settings):
    from django.core.cache import cache

    cache.delete(tasks.RETRY_FLAG)
    settings.ETH_RPC_URL = f"http://127.0.0.1:{free_port()}"
    ids = enqueue(chains("down", keys=2, per_key=1))
    result = tasks.anchor_pending.apply()  # eager: each retry runs at once, without the countdown
    assert result.successful()
    for record in AnchorRecord.objects.filter(pk__in=ids):
        assert record.status == AnchorStatus.PENDING and "unreachable" in record.last_error
    cache.delete(tasks.RETRY_FLAG)


def test_the_sweeper_rings_only_for_rows_that_waited_too_long(settings):
    settings.ANCHOR_MAX_WAIT_SECONDS = 30
    assert tasks.sweep() is False
    [record_id] = enqueue(chains("sweep", keys=1, per_key=1))
    assert tasks.sweep() is False  # fresh: its own doorbell is enough
    AnchorRecord.objects.filter(pk=record_id).update(created_at=timezone.now() - timedelta(seconds=31))
    assert tasks.sweep() is True
    AnchorRecord.objects.filter(pk=record_id).update(status=AnchorStatus.FAILED)
    assert tasks.sweep() is False  # failed rows wait for an operator, not for the sweeper
