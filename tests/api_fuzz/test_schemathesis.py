"""Schemathesis over ``/api/schema/``: every operation, as each role, with schema-valid and schema-invalid input,
under all of schemathesis's checks. No answer may be a 5xx, and every answer must be one the schema
documents: its status code, content type, headers and body (errors in ``finance_portal.errors.ERROR_SCHEMA``).

The run is bounded and repeatable: Hypothesis derandomized, ``FUZZ_EXAMPLES`` examples per operation, role and
generation mode (4 in ``make test``; ``make soak`` sets more, and ``FUZZ_SEED`` to its round's number so each
round tries new inputs and any of them can be run again). Path parameters are sometimes the ids of real
bills, invoices, accounts, offers, limits and organizations of the world in ``conftest.py``, so requests
reach the views' deeper branches, not only their 404s. Failures are collected, not raised one by one: the test
fails at the end with each distinct (role, operation, check) failure once, and the terminal summary gives the
totals (operations × roles, examples, 5xx, violations).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.schemas import APIOperation

from tests.api_fuzz.conftest import EXAMPLES, ROLES, SEED, TALLY, FuzzWorld, load_schema

# The kind of object each path parameter names, by (path prefix, parameter name).
PATH_KINDS = (
    ("/api/v1/bills/", "id", "bill"),
    ("/api/v1/bills/", "bill_id", "bill"),
    ("/api/v1/marketplace/", "id", "bill"),
    ("/api/v1/invoices/", "id", "invoice"),
    ("/api/v1/accounts/", "id", "account"),
    ("/api/v1/offers/", "offer_id", "offer"),
    ("/api/v1/credit-limits/", "limit_id", "limit"),
    ("/api/v1/issuing-limits/", "limit_id", "limit"),
    ("/api/v1/organizations/", "organization_id", "organization"),
)

# What is left out, each with its reason; everything else of every check counts.
#
# positive_data_acceptance ("a request the schema allows must be accepted") is left out for the POSTs whose
# body the services validate: the schema describes the body's shape, not the rules behind it (the
# organization named by a credit code must exist, the invoices must be yours and verified, the maturity must
# be ahead, amounts must be positive ASCII decimals with at most two places, the reason may hold no control
# character), and such a body is refused with a documented 400 in the error shape, which the other checks still
# hold to. For the same reason POST /auth/token/ answers a 400 to a well-formed wrong password. GETs keep the
# check: their query parameters are described in full (a refused `page_size` must be one the schema forbids).
BODY_RULES = "positive_data_acceptance"
# One GET has a rule between two parameters that a schema cannot state: a statement `from` a day after its
# `to` is a 400 ("The statement ends before it starts"). Left out for exactly that request.
STATEMENT = "GET /api/v1/accounts/{id}/statement/"
#
# A query parameter given as an object or an empty list is sent as an empty value (`?min_rate=`), which every
# list filter reads as "no filter" (django-filter's rule, which the pages' filter forms rely on): the request
# the server sees is a valid one. negative_data_rejection is left out for a request with an empty query value.
BLANK_QUERY = "negative_data_rejection"
# Likewise a body that is not an object (an array, a number) cannot be written as multipart/form-data or
# x-www-form-urlencoded: schemathesis sends bytes with no form field in them, which the server reads as an empty
# form, a valid body for an action whose fields are all optional.
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
#
def _excluded(check: str, case: Case, response: Any) -> bool:
    operation = case.operation
    if check == BODY_RULES and operation.method.upper() == "POST" and (
            operation.body or operation.path == "/api/v1/auth/token/"):
        return True
    if check == BLANK_QUERY and "" in {v for values in parse_qs(
            urlsplit(response.request.url).query, keep_blank_values=True).values() for v in values}:
        return True
    if check == BLANK_QUERY and case.media_type in FORM_TYPES and not isinstance(case.body, Mapping):
        return True
    if check == BODY_RULES and operation.label == STATEMENT and {"from", "to"} <= set(case.query or {}) and str(
            case.query["from"]) > str(case.query["to"]):
        return True
    return False


def _real_ids(operation: APIOperation, world: FuzzWorld) -> Iterator[tuple[str, list[str]]]:
    for parameter in operation.path_parameters:
        for prefix, name, kind in PATH_KINDS:
            if parameter.name == name and operation.path.startswith(prefix) and world.ids.get(kind):
                yield name, world.ids[kind]


def _strategy(operation: APIOperation, mode: GenerationMode, world: FuzzWorld) -> st.SearchStrategy[Case]:
    generated = operation.as_strategy(generation_mode=mode)
    real = dict(_real_ids(operation, world))
    if not real:
        return generated
    fixed = st.fixed_dictionaries({name: st.sampled_from(ids) for name, ids in real.items()}).flatmap(
        lambda values: operation.as_strategy(generation_mode=mode, path_parameters=values))
    return st.one_of(generated, fixed)


def _check_name(failure: Failure) -> str:
    return failure.checks[0] if failure.checks else type(failure).__name__


def _fuzz(role: str, operation: APIOperation, mode: GenerationMode, world: FuzzWorld,
          caplog: pytest.LogCaptureFixture) -> None:

    @settings(max_examples=EXAMPLES, derandomize=SEED is None, deadline=None, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=_strategy(operation, mode, world))
    def fuzz(case: Case) -> None:
        TALLY.examples += 1
        caplog.clear()
        response = case.call()
        if response.status_code >= 500:
            TALLY.server_errors += 1
        try:
            case.validate_response(response)
        except (FailureGroup, Failure) as error:
            failures = error.exceptions if isinstance(error, FailureGroup) else (error,)
            for failure in failures:
                check = _check_name(failure)
                if _excluded(check, case, response):
                    TALLY.excluded[check] += 1
                    continue
                TALLY.violations += check != "not_a_server_error"
                TALLY.by_check[check] += 1
                key = (role, operation.label, check)
                if key not in TALLY.failures:
                    trace = "\n".join(r.getMessage() + "\n" + (logging.Formatter().formatException(r.exc_info)
                                                               if r.exc_info else "")
                                      for r in caplog.records if r.levelno >= logging.ERROR)
                    TALLY.failures[key] = (f"{mode.value}: {failure.title}\n{failure.message}\n"
                                           f"{case.as_curl_command()}\n{trace}").strip()

    if SEED is not None:
        fuzz = seed(SEED)(fuzz)
    try:
        fuzz()
    except HypothesisException as error:  # e.g. nothing to negate in an operation without inputs
        if mode is GenerationMode.POSITIVE:
            raise
        logging.getLogger(__name__).debug("%s %s: %s", role, operation.label, error)


@pytest.mark.parametrize("role", list(ROLES))
def test_every_operation_answers_as_its_schema_says(role: str, fuzz_world: FuzzWorld,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    schema = load_schema(fuzz_world.tokens[role])
    before = len(TALLY.failures)
    for result in schema.get_all_operations():
        operation = result.ok()
        TALLY.pairs += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(role, operation, mode, fuzz_world, caplog)
    found: list[Any] = [f"{r} {op} [{check}]\n{text}" for (r, op, check), text in
                        list(TALLY.failures.items())[before:]]
    assert not found, f"{len(found)} failing (operation, check) pairs as {role}:\n\n" + "\n\n".join(found)
