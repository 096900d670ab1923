"""Fixtures of the oversight tests: the bills tests' world (demo organizations, funded) and raw SQL edits."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.bills.factories import World, build_world


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def sql(statement: str, params: list[object]) -> None:
    """An edit behind the application's back: a privileged session that skips triggers."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(statement, params)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
