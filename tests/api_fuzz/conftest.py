"""Fixtures of the API fuzz run: a world of organizations, bills in several states and a few limits and offers,
a DRF token per role, and the schema as ``/api/schema/`` serves it to that role (through the WSGI app in this
process, on the test's own database connection)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from rest_framework.authtoken.models import Token
from rest_framework.throttling import ScopedRateThrottle
from schemathesis import AuthContext, Case
from schemathesis.specs.openapi.schemas import OpenApiSchema

from finance_portal.ledger.models import Account
from invoices.models import Invoice
from tests.bills import factories as f

# The five roles of the portal and the demo user that plays each.
ROLES = {"supplier": "supplier", "buyer": "buyer", "financier": "financier", "regulator": "regulator",
         "admin": "admin"}
# Examples per operation, role and generation mode: a few in `make test`, more in `make soak`.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
# Unset: derandomized (the same inputs every run). Set: Hypothesis's seed, for new but reproducible inputs.
SEED = int(os.environ["FUZZ_SEED"]) if os.environ.get("FUZZ_SEED") else None


@dataclass
class Tally:
    """What the run did and found, over all roles; printed in the terminal summary."""

    pairs: int = 0
    examples: int = 0
    server_errors: int = 0
    violations: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)
    by_check: Counter[str] = field(default_factory=Counter)


TALLY = Tally()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY.pairs:
        return
    terminalreporter.write_line(
        f"api fuzz: {TALLY.pairs} operation × role pairs, {TALLY.examples} examples ({EXAMPLES} per operation, "
        f"role and generation mode, seed {SEED if SEED is not None else 'derandomized'}), {TALLY.server_errors} 5xx, {TALLY.violations} schema violations")
    for check, count in sorted(TALLY.by_check.items()):
        terminalreporter.write_line(f"  {check}: {count}")
    for check, count in sorted(TALLY.excluded.items()):
        terminalreporter.write_line(f"  left out (reasons in test_schemathesis.py): {check}: {count}")


@dataclass
class FuzzWorld:
    """Real ids by path-parameter kind, so that generated requests sometimes reach existing objects."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


def _try(make, *args, **kwargs):  # type: ignore[no-untyped-def]
    """One object of the world; a refusal of a service here only makes the world smaller, not the run invalid."""
    try:
        return make(*args, **kwargs)
    except Exception:  # noqa: BLE001 - seeding is best effort
        return None


@pytest.fixture
def fuzz_world(db: None, same_connection: None) -> Iterator[FuzzWorld]:
    from bills.services import offers
    from sme_credit.issuing import issuing_limit_grant
    from sme_credit.services import credit_limit_grant

    world = f.build_world()
    bills = [f.draft(world), f.submitted(world), f.accepted(world), f.listed(world), f.listed(world),
             f.financed(world), f.pending(world)]
    offer = _try(offers.offer_make, bill_id=bills[4].pk, actor=world.user("financier2"), rate="0.05")
    credit = _try(credit_limit_grant, actor=world.user("financier"), debtor=world.org("buyer").credit_code,
                  amount="500000.00")
    issuing = _try(issuing_limit_grant, actor=world.user("admin"), debtor=world.org("buyer").credit_code,
                   amount="800000.00")
    ids = {
        "bill": [str(b.pk) for b in bills],
        "invoice": [str(pk) for pk in Invoice.objects.values_list("pk", flat=True)[:5]],
        "organization": [str(org.pk) for org in world.orgs.values()],
        "account": [str(pk) for pk in Account.objects.values_list("pk", flat=True)[:6]],
        "offer": [str(offer.pk)] if offer else [],
        "limit": [str(limit.pk) for limit in (credit, issuing) if limit],
    }
    tokens = {role: Token.objects.get_or_create(user=world.user(username))[0].key
              for role, username in ROLES.items()}
    yield FuzzWorld(ids=ids, tokens=tokens)
    # The token endpoint's rate is counted in the cache, which outlives the test's transaction: give the next
    # tests their own ten log-ins a minute (the fuzz calls come without a REMOTE_ADDR, the test client's as
    # 127.0.0.1).
    throttle = ScopedRateThrottle()
    cache.delete_many([throttle.cache_format % {"scope": "auth_token", "ident": ident}
                       for ident in (None, "127.0.0.1")])


@pytest.fixture
def same_connection() -> Iterator[None]:
    """The WSGI handler closes the database connection at the end of a request when it is not in autocommit
    mode, which is always the case inside a test's transaction. Django's test client disconnects the same
    receivers; so do the in-process calls here, so they all run in the test's one transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def load_schema(token: str) -> OpenApiSchema:
    """``/api/schema/`` as served to the holder of ``token``, bound to the WSGI app for the calls, with the
    token as the schema's auth: schemathesis then knows the credentials are deliberate (its ``ignored_auth``
    check removes them and expects a refusal) and stops generating a session cookie next to them."""
    from finance_portal.wsgi import application

    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application,
                                            headers={"Authorization": f"Token {token}"})

    class TokenAuth:
        def get(self, case: Case, context: AuthContext) -> str:
            return token

        def set(self, case: Case, data: str, context: AuthContext) -> None:
            case.headers["Authorization"] = f"Token {data}"

    schema.auth(refresh_interval=None)(TokenAuth)
    return schema
