"""Object-level permissions, generated from the URL conf (issue 13): each role against every other organization's
objects on every endpoint, page and download gets 403/404 (or 405 where the method does not exist), answers a
foreign object exactly as it answers one that does not exist, and no list or page leaks them.

The foreign world belongs to supplier2, buyer2 and financier2: a bill accepted between supplier2 and buyer2, a
bill financier2 bought, a bill supplier2 listed with financier2's offer on it, an invoice, a credit report, a
credit limit, an issuing limit, a verification token, ledger accounts. The probes are supplier, buyer and
financier, which take part in none of it. What a prober may see by design is listed in ``ALLOWED``: a
financier sees the marketplace listing and any organization's credit. A route added tomorrow is probed
without anyone adding it here; a parameter name this file cannot map fails the walk.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern
from rest_framework.test import APIClient

from bills import services
from bills.models import Bill
from bills.verify_tokens import verification_token_create
from finance_portal.ledger.models import Account
from finance_portal.notifications.models import Notification
from finance_portal.oversight.models import OversightFlag
from invoices.models import ImportJob
from sme_credit.issuing import issuing_limit_grant
from sme_credit.services import credit_limit_grant, credit_report_issue
from tests.bills.factories import World, accepted, build_world, financed, listed, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> World:
    return build_world()

PROBES = ("supplier", "buyer", "financier")
# Routes that take no object of another organization, or are public by design (the token is the secret; a
# transaction hash opens only the bills the viewer may see, tested in tests/bills/test_verify_pages.py).
# A chart's data is named, not an object: whose data it reads (``?org=``) is tested in tests/foundation/test_chart_data.py.
SKIP = {"verify-token", "verify-token-bundle", "verify-certificate", "verify-tx", "portal:login", "portal:logout", "api-token",
        "chart-data"}
# (route, prober): what that prober may see of the foreign world by design.
ALLOWED = {
    ("api-organization-credit", "financier"), ("portal:organization-credit", "financier"),
    ("api-marketplace-detail", "financier"), ("bills:listing", "financier"), ("bills:buy-confirm", "financier"),
    ("bills:listing-invoice-file", "financier"), ("api-bill-offers", "financier"), ("bills:offer-make", "financier"),
}


def _walk(patterns: list[Any], prefix: tuple[Any, ...] = (), namespace: str | None = None
          ) -> Iterator[tuple[tuple[Any, ...], str | None, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(x for x in (namespace, p.namespace) if x) or None
            yield from _walk(p.url_patterns, (*prefix, p.pattern), ns)
        else:
            yield (*prefix, p.pattern), (f"{namespace}:{p.name}" if namespace and p.name else p.name), p


def _params(patterns: tuple[Any, ...]) -> list[str]:
    names: list[str] = []
    for pattern in patterns:
        names += re.findall(r"<(?:\w+:)?(\w+)>", str(pattern)) if isinstance(pattern, RoutePattern) else \
            re.findall(r"\(\?P<(\w+)>", str(pattern))
    return names


def _kind(route: str, param: str) -> str:
    """What object a route's parameter names."""
    if param == "pk":
        if route.startswith(("api-invoice-", "invoices:")):
            return "invoice"
        if route in ("verify-credit",):
            return "report"
        if route in ("api-account-statement", "ledger:statement"):
            return "account"
        if route == "portal:organization-credit":
            return "organization"
        return "bill"
    return {"bill_id": "bill", "invoice_id": "invoice", "offer_id": "offer", "report_id": "report",
            "limit_id": "limit", "organization_id": "organization", "flag_id": "flag", "token_id": "token",
            "role": "role", "key": "dataset", "action": "action", "format": "format", "url": "admin_path",
            "object_id": "admin_object", "app_label": "app_label", "notification_id": "notification",
            "job_id": "import_job"}[param]


def _fill(patterns: tuple[Any, ...], values: dict[str, str]) -> str:
    path = "/"
    for pattern in patterns:
        text = str(pattern)
        if isinstance(pattern, RoutePattern):
            path += re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], text)
        else:
            text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], text.lstrip("^").rstrip("$"))
            path += text.replace("\\.", ".").replace("/?", "/").replace("\\", "")
    return path


@pytest.fixture
def foreign(world) -> dict[str, Any]:
    """The foreign world, with the ids of each kind of object (and of one that does not exist)."""
    held = financed(world, "20000.00", supplier="supplier2", debtor="buyer2", buyer="financier2")
    bill = accepted(world, "10000.00", supplier="supplier2", debtor="buyer2")
    on_sale = listed(world, "30000.00", supplier="supplier2", debtor="buyer2")
    offer = services.offer_make(bill_id=on_sale.pk, actor=world.user("financier2"), rate="0.0432")
    invoice = make_invoice(world.org("supplier2"), world.org("buyer2"), total="7777.77")
    report = credit_report_issue(actor=world.user("supplier2"), recipient=world.org("buyer2").credit_code)
    limit = credit_limit_grant(actor=world.user("financier2"), debtor=world.org("buyer2").credit_code,
                               amount="99999.00")
    issuing = issuing_limit_grant(actor=world.user("financier2"), debtor=world.org("buyer2").credit_code,
                                  amount="88888888.00")
    token = verification_token_create(bill_id=bill.pk, actor=world.user("supplier2"))
    account = Account.objects.filter(organization=world.org("financier2")).order_by("pk").first()
    flag = OversightFlag.objects.create(rule="tenor_beyond_limit", subject=f"bill:{bill.pk}", severity="medium",
                                        explanation="x", evidence={}, first_seen=bill.created_at,
                                        last_seen=bill.created_at, bill=bill)
    notification = Notification.objects.filter(organization=world.org("buyer2")).order_by("pk").first()
    job = ImportJob.objects.create(organization=world.org("supplier2"), file_name="supplier2-invoices.csv",
                                   format="csv", total_rows=0)
    assert account is not None and notification is not None  # buyer2 was told of the bills submitted to it
    return {
        "bills": [bill, held], "on_sale": on_sale, "invoice": invoice,
        "objects": {"bill": str(bill.pk), "invoice": str(invoice.pk), "offer": str(offer.pk), "report": str(report.pk),
                    "limit": str(limit.pk), "issuing": str(issuing.pk), "organization": str(world.org("supplier2").pk),
                    "flag": str(flag.pk), "token": str(token.pk), "account": str(account.pk),
                    "notification": str(notification.pk), "import_job": str(job.pk)},
        # Strings that must never reach a prober: numbers and ids of the bills it is not party to, the invoice,
        # financier2's offer rate, and the purchase's counterparty and amounts (as the API and as a page writes them).
        "secrets": ["supplier2-invoices.csv", bill.number, str(bill.pk), held.number, str(held.pk), invoice.invoice_number, str(invoice.pk),
                    "4.32", "0.0432", "88888888", "99999.00", "7777.77", "88,888,888", "99,999.00", "7,777.77"],
    }


def _values(route: str, params: list[str], objects: dict[str, str], *, missing: bool) -> dict[str, str] | None:
    values = {}
    for param in params:
        kind = _kind(route, param)
        if kind in ("admin_path", "admin_object", "app_label"):
            return None  # the admin: staff only, covered by tests/foundation/test_auth.py and the regulator walk
        if kind == "role":
            values[param] = "regulator"  # a landing page of a role none of the probes has
            continue
        if kind == "dataset":
            values[param] = "bills"
            continue
        if kind == "action":
            values[param] = "transfer"  # the bill action page: one view for every action of the rule book
            continue
        if kind == "format":
            values[param] = "json"
            continue
        if kind == "limit" and route.startswith("api-issuing"):
            kind = "issuing"
        if missing:
            values[param] = str(uuid.uuid4()) if kind in ("bill", "invoice", "import_job") else "987654321"
        else:
            values[param] = objects[kind]
    return values


def object_routes(objects: dict[str, str]) -> list[tuple[str, str, str]]:
    """(route name, path to a foreign object, path to a missing object) for every route with an object."""
    out = []
    for patterns, name, _pattern in _walk(get_resolver().url_patterns):
        params = _params(patterns)
        if not name or name in SKIP or name.startswith("admin:") or not [p for p in params if p != "format"]:
            continue  # the admin is staff-only (tests/foundation/test_auth.py and the regulator walk)
        foreign_values = _values(name, params, objects, missing=False)
        missing_values = _values(name, params, objects, missing=True)
        if foreign_values is None or missing_values is None:
            continue
        path = _fill(patterns, foreign_values)
        assert resolve(path).view_name == name, (name, path, resolve(path).view_name)
        out.append((name, path, _fill(patterns, missing_values)))
    return out


def list_routes() -> list[tuple[str, str]]:
    out = []
    for patterns, name, _pattern in _walk(get_resolver().url_patterns):
        if not name or name in SKIP or name.startswith("admin:") or [p for p in _params(patterns) if p != "format"]:
            continue
        out.append((name, _fill(patterns, {"format": "json"})))
    return out


def _leaks(secret: str, body: str) -> bool:
    """Whether ``body`` shows ``secret``. A number counts only as a whole number: 4.32 is in "4.32 %" and
    "0.043200", not in "1,024.32" or "14.32" (a discount on a page whose figures change with the date)."""
    if not re.fullmatch(r"[\d.,]+", secret):
        return secret in body
    return re.search(r"(?<![\d.,])" + re.escape(secret) + r"0*(?!\d)", body) is not None


def _body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


@pytest.mark.parametrize("prober", PROBES)
def test_every_route_answers_a_foreign_object_as_a_missing_one(world, foreign, prober):
    client = APIClient()
    client.force_login(world.user(prober))
    routes = object_routes(foreign["objects"])
    assert len(routes) >= 40, len(routes)
    checked = 0
    for name, path, missing_path in routes:
        if (name, prober) in ALLOWED:
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(path, {}, format="json")
            missing = getattr(client, method)(missing_path, {}, format="json")
            assert response.status_code in (302, 403, 404, 405), (prober, method, name, path, response.status_code)
            if response.status_code == 302:  # a page that sends the user away: never to the object itself
                assert foreign["objects"]["bill"] not in response["Location"], (prober, name, response["Location"])
            assert response.status_code == missing.status_code or response.status_code == 403, (
                prober, method, name, response.status_code, missing.status_code)
            body = _body(response)
            for secret in foreign["secrets"]:
                assert not _leaks(secret, body), (prober, method, name, secret)
            checked += 1
    assert checked >= 80


@pytest.mark.parametrize("prober", PROBES)
def test_no_list_or_page_leaks_foreign_objects(world, foreign, prober):
    client = APIClient()
    client.force_login(world.user(prober))
    routes = list_routes()
    assert len(routes) >= 20
    for name, path in routes:
        response = client.get(path)
        if response.status_code != 200:
            continue
        body = _body(response)
        for secret in foreign["secrets"]:
            assert not _leaks(secret, body), (prober, name, path, secret)


def test_a_number_leaks_only_as_a_whole_number():
    assert _leaks("4.32", "rate 4.32 %") and _leaks("4.32", "4.320") and _leaks("0.0432", '"rate":"0.043200"')
    assert _leaks("88888888", "88888888.00") and _leaks("BL-2026-000002", "xBL-2026-000002y")
    assert not _leaks("4.32", "1,024.32") and not _leaks("4.32", "14.32") and not _leaks("4.32", "4.321")
    assert not _leaks("99999.00", "199999.00")


def test_the_foreign_objects_are_there_for_their_owners(world, foreign):
    """The probes above would pass on an empty database; here the owners do see what the others may not."""
    client = APIClient()
    client.force_login(world.user("supplier2"))
    for bill in foreign["bills"]:
        assert client.get(f"/api/v1/bills/{bill.pk}/").status_code == 200
        assert bill.number in client.get("/bills/").content.decode()
    assert client.get(f"/api/v1/invoices/{foreign['invoice'].pk}/").status_code == 200
    assert Bill.objects.filter(creditor=world.org("supplier2")).count() == 3
