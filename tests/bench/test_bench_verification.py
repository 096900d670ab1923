"""Bundle verification speed (``tests/bench/verification.py``); the smoke run is in ``test_smoke.py``."""

import pytest

from tests.bench.report import bench_mode
from tests.bench.verification import verification_bench

pytestmark = [pytest.mark.bench, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


@pytest.mark.timeout(600)
def test_verify_a_20_event_bundle(anchor_contract):
    assert verification_bench(bench_mode()).figures
