"""Bills anchored by a worker that is SIGKILLed in the middle of batches, twice, then restarted: every bill
event ends anchored exactly once, the anchoring nonces have no gaps, and ``reconcile`` finds nothing."""

import io

import pytest
from django.core.management import call_command

from bills import services
from bills.models import BillEvent
from chain_adapter.models import AnchorRecord, AnchorStatus
from chain_adapter.tasks import sweep
from tests.bills import factories as f
from tests.chain_adapter.conftest import anchoring_worker  # noqa: F401  (fixture)
from tests.chain_adapter.helpers import (
    assert_nonces_without_gaps,
    client_for,
    kill_with_a_batch_in_flight,
    mining_by_hand,
    wait_for,
)

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def confirmed() -> int:
    return AnchorRecord.objects.filter(status=AnchorStatus.CONFIRMED).count()


def state(worker) -> str:  # type: ignore[no-untyped-def]
    """What the outbox and the transactions look like, for a failure message."""
    from django.db.models import Count

    from chain_adapter.models import AnchorTransaction

    records = list(AnchorRecord.objects.values("status").annotate(n=Count("id")))
    errors = set(AnchorRecord.objects.exclude(last_error="").values_list("last_error", flat=True)[:5])
    txs = list(AnchorTransaction.objects.values("status").annotate(n=Count("id")))
    return f"records {records}, errors {errors}, transactions {txs}; see {getattr(worker, 'log', 'the worker logs')}"


def test_bill_events_survive_a_killed_worker_exactly_once(anvil, anchor_contract, anchoring_worker):  # noqa: F811
    world = f.build_world()
    for i in range(60):  # 60 bills, 3 events each, written before any worker runs
        bill = f.draft(world, face=f"{1000 + i}.00")
        services.bill_submit(bill_id=bill.pk, actor=world.user("supplier"))
        services.bill_accept(bill_id=bill.pk, actor=world.user("buyer"))
    total = BillEvent.objects.count()
    assert total == 180
    # Two events a transaction, two transactions in flight: 90 transactions. The test mines the blocks, so
    # each kill lands with a batch broadcast and unmined, however fast the machine.
    knobs = {"ANCHOR_BATCH_SIZE": 2, "ANCHOR_MAX_WAIT_SECONDS": 0, "ANCHOR_MAX_IN_FLIGHT": 2}
    with mining_by_hand(anvil.url) as mine:
        for _round in range(2):
            worker = anchoring_worker(**knobs)
            sweep.delay()  # what beat does every 15 s
            target = confirmed() + 20
            kill_with_a_batch_in_flight(worker, anvil.url, mine, lambda t=target: confirmed() >= t)
            assert confirmed() < total, state(worker)
    worker = anchoring_worker(**knobs)
    sweep.delay()
    assert wait_for(lambda: confirmed() == total, timeout=180), state(worker)  # the state when it timed out

    logs = client_for(anvil.url).anchored_logs(anchor_contract.address, from_block=anchor_contract.block_number)
    hashes = [log.event_hash for log in logs]
    assert len(hashes) == total and set(hashes) == set(BillEvent.objects.values_list("hash", flat=True))
    assert_nonces_without_gaps(anvil)
    out = io.StringIO()
    call_command("reconcile", stdout=out)  # exits non-zero (SystemExit) on any difference
    report = out.getvalue()
    assert "60 bills, 180 events" in report and "0 not anchored yet" in report, report
    assert "database and chain agree" in report, report
