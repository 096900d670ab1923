"""Transition throughput through the API with 8 clients (``tests/bench/api_transitions.py``)."""

import pytest

from tests.bench.api_transitions import api_transitions_bench
from tests.bench.report import bench_mode

pytestmark = [pytest.mark.bench, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


@pytest.mark.timeout(1800)
def test_transitions_through_the_api(anchor_contract):
    assert api_transitions_bench(bench_mode()).figures
