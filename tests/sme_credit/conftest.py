"""Fixtures of the credit tests: the bills tests' world (demo organizations, funded financiers and buyers)."""

from __future__ import annotations

import pytest

from tests.bills.factories import World, build_world


@pytest.fixture
def world(db: None) -> World:
    return build_world()
