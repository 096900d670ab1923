"""The portal at scale (``tests/bench/portal.py``): ``make bench`` at 1,000 and 100,000 bills, ``make bench-quick``
at 1,000 and 5,000. ``tests/bench/test_smoke.py`` runs the same code with tiny sizes in ``make test``."""

import pytest

from tests.bench.portal import portal_bench
from tests.bench.report import bench_mode

pytestmark = [pytest.mark.bench, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


@pytest.mark.timeout(3600)
def test_portal_at_scale(anchor_contract):
    report = portal_bench(bench_mode())
    assert report.figures
