"""The regulator's data explorer: every dataset lists its rows and exports them as CSV; filters and search narrow
them; only regulators and platform staff get in; bad inputs are 4xx, never 500."""

from __future__ import annotations

import csv
import io

import pytest

from bills import services
from finance_portal.oversight.explorer import DATASETS
from finance_portal.oversight.models import OversightFlag
from finance_portal.oversight.services import freeze_request_create, oversight_sweep
from sme_credit.services import credit_limit_grant, credit_refresh
from tests.bills.factories import accepted, financed, listed, past
from tests.conftest import login
from tests.oversight.conftest import sql

pytestmark = pytest.mark.django_db

BASE = "/oversight/data/"


@pytest.fixture
def full(world):  # type: ignore[no-untyped-def]
    """At least one row in every dataset: bills in several states, a purchase, an offer, a settlement, credit
    profiles, scores and a limit, a freeze request and a flag."""
    sold = financed(world, "10000.00", days=30)
    with past(30):
        services.bill_settle(bill_id=sold.pk, actor=world.user("buyer"))
    on_sale = listed(world, "20000.00", debtor="buyer2")
    services.offer_make(bill_id=on_sale.pk, actor=world.user("financier2"), rate="0.03")
    kept = accepted(world, "30000.00")
    for key in ("supplier", "buyer"):
        credit_refresh(organization=world.org(key))
    credit_limit_grant(actor=world.user("financier"), debtor=world.org("buyer").credit_code, amount="500000.00")
    freeze_request_create(bill_id=kept.pk, reason="Court inquiry", actor=world.user("regulator"))
    sql("UPDATE bills_bill SET face = 1.00 WHERE id = %s", [kept.pk])
    oversight_sweep()
    assert OversightFlag.objects.exists()
    return {"sold": sold, "on_sale": on_sale, "kept": kept}


def table(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize("key", list(DATASETS))
def test_each_dataset_lists_rows_and_exports_them_for_a_regulator(client, full, key):
    login(client, "regulator")
    page = client.get(f"{BASE}{key}/")
    assert page.status_code == 200
    assert page.context["page"].paginator.count >= 1 and page.context["rows"]
    export = client.get(f"{BASE}{key}/", {"format": "csv"})
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    assert "attachment" in export["Content-Disposition"]
    rows = table(export)
    assert rows and list(rows[0]) == DATASETS[key].headers(csv=True)
    assert len(rows) == page.context["page"].paginator.count


def test_the_index_links_every_dataset(client, world):
    login(client, "admin")
    page = client.get(BASE).content.decode()
    for key in DATASETS:
        assert f"{BASE}{key}/" in page


def test_money_has_its_currency_and_times_are_utc(client, full):
    login(client, "regulator")
    rows = table(client.get(f"{BASE}purchases/", {"format": "csv"}))
    assert rows[0]["Face"] == "10000.00 CNY" and rows[0]["Price"].endswith(" CNY")
    assert rows[0]["Purchased at"].endswith("+00:00")
    page = client.get(f"{BASE}purchases/").context
    face = page["headers"].index("Face")
    assert page["rows"][0][face].css == "num"


def test_filters_by_state_organization_currency_and_date(client, full, world):
    login(client, "regulator")
    bills = f"{BASE}bills/"
    settled = client.get(bills, {"state": "settled"}).context["rows"]
    assert [r[0].text for r in settled] == [full["sold"].number]
    assert settled[0][0].href == f"/bills/{full['sold'].pk}/"
    buyer2 = client.get(bills, {"org": world.org("buyer2").credit_code, "format": "csv"})
    assert [r["Number"] for r in table(buyer2)] == [full["on_sale"].number]
    lower = client.get(bills, {"org": world.org("buyer2").credit_code.lower()})
    assert lower.status_code == 200 and lower.context["page"].paginator.count == 1
    assert client.get(bills, {"to": "9999-12-31", "from": "0001-01-01"}).context["page"].paginator.count == 3
    assert client.get(bills, {"currency": "usd"}).context["page"].paginator.count == 0
    assert client.get(bills, {"currency": "cny"}).context["page"].paginator.count == 3
    assert client.get(bills, {"from": "2999-01-01"}).context["page"].paginator.count == 0
    assert client.get(bills, {"from": "2000-01-01", "to": "2999-12-31"}).context["page"].paginator.count == 3
    flags = client.get(f"{BASE}flags/", {"acknowledged": "no"}).context["page"].paginator.count
    assert flags >= 1 and client.get(f"{BASE}flags/", {"acknowledged": "yes"}).context["page"].paginator.count == 0


def test_ledger_entries_filter_by_any_organization_they_touched(client, full, world):
    login(client, "regulator")
    def kinds(key: str) -> set[str]:
        rows = table(client.get(f"{BASE}ledger-entries/", {"org": world.org(key).credit_code, "format": "csv"}))
        assert all(r["Amount moved"].endswith(" CNY") for r in rows)
        return {r["Kind"] for r in rows}

    assert kinds("supplier") == {"purchase"}  # it sold the bill; the financier, then the holder, was paid
    assert kinds("financier") == {"deposit", "purchase", "settlement"}


def test_search_looks_in_the_named_fields(client, full, world):
    login(client, "regulator")
    found = client.get(f"{BASE}bills/", {"q": full["on_sale"].number}).context["rows"]
    assert [r[0].text for r in found] == [full["on_sale"].number]
    orgs = client.get(f"{BASE}organizations/", {"q": "lingnan"}).context["rows"]
    assert [r[1].text for r in orgs] == [world.org("buyer2").legal_name]


def test_pages_are_paginated_and_keep_the_filters(client, world):
    for _ in range(3):
        accepted(world, "100.00")
    from finance_portal.oversight import explorer_views

    login(client, "regulator")
    old, explorer_views.PAGE_SIZE = explorer_views.PAGE_SIZE, 2
    try:
        first = client.get(f"{BASE}bills/", {"state": "accepted"})
        assert len(first.context["rows"]) == 2 and "state=accepted&amp;page=2" in first.content.decode()
        second = client.get(f"{BASE}bills/", {"state": "accepted", "page": "2"})
        assert len(second.context["rows"]) == 1
    finally:
        explorer_views.PAGE_SIZE = old


@pytest.mark.parametrize("username", ["supplier", "buyer", "financier"])
def test_traders_get_403_on_every_explorer_url(client, world, username):
    login(client, username)
    assert client.get(BASE).status_code == 403
    for key in DATASETS:
        assert client.get(f"{BASE}{key}/").status_code == 403
        assert client.get(f"{BASE}{key}/", {"format": "csv"}).status_code == 403


def test_signed_out_users_go_to_the_login_page(client, world):
    for url in (BASE, f"{BASE}bills/", f"{BASE}bills/?format=csv"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("params", [
    {"page": "³"}, {"page": "１２"}, {"page": "1\x00"}, {"page": "-1"},
    {"from": "2026-02-30"}, {"from": "２０２６-01-01"}, {"to": "yesterday"}, {"from": "2026-03-01", "to": "2026-01-01"},
    {"state": "nonsense"}, {"state": "accepted\x00"}, {"q": "BL\x00"}, {"org": "１２"}, {"org": "x" * 40},
    {"currency": "CN\x00"}, {"currency": "元元元"}, {"currency": "ßA"}, {"format": "xlsx"}, {"from": "10000-01-01"},
])
def test_bad_inputs_are_a_400_with_the_reason(client, world, params):
    login(client, "regulator")
    response = client.get(f"{BASE}bills/", params)
    assert response.status_code == 400
    body = response.content.decode()
    assert "errorlist" in body


@pytest.mark.parametrize("params", [{"from": "2026-02-30"}, {"q": "\x00"}, {"org": "³"}, {"org": "ß" * 9}])
def test_a_bad_csv_request_is_a_400_too(client, world, params):
    login(client, "regulator")
    assert client.get(f"{BASE}invoices/", {**params, "format": "csv"}).status_code == 400


@pytest.mark.parametrize("path", ["nope/", "bills\x00/", "ＢＩＬＬＳ/", "../admin/"])
def test_an_unknown_dataset_is_404(client, world, path):
    login(client, "regulator")
    assert client.get(BASE + path).status_code == 404


def test_datetime_datasets_take_the_whole_last_day_of_the_range(client, full):
    login(client, "regulator")
    for key in ("events", "purchases", "ledger-entries", "flags"):
        assert client.get(f"{BASE}{key}/", {"to": "9999-12-31"}).status_code == 200


def test_a_page_costs_the_same_queries_for_few_or_many_rows(client, full, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, "regulator")

    def counts() -> dict[str, int]:
        out = {}
        for key in DATASETS:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(f"{BASE}{key}/").status_code == 200
            out[key] = len(ctx.captured_queries)
        return out

    few = counts()
    for n in range(3):
        bill = financed(world, f"{100 + n}.00", buyer="financier2", supplier="supplier2", days=30)
        services.offer_make(bill_id=listed(world, "150.00").pk, actor=world.user("financier"), rate="0.02")
        with past(30):
            services.bill_settle(bill_id=bill.pk, actor=world.user("buyer"))
    for key in ("supplier2", "financier2", "buyer2"):
        credit_refresh(organization=world.org(key))
    credit_limit_grant(actor=world.user("financier2"), debtor=world.org("buyer2").credit_code, amount="1000.00")
    assert counts() == few


def test_a_formula_in_a_text_cell_is_exported_as_text(client, world):
    from finance_portal.organizations.models import Organization

    Organization.objects.filter(pk=world.org("supplier").pk).update(legal_name="=HYPERLINK(\"x\")")
    login(client, "regulator")
    rows = table(client.get(f"{BASE}organizations/", {"format": "csv"}))
    assert "'=HYPERLINK(\"x\")" in {r["Legal name"] for r in rows}


def test_the_regulator_landing_page_links_the_explorer_and_the_audit_log(client, world):
    login(client, "regulator")
    body = client.get("/", follow=True).content.decode()
    assert f'href="{BASE}"' in body and 'href="/oversight/audit/"' in body
