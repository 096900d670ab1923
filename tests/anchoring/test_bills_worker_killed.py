"""Bills anchored by a worker that is SIGKILLed in the middle of batches, twice, then restarted: every bill
event ends anchored exactly once, the anchoring nonces have no gaps, and ``reconcile`` finds nothing."""

import io
import signal

import pytest
from django.core.management import call_command

from bills import services
from bills.models import BillEvent
from chain_adapter.models import AnchorRecord, AnchorStatus
from chain_adapter.tasks import sweep
from tests.bills import factories as f
from tests.chain_adapter.conftest import anchoring_worker  # noqa: F401  (fixture)
from tests.chain_adapter.helpers import assert_nonces_without_gaps, client_for, wait_for

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def confirmed() -> int:
    return AnchorRecord.objects.filter(status=AnchorStatus.CONFIRMED).count()


def test_bill_events_survive_a_killed_worker_exactly_once(anvil, anchor_contract, anchoring_worker):  # noqa: F811
    world = f.build_world()
    for i in range(40):  # 40 bills, 3 events each, written before any worker runs
        bill = f.draft(world, face=f"{1000 + i}.00")
        services.bill_submit(bill_id=bill.pk, actor=world.user("supplier"))
        services.bill_accept(bill_id=bill.pk, actor=world.user("buyer"))
    total = BillEvent.objects.count()
    assert total == 120
    knobs = {"ANCHOR_BATCH_SIZE": 2, "ANCHOR_MAX_WAIT_SECONDS": 0}  # 60 transactions: time to kill
    for _round in range(2):
        worker = anchoring_worker(**knobs)
        sweep.delay()  # what beat does every 15 s
        target = confirmed() + 16
        assert wait_for(lambda t=target: confirmed() >= t, timeout=90, interval=0.02), f"see {worker.log}"
        worker.stop(signal.SIGKILL)
        assert confirmed() < total, "the kill came too late to hit a batch"
    worker = anchoring_worker(**knobs)
    sweep.delay()
    assert wait_for(lambda: confirmed() == total, timeout=180), f"not all anchored; see {worker.log}"

    logs = client_for(anvil.url).anchored_logs(anchor_contract.address, from_block=anchor_contract.block_number)
    hashes = [log.event_hash for log in logs]
    assert len(hashes) == total and set(hashes) == set(BillEvent.objects.values_list("hash", flat=True))
    assert_nonces_without_gaps(anvil)
    out = io.StringIO()
    call_command("reconcile", stdout=out)  # exits non-zero (SystemExit) on any difference
    assert "40 bills, 120 events (0 not anchored yet): database and chain agree" in out.getvalue()
