"""Fixtures of the notification tests: the bills tests' world, with an email address for every demo user."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.bills.factories import World, build_world


@pytest.fixture
def world(db: None) -> World:
    made = build_world()
    for user in get_user_model().objects.all():
        user.email = f"{user.username}@example.test"
        user.save(update_fields=["email"])
    return made
