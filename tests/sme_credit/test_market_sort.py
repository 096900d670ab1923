"""Financiers sort the marketplace by the debtor's or the seller's credit score (API and page); the scores
ride along in the listing; an unknown order is a 400 naming the field in the API and the default on the page."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from sme_credit.models import CreditScore
from tests.bills.factories import listed

pytestmark = pytest.mark.django_db


def score(org, value: int) -> None:
    CreditScore.objects.create(organization=org, score=value, computed_at=timezone.now(), factors=[], formula="test")


@pytest.fixture
def market(world):
    bills = {
        "a": listed(world, "10000.00", debtor="buyer", supplier="supplier", days=30),
        "b": listed(world, "20000.00", debtor="buyer2", supplier="supplier", days=60, rate="0.05"),
        "c": listed(world, "30000.00", debtor="buyer2", supplier="supplier2", days=90, rate="0.04"),
    }
    score(world.org("buyer"), 600)
    score(world.org("buyer2"), 500)
    score(world.org("buyer2"), 780)  # the latest counts
    score(world.org("supplier2"), 820)  # supplier has no score: last when sorting by the seller's
    return bills


def numbers(response, bills) -> list[str]:
    names = {str(b.pk): k for k, b in bills.items()}
    return [names[row["id"]] for row in response.json()["results"]]


def api(world) -> APIClient:
    client = APIClient()
    client.force_login(world.user("financier"))
    return client


@pytest.mark.parametrize(("sort", "expected"), [
    (None, ["a", "b", "c"]), ("maturity", ["a", "b", "c"]), ("debtor_score", ["b", "c", "a"]),
    ("holder_score", ["c", "a", "b"]), ("rate", ["b", "c", "a"]), ("face", ["c", "b", "a"]),
])
def test_the_api_sorts_listings(world, market, sort, expected):
    response = api(world).get("/api/v1/marketplace/", {"sort": sort} if sort else {})
    assert response.status_code == 200, response.content
    assert numbers(response, market) == expected


def test_the_listing_carries_the_latest_scores(world, market):
    rows = {row["id"]: row for row in api(world).get("/api/v1/marketplace/").json()["results"]}
    assert (rows[str(market["c"].pk)]["debtor_score"], rows[str(market["c"].pk)]["holder_score"]) == (780, 820)
    assert rows[str(market["a"].pk)]["holder_score"] is None


@pytest.mark.parametrize("sort", ["score", "debtor_score;drop", "\x00", "３"])
def test_an_unknown_order_is_a_400_naming_sort(world, market, sort):
    response = api(world).get("/api/v1/marketplace/", {"sort": sort})
    assert response.status_code == 400, response.content
    assert "sort" in response.content.decode()


def test_the_page_sorts_by_the_debtors_score_and_keeps_the_order_across_pages(world, market):
    client = APIClient()
    client.force_login(world.user("financier"))
    body = client.get("/marketplace/", {"sort": "debtor_score"}).content.decode()
    positions = [body.index(market[k].number) for k in ("b", "c", "a")]
    assert positions == sorted(positions)
    assert '<option value="debtor_score" selected>' in body
    fallback = client.get("/marketplace/", {"sort": "nonsense"})
    assert fallback.status_code == 200 and '<option value="maturity" selected>' in fallback.content.decode()


def test_the_page_reads_the_viewers_credit_rights_once_whatever_the_organizations_listed(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = APIClient()
    client.force_login(world.user("financier"))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/marketplace/").status_code == 200
        return len(captured)

    listed(world, "10000.00", debtor="buyer", supplier="supplier")
    one_pair = queries()
    listed(world, "20000.00", debtor="buyer2", supplier="supplier2")  # two more organizations on the page
    assert queries() == one_pair
