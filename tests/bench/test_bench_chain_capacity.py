"""Anchoring at 1-s blocks with make run's worker (``tests/bench/chain_capacity.py``)."""

import pytest

from tests.bench.chain_capacity import chain_capacity_bench
from tests.bench.report import bench_mode

pytestmark = [pytest.mark.bench, pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.timeout(3600)
def test_anchoring_at_one_second_blocks():
    assert chain_capacity_bench(bench_mode()).figures
