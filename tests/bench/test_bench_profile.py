"""Where the anchoring time goes (issue 12, item 1: "if it still misses, profile"). Opt-in:
``BENCH_PROFILE=1 make bench PYTEST_ARGS="-k profile"``. py-spy is not installed here, so this runs the
transaction manager in process (``txmanager.run_once``, the body of the worker's task) under cProfile, against a
one-second-block Anvil of its own, with the tuned settings of ``chain_capacity`` (batch 200, 16 in flight), and
writes the top functions by own time and by cumulative time to ``docs/bench-results/<date>-anchoring-profile.txt``.
"""

import cProfile
import datetime as dt
import io
import os
import pstats
import time

import pytest
from django.db import transaction

from chain_adapter import txmanager
from chain_adapter.devnet import Anvil
from chain_adapter.models import AnchorRecord, AnchorStatus
from chain_adapter.outbox import ring_doorbell_on_commit
from chain_adapter.services import contract_deploy
from tests.bench.chain_capacity import TUNED_BATCH, TUNED_IN_FLIGHT
from tests.bench.report import RESULTS_DIR, load_average, machine_line
from tests.chain_adapter.helpers import chains

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not os.environ.get("BENCH_PROFILE"), reason="opt-in: BENCH_PROFILE=1")]

EVENTS_KEYS = int(os.environ.get("BENCH_PROFILE_KEYS", "4000"))  # × 5 events


@pytest.mark.timeout(1800)
def test_profile_the_transaction_manager(settings):
    node = Anvil(chain_id=31337, block_time=1).start()
    settings.ETH_RPC_URL = node.url
    settings.ANCHOR_BATCH_SIZE = TUNED_BATCH
    settings.ANCHOR_MAX_IN_FLIGHT = TUNED_IN_FLIGHT
    settings.ANCHOR_MAX_WAIT_SECONDS = 0
    try:
        contract_deploy(force_new=True)
        links = chains("profile", keys=EVENTS_KEYS, per_key=5)
        with transaction.atomic():
            AnchorRecord.objects.bulk_create(
                [AnchorRecord(key=k, prev_hash=p, event_hash=e) for k, p, e in links], batch_size=5000)
            ring_doorbell_on_commit()
        profiler = cProfile.Profile()
        started = time.monotonic()
        cpu_started = time.process_time()
        profiler.enable()
        while AnchorRecord.objects.filter(status=AnchorStatus.CONFIRMED).count() < len(links):
            assert time.monotonic() - started < 1500
            txmanager.run_once(budget_seconds=60)
        profiler.disable()
        wall, cpu = time.monotonic() - started, time.process_time() - cpu_started
    finally:
        node.stop()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write(f"Anchoring {len(links):,} events in process, batch {TUNED_BATCH}, {TUNED_IN_FLIGHT} in flight, 1-s "
              f"blocks: {wall:.1f} s wall, {cpu:.1f} s CPU in this process ({len(links) / wall:,.0f} events/s), "
              f"load {load_average()}\nmachine: {machine_line()}\n\n== by own time\n")
    stats.sort_stats("tottime").print_stats(30)
    out.write("\n== by cumulative time\n")
    stats.sort_stats("cumulative").print_stats(40)
    path = RESULTS_DIR / f"{dt.datetime.now(dt.UTC):%Y-%m-%d}-anchoring-profile.txt"
    path.write_text(out.getvalue().replace(str(RESULTS_DIR.parents[1]) + "/", ""), encoding="utf-8")
    print(out.getvalue()[:3000])
    print(f"profile written to {path}")
