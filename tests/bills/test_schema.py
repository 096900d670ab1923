"""The OpenAPI schema: it validates against the OpenAPI 3 meta-schema (drf-spectacular's validator), the
bills endpoints generate without a warning, and every action is documented with its request body."""

from __future__ import annotations

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from bills import api_urls

ACTIONS = ["submit", "accept", "reject", "cancel", "transfer", "receive", "refuse", "split", "list", "unlist",
           "buy", "settle", "freeze", "unfreeze"]
BODY_FIELDS = {"transfer": "to", "split": "parts", "list": "rate", "reject": "reason", "freeze": "reason"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_whole_schema_validates(schema):
    validate_schema(schema)


def test_the_bills_endpoints_generate_without_warnings():
    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=api_urls.urlpatterns).get_schema(request=None, public=True)
    validate_schema(schema)
    assert not GENERATOR_STATS, str(GENERATOR_STATS._warn_cache or GENERATOR_STATS._error_cache)


def test_every_action_is_documented_with_its_body_and_errors(schema):
    paths = schema["paths"]
    components = schema["components"]["schemas"]
    for action in ACTIONS:
        operation = paths[f"/api/v1/bills/{{id}}/{action}/"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert set(operation["responses"]) >= {"200", "400", "403", "404", "409"}, action
        assert operation.get("summary"), action
        if action in BODY_FIELDS:
            assert BODY_FIELDS[action] in components[body]["properties"], (action, body)
            assert BODY_FIELDS[action] in components[body].get("required", []), (action, body)
    buy = paths["/api/v1/bills/{id}/buy/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in buy["parameters"])


def test_collections_events_marketplace_and_issue_are_documented(schema):
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/bills/"])
    params = {p["name"] for p in paths["/api/v1/bills/"]["get"]["parameters"]}
    assert {"state", "debtor", "holder", "maturity_after", "maturity_before", "page"} <= params
    assert "get" in paths["/api/v1/bills/{id}/"]
    assert "get" in paths["/api/v1/bills/{id}/events/"]
    assert "post" in paths["/api/v1/bills/issue/"]
    assert "get" in paths["/api/v1/marketplace/"] and "get" in paths["/api/v1/marketplace/{id}/"]
    events = paths["/api/v1/bills/{id}/events/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert events["type"] == "array"


@pytest.mark.django_db
def test_the_schema_and_the_docs_are_served_offline(client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("reader", password="x-reader-123"))
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200 and "/api/v1/bills/{id}/split/" in response.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content and b"cdn." not in docs.content
