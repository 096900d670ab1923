"""The viewer's membership is read once per request, and pages cost the same queries with 10 listings as with 50.

``membership_of`` is asked by the nav, the role checks and every selector of a page; within a request
(``organizations.selectors.membership_cache``, opened by the portal's middleware) it reads the database once.
Outside a request nothing is cached, a saved membership or organization clears the cache, and nothing read
inside a transaction the request opened is kept.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from finance_portal.organizations.models import KycStatus
from finance_portal.organizations.selectors import membership_cache, membership_of
from tests.bills.factories import World, build_world, financed, listed
from tests.conftest import login

pytestmark = pytest.mark.django_db

MEMBERSHIP_SQL = 'FROM "organizations_membership"'


def _get(client: Client, path: str) -> tuple[int, int]:
    """(queries, membership queries) of one GET of ``path``."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    sqls = [q["sql"] for q in captured.captured_queries]
    return len(sqls), sum(MEMBERSHIP_SQL in sql for sql in sqls)


def _add_listings(world: World, n: int) -> None:
    for i in range(n):
        listed(world, f"{1000 + i}.00", debtor="buyer2" if i % 2 else "buyer")


def test_marketplace_and_bill_pages_read_the_membership_once_with_10_listings_as_with_50():
    world = build_world()
    detail = financed(world, "5000.00")
    financier, supplier = login(Client(), "financier"), login(Client(), "supplier")
    pages = [(financier, "/marketplace/"), (financier, "/api/v1/marketplace/"),
             (supplier, f"/bills/{detail.pk}/"), (supplier, f"/api/v1/bills/{detail.pk}/")]
    _add_listings(world, 10)
    for client, path in pages:
        _get(client, path)  # warm-up: sessions, content types
    small = {path: _get(client, path) for client, path in pages}
    _add_listings(world, 40)
    large = {path: _get(client, path) for client, path in pages}
    assert large == small, f"(queries, membership queries) with 10 listings vs 50: {small} vs {large}"
    assert all(memberships == 1 for _, memberships in small.values()), small


def test_membership_of_outside_a_request_reads_every_time(django_assert_num_queries):
    world = build_world(funded=False)
    user = world.user("supplier")
    with django_assert_num_queries(2):
        membership_of(user)
        membership_of(user)


def test_the_cache_is_cleared_when_the_organization_is_saved(django_assert_num_queries):
    world = build_world(funded=False)
    user = world.user("supplier")
    with membership_cache():
        with django_assert_num_queries(1):
            first = membership_of(user)
            assert membership_of(user) is first
        org = world.org("supplier")
        org.kyc_status = KycStatus.SUSPENDED
        org.save()
        with django_assert_num_queries(1):
            again = membership_of(user)
        assert again is not None and again.organization.kyc_status == org.kyc_status


def test_nothing_read_inside_a_transaction_of_the_request_is_kept(django_assert_num_queries):
    world = build_world(funded=False)
    user = world.user("supplier")
    with membership_cache():
        with transaction.atomic(), django_assert_num_queries(2):
            membership_of(user)
            membership_of(user)  # may yet roll back: read again
        with django_assert_num_queries(1):
            membership_of(user)
            with membership_cache():  # a nested block shares the cache
                membership_of(user)
