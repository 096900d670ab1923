"""Fixtures of the ledger tests: the demo organizations and users (``finance_portal.portal.demo``), plus a
platform staff member who is not a superuser (``ops``) and a platform member who is not staff (``clerk``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from finance_portal.ledger import services
from finance_portal.ledger.models import JournalEntry, Posting
from finance_portal.organizations.models import Organization
from finance_portal.organizations.services import member_create
from finance_portal.portal.demo import load_demo_organizations


@dataclass
class World:
    orgs: dict[str, Organization]

    def org(self, key: str) -> Organization:
        return self.orgs[key]

    def user(self, username: str):  # type: ignore[no-untyped-def]
        return get_user_model().objects.get(username=username)

    def client(self, username: str | None) -> APIClient:
        client = APIClient()
        if username is not None:
            client.force_login(self.user(username))
        return client


def build_world() -> World:
    orgs = load_demo_organizations()
    platform = orgs["platform"]
    member_create(organization=platform, username="ops", password="x-ops-12345", is_staff=True)
    member_create(organization=platform, username="clerk", password="x-clerk-12345")
    return World(orgs=orgs)


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def deposit(world: World, org: str, amount: str, reference: str | None = None, currency: str = "CNY") -> JournalEntry:
    """Fund ``org`` through the real service, as the system (actor None)."""
    deposit.n += 1  # type: ignore[attr-defined]
    return services.deposit_record(
        organization=world.org(org), amount=amount, currency=currency,
        reference=reference or f"BANK-{deposit.n}", reason="test funding", actor=None,  # type: ignore[attr-defined]
    )


deposit.n = 0  # type: ignore[attr-defined]


def balance(world: World, org: str, currency: str = "CNY") -> Decimal:
    from finance_portal.ledger.selectors import account_balance

    return account_balance(services.cash_account(world.org(org), currency))


def counts() -> tuple[int, int]:
    return JournalEntry.objects.count(), Posting.objects.count()
