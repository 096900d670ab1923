"""A regulator's write attempt on every write endpoint gets 403: generated from the URL conf, so an endpoint added
tomorrow is covered without anyone adding it here. The only writes a regulator makes are acknowledging a flag
and requesting a freeze (plus signing in and out and obtaining an API token)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bills.models import Bill
from finance_portal.oversight.models import FreezeRequest, OversightFlag
from finance_portal.portal.middleware import REGULATOR_WRITES
from tests.bills.factories import accepted

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")


def _walk(patterns: list[Any], prefix: tuple[Any, ...] = (), namespace: str | None = None
          ) -> Iterator[tuple[tuple[Any, ...], str | None, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(x for x in (namespace, p.namespace) if x) or None
            yield from _walk(p.url_patterns, (*prefix, p.pattern), ns)
        else:
            yield (*prefix, p.pattern), (f"{namespace}:{p.name}" if namespace and p.name else p.name), p


def _sample(converter: str, name: str, bill_id: str) -> str:
    if converter == "int":
        return "1"
    if name == "format":
        return "json"
    return bill_id  # a real bill's UUID fits uuid, str, slug and path converters and [^/]+ groups


def _group_sample(name: str, body: str, bill_id: str) -> str:
    """A value that a named regex group ``(?P<name>body)`` matches: the sample, else the first alternative."""
    for candidate in (_sample("str", name, bill_id), "1"):
        if re.fullmatch(body, candidate):
            return candidate
    first = body.split("|")[0]
    assert re.fullmatch(body, first), (name, body)
    return first


def _concrete(patterns: tuple[Any, ...], bill_id: str) -> str:
    """A path that the URL conf resolves to the pattern, with sample values for its parameters."""
    path = "/"
    for pattern in patterns:
        if isinstance(pattern, RoutePattern):
            route = str(pattern)
            path += re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: _sample(m.group(1) or "str", m.group(2), bill_id), route)
        else:
            assert isinstance(pattern, RegexPattern)
            regex = str(pattern).lstrip("^").rstrip("$")
            regex = re.sub(r"\(\?P<(\w+)>([^)]*)\)", lambda m: _group_sample(m.group(1), m.group(2), bill_id),
                           regex)
            regex = regex.replace("\\.", ".").replace("/?", "/").replace("\\", "")
            path += regex
    return path


def write_endpoints(bill_id: str) -> list[tuple[str, str | None]]:
    """Every route of the URL conf (admin included) with a concrete path, except the regulator's own writes."""
    found = []
    for patterns, name, pattern in _walk(get_resolver().url_patterns):
        if name in REGULATOR_WRITES:
            continue
        path = _concrete(patterns, bill_id)
        match = resolve(path)
        assert match.func == pattern.callback or match.url_name == pattern.name, (path, name, match.view_name)
        found.append((path, name))
    return found


@pytest.fixture
def bill(world) -> Bill:
    return accepted(world)


def test_the_walk_covers_every_route_and_the_api_writes(world, bill):
    routes = write_endpoints(str(bill.pk))
    names = {name for _, name in routes}
    assert len(routes) > 200
    for must in ("api-bill-action-accept", "api-bill-action-buy", "api-bill-issue", "api-credit-limits",
                 "api-issuing-limits", "bills:create", "invoices:upload", "admin:index"):
        assert must in names, must


def test_every_write_by_a_regulator_through_the_session_is_refused_403(world, bill):
    client = APIClient()
    client.force_login(world.user("regulator"))
    bills_before = Bill.objects.count()
    refused: list[str] = []
    for path, name in write_endpoints(str(bill.pk)):
        methods = WRITE_METHODS if path.startswith("/api/") else ("post",)
        for method in methods:
            response = getattr(client, method)(path, {"reason": "x", "note": "x"}, format="json")
            assert response.status_code == 403, (method.upper(), path, name, response.status_code)
            if path.startswith("/api/"):
                assert response.json()["code"] == "read_only_role", path
            refused.append(f"{method} {path}")
    assert len(refused) > 250
    assert Bill.objects.count() == bills_before and Bill.objects.get(pk=bill.pk).state == bill.state


def test_every_api_write_by_a_regulator_with_a_token_is_refused_403(world, bill):
    token, _ = Token.objects.get_or_create(user=world.user("regulator"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    for path, name in write_endpoints(str(bill.pk)):
        if not path.startswith("/api/"):
            continue
        response = client.post(path, {"reason": "x"}, format="json")
        assert response.status_code == 403, (path, name, response.status_code)
        assert response.json() == {"detail": response.json()["detail"], "code": "read_only_role"}


def test_a_bad_token_is_left_to_the_api_not_treated_as_a_regulator(world, bill):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = client.post(f"/api/v1/bills/{bill.pk}/accept/", {}, format="json")
    assert response.status_code in (401, 403) and response.json()["code"] == "authentication_failed"


def test_other_roles_are_not_refused_by_the_regulator_rule(world, bill):
    client = APIClient()
    client.force_login(world.user("buyer"))
    response = client.post(f"/api/v1/bills/{bill.pk}/settle/", {}, format="json")
    assert response.json().get("code") != "read_only_role"


def test_the_regulators_own_writes_still_work(world, bill):
    client = APIClient()
    client.force_login(world.user("regulator"))
    flag = OversightFlag.objects.create(rule="tenor_beyond_limit", subject=f"bill:{bill.pk}", severity="medium",
                                        explanation="x", evidence={}, first_seen=bill.created_at,
                                        last_seen=bill.created_at, bill=bill)
    ack = client.post(f"/api/v1/oversight/flags/{flag.pk}/acknowledge/", {"note": "Looked at it"}, format="json")
    assert ack.status_code == 200, ack.content
    freeze = client.post(f"/api/v1/bills/{bill.pk}/freeze-request/", {"reason": "Invoice doubts"}, format="json")
    assert freeze.status_code == 201, freeze.content
    assert FreezeRequest.objects.filter(bill=bill).count() == 1
    assert client.post("/accounts/logout/").status_code in (200, 302)


def test_an_unknown_path_is_not_mistaken_for_an_allowed_write(world):
    client = APIClient()
    client.force_login(world.user("regulator"))
    assert client.post(f"/api/v1/no-such-thing/{uuid.uuid4()}/", {}, format="json").status_code == 403
