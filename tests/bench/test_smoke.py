"""The benchmark code, run once in ``make test`` with tiny sizes so it cannot rot: it asserts that figures were
produced and written, never how fast anything was (speed is ``make bench``'s business)."""

import json

import pytest

from tests.bench.api_transitions import api_transitions_bench
from tests.bench.chain_capacity import chain_capacity_bench
from tests.bench.portal import portal_bench
from tests.bench.verification import verification_bench

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


@pytest.mark.timeout(300)
def test_portal_benchmark_runs_on_tiny_data(anchor_contract, tmp_path):
    report = portal_bench("smoke", results_dir=tmp_path)
    names = [f.name for f in report.figures]
    assert any(n.startswith("marketplace API p95") for n in names)
    assert any(n.startswith("reconcile over") for n in names)
    runs = json.loads(next(tmp_path.glob("*-portal.json")).read_text())
    assert runs[-1]["figures"] and runs[-1]["machine"]["cores"]
    assert list(tmp_path.glob("*-portal-explain-smoke.txt"))


@pytest.mark.timeout(120)
def test_verification_benchmark_runs_on_tiny_data(anchor_contract, tmp_path):
    report = verification_bench("smoke", results_dir=tmp_path)
    assert report.figures[0].unit == "ms" and report.figures[0].value > 0
    assert list(tmp_path.glob("*-verification.json"))


@pytest.mark.worker
@pytest.mark.timeout(240)
def test_chain_capacity_benchmark_runs_on_tiny_data(tmp_path):
    report = chain_capacity_bench("smoke", results_dir=tmp_path)
    names = [f.name for f in report.figures]
    assert "events anchored per second (median)" in names and "latency commit → confirmed p95" in names
    assert list(tmp_path.glob("*-anchoring-blocktime.json"))


@pytest.mark.timeout(120)
def test_api_transitions_benchmark_runs_on_tiny_data(anchor_contract, tmp_path):
    report = api_transitions_bench("smoke", results_dir=tmp_path)
    assert any(f.name == "transition p95" for f in report.figures)
    assert {"accept p95", "list p95", "buy p95", "settle p95"} <= {f.name for f in report.figures}
