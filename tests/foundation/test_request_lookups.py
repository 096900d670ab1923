"""One lookup per request: the API token (finance_portal/portal/authentication.py reuses the middlewares'
lookup) and the viewer's membership (finance_portal/organizations/middleware.py opens the request's cache, so
the audit log after the view reads no row again) — without weakening what a bad token gets."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bills.models import BillState
from tests.bills.factories import World, build_world, listed, refresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _key(user) -> str:  # type: ignore[no-untyped-def]
    return str(Token.objects.get_or_create(user=user)[0].key)


def _count(ctx: CaptureQueriesContext, table: str) -> int:
    return sum(1 for q in ctx.captured_queries
               if q["sql"].lstrip().upper().startswith("SELECT") and f'FROM "{table}"' in q["sql"])


def test_a_money_moving_api_write_looks_its_token_up_once(world, settings):
    settings.MONEY_REQUIRES_2FA = False
    bill = listed(world)
    client = _client(_key(world.user("financier")))
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(f"/api/v1/bills/{bill.pk}/buy/", {}, format="json")
    assert response.status_code == 200, response.content
    assert refresh(bill).state == BillState.FINANCED
    # The regulator check, the second-factor check and DRF each needed the token's user: one query between them.
    assert _count(ctx, "authtoken_token") == 1


def test_a_regulators_api_read_reads_the_membership_once_for_the_view_and_the_audit_log(world):
    client = _client(_key(world.user("regulator")))
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/v1/bills/").status_code == 200
    assert _count(ctx, "organizations_membership") == 1
    assert _count(ctx, "authtoken_token") == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_token_is_still_refused_with_the_error_shape(world, method):
    bill = listed(world)
    response = getattr(_client("0" * 40), method)(f"/api/v1/bills/{bill.pk}/buy/" if method == "post"
                                                    else "/api/v1/bills/", {}, format="json")
    assert response.status_code in (401, 403), response.content  # 403: DRF tries session authentication first
    assert response.json()["code"] in ("authentication_failed", "not_authenticated"), response.content
    assert response.json()["code"] and response.json()["detail"]
    assert refresh(bill).state == BillState.LISTED


def test_an_inactive_users_token_is_refused_even_after_the_middlewares_looked_it_up(world, settings):
    settings.MONEY_REQUIRES_2FA = False
    bill = listed(world)
    user = world.user("financier")
    key = _key(user)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    response = _client(key).post(f"/api/v1/bills/{bill.pk}/buy/", {}, format="json")
    assert response.status_code in (401, 403), response.content  # 403: DRF tries session authentication first
    assert response.json()["code"] in ("authentication_failed", "not_authenticated"), response.content
    assert refresh(bill).state == BillState.LISTED


def test_a_longer_key_sharing_a_real_tokens_first_40_characters_is_refused(world, settings):
    settings.MONEY_REQUIRES_2FA = False
    bill = listed(world)
    response = _client(_key(world.user("financier")) + "x").post(f"/api/v1/bills/{bill.pk}/buy/", {}, format="json")
    assert response.status_code in (401, 403), response.content  # 403: DRF tries session authentication first
    assert response.json()["code"] in ("authentication_failed", "not_authenticated"), response.content
    assert refresh(bill).state == BillState.LISTED
