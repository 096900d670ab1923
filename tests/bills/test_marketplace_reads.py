"""The marketplace's per-row work: the page's links are the routes' own (reversed once per page), and the page
and the API read a fixed number of queries whatever the number of listings."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from bills.market_views import bill_url_maker
from bills.models import Bill
from tests.bills.factories import listed

pytestmark = pytest.mark.django_db


def test_the_row_links_are_what_reverse_gives(world):
    bills = [listed(world), listed(world)]
    for route in ("bills:listing", "verify", "bills:buy-confirm"):
        url = bill_url_maker(route)
        for bill in bills:
            assert url(bill.pk) == reverse(route, args=[bill.pk])
    client = APIClient()
    client.force_login(world.user("financier"))
    page = client.get("/marketplace/").content.decode()
    for bill in bills:
        for route in ("bills:listing", "verify", "bills:buy-confirm"):
            assert f'href="{reverse(route, args=[bill.pk])}"' in page


def _queries(client: APIClient, url: str) -> int:
    client.get(url)  # warm: a session's first request may renew it
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(("url", "most"), [("/api/v1/marketplace/", 5), ("/marketplace/", 7)])
def test_the_marketplace_reads_a_few_queries_for_one_listing_or_thirty(world, url, most):
    client = APIClient()
    client.force_login(world.user("financier"))
    listed(world)
    one = _queries(client, url)
    for _ in range(29):
        listed(world)
    assert Bill.objects.filter(state="listed").count() == 30
    assert _queries(client, url) == one <= most
