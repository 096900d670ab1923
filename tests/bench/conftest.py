"""Benchmarks run only when asked for: ``make bench`` (``pytest -m bench -s tests/bench``). In a plain
``pytest`` run (``make test``) they are collected and skipped."""

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "bench" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="a benchmark: run it with make bench (pytest -m bench -s tests/bench)")
    for item in items:
        if item.get_closest_marker("bench") is not None:  # not item.keywords: it holds the folder name too
            item.add_marker(skip)
