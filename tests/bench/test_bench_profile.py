"""Where the anchoring time goes (issue 12, item 1: "if it still misses, profile (py-spy)"). Opt-in:
``BENCH_PROFILE=1 make bench PYTEST_ARGS="-k profile"``.

make run's worker (``MAKE_RUN_ANCHORING``: its anchor keys, batch size and in-flight limit) anchors
``BENCH_PROFILE_KEYS`` × 5 events on a one-second-block Anvil of its own while py-spy samples the worker's
processes (wall time, idle included, per thread). The report, written to
``docs/bench-results/<date>-anchoring-profile.txt``, gives the share of the broadcaster threads' wall time
spent in each function of ``chain_adapter`` and, line by line, in the steps of a batch; beside it the CPU
seconds of the worker, Anvil and the run's wall time.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from django.db import transaction

from chain_adapter.devnet import Anvil
from chain_adapter.models import AnchorRecord, AnchorStatus
from chain_adapter.outbox import ring_doorbell_on_commit
from tests.bench.chain_capacity import _reset, _worker, make_run_profile
from tests.bench.report import RESULTS_DIR, load_average, machine_line
from tests.bench.spy import summarize
from tests.chain_adapter.helpers import chains

pytestmark = [pytest.mark.bench, pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not os.environ.get("BENCH_PROFILE"), reason="opt-in: BENCH_PROFILE=1")]

KEYS = int(os.environ.get("BENCH_PROFILE_KEYS", "4000"))  # × 5 events
STEPS = ("Broadcaster.run", "Broadcaster._send_next_batch", "plan_pending", "Tracker.advance",
         "Tracker.on_receipt")


def _cpu(process: psutil.Process) -> float:
    return sum(p.cpu_times().user + p.cpu_times().system for p in [process, *process.children(recursive=True)])


@pytest.mark.timeout(1800)
def test_profile_make_runs_worker(settings, tmp_path):
    node = Anvil(chain_id=31337, block_time=1).start()
    settings.ETH_RPC_URL = node.url
    profile = make_run_profile()
    raw = tmp_path / "spy.txt"
    try:
        _reset(int(profile["ANCHOR_SENDERS"]))
        worker = _worker(profile)
        assert worker.process is not None
        links = chains("profile", keys=KEYS, per_key=5)
        main, anvil = psutil.Process(worker.process.pid), psutil.Process(node.process.pid)  # type: ignore[union-attr]
        spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(main.pid),
                                "--subprocesses", "--idle", "--threads", "--rate", "100", "--format", "raw",
                                "-o", str(raw)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        time.sleep(1.0)  # py-spy attached
        cpu_worker, cpu_anvil = _cpu(main), _cpu(anvil)
        with transaction.atomic():
            AnchorRecord.objects.bulk_create(
                [AnchorRecord(key=k, prev_hash=p, event_hash=e) for k, p, e in links], batch_size=5000)
            ring_doorbell_on_commit()
        started = time.monotonic()
        while AnchorRecord.objects.filter(status=AnchorStatus.CONFIRMED).count() < len(links):
            assert time.monotonic() - started < 1500, f"stalled; see {worker.log}"
            time.sleep(0.2)
        wall = time.monotonic() - started
        cpu_worker, cpu_anvil = _cpu(main) - cpu_worker, _cpu(anvil) - cpu_anvil
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
        worker.stop()
    finally:
        node.stop()
    summary = summarize(raw, thread="anchor-lane", functions=STEPS)
    if not summary.samples:  # one sender: the broadcaster runs in the task's own thread
        summary = summarize(raw, thread="MainThread", functions=STEPS)
    text = (f"make run's worker ({', '.join(f'{k}={v}' for k, v in profile.items())}) anchoring {len(links):,} "
            f"events on 1-s blocks: {wall:.1f} s wall ({len(links) / wall:,.0f} events/s); CPU: worker {cpu_worker:.1f} s,"
            f" Anvil {cpu_anvil:.1f} s; load {load_average()}\nmachine: {machine_line()}\n\n"
            + summary.table(prefix="chain_adapter") + "\n")
    path = RESULTS_DIR / f"{dt.datetime.now(dt.UTC):%Y-%m-%d}-anchoring-profile.txt"
    path.write_text(text, encoding="utf-8")
    print(text)
    print(f"profile written to {path}")
    assert summary.samples > 0
