"""GET /api/v1/organizations/{id}/credit/: who may read an organization's credit, and what it shows."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from sme_credit.services import credit_refresh
from tests.bills.factories import accepted

pytestmark = pytest.mark.django_db


def get(world, username: str | None, org_key: str):  # type: ignore[no-untyped-def]
    client = APIClient()
    if username:
        client.force_login(world.user(username))
    return client.get(f"/api/v1/organizations/{world.org(org_key).pk}/credit/")


@pytest.mark.parametrize("username", ["supplier", "financier", "financier2", "regulator", "admin"])
def test_the_organization_itself_financiers_regulators_and_staff_read_its_credit(world, username):
    accepted(world)
    credit_refresh(organization=world.org("supplier"))
    response = get(world, username, "supplier")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["organization"]["credit_code"] == world.org("supplier").credit_code
    assert body["profile"]["bills_count"] == 1
    assert body["score"]["score"] == 602
    assert {"factor": "track_record", "value": 1, "points": 2,
            "reason": "1 bill drawn or owed on the platform: +2"} in body["score"]["factors"]
    assert [point["score"] for point in body["history"]] == [602]


@pytest.mark.parametrize("username", ["supplier2", "buyer"])
def test_another_trading_organization_gets_404(world, username):
    assert get(world, username, "supplier").status_code == 404


def test_an_unknown_organization_is_404_like_one_out_of_reach(world):
    client = APIClient()
    client.force_login(world.user("financier"))
    assert client.get("/api/v1/organizations/999999/credit/").status_code == 404


def test_anonymous_is_refused(world):
    assert get(world, None, "supplier").status_code in (401, 403)


def test_an_organization_not_yet_scored_shows_no_score(world):
    body = get(world, "supplier", "supplier").json()
    assert body["profile"] is None and body["score"] is None and body["history"] == []
