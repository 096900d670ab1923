"""Fixtures of the bills tests; the factories live in ``tests.bills.factories``."""

from __future__ import annotations

import pytest

from tests.bills.factories import World, build_world


@pytest.fixture
def world(db: None) -> World:
    return build_world()
