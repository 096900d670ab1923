"""The ledger API per role (DESIGN §8, §10 "Money"): accounts, statements (JSON and CSV), admin deposits and
withdrawals; foreign accounts are 404, bad input is 400 naming the field and writes nothing."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

from finance_portal.ledger import services
from finance_portal.ledger.models import AccountKind, JournalEntry
from tests.ledger.conftest import balance, counts, deposit

pytestmark = pytest.mark.django_db

D = Decimal
TRADERS = ["supplier", "buyer", "financier"]
NOT_STAFF = ["supplier", "financier", "regulator", "clerk"]
STAFF = ["admin", "ops"]


def body(world, **changes):  # type: ignore[no-untyped-def]
    data = {"organization": world.org("financier").credit_code, "amount": "1000.00", "currency": "CNY",
            "reference": "ICBC-0001", "reason": "wire received"}
    data.update(changes)
    return data


def cash_id(world, org: str, currency: str = "CNY") -> int:  # type: ignore[no-untyped-def]
    return services.cash_account(world.org(org), currency).pk


# ---------------------------------------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", [*TRADERS, "regulator"])
def test_each_organization_sees_only_its_own_accounts(world, username):
    deposit(world, "financier", "2500.50")
    deposit(world, "supplier", "10.00", currency="USD")
    org = {"admin": "platform"}.get(username, username)
    response = world.client(username).get("/api/v1/accounts/")
    assert response.status_code == 200
    rows = response.json()
    assert {r["id"] for r in rows} == set(world.org(org).accounts.values_list("pk", flat=True))
    for row in rows:
        assert set(row) == {"id", "kind", "currency", "balance"}
        assert isinstance(row["balance"], str)
    if username == "financier":
        assert rows == [{"id": cash_id(world, "financier"), "kind": "cash", "currency": "CNY", "balance": "2500.50"}]


def test_platform_staff_also_see_the_platforms_own_accounts(world):
    deposit(world, "financier", "2500.50")
    rows = world.client("ops").get("/api/v1/accounts/").json()
    clearing = services.platform_account(AccountKind.BANK_CLEARING, "CNY")
    assert {"id": clearing.pk, "kind": "bank_clearing", "currency": "CNY", "balance": "-2500.50"} in rows
    assert all(r["kind"] != "cash" or r["id"] == cash_id(world, "platform") for r in rows)


def test_anonymous_callers_are_refused(world):
    client = world.client(None)
    account = cash_id(world, "supplier")
    assert client.get("/api/v1/accounts/").status_code in (401, 403)
    assert client.get(f"/api/v1/accounts/{account}/statement/").status_code in (401, 403)
    before = counts()
    for url in ("/api/v1/admin/deposits/", "/api/v1/admin/withdrawals/"):
        assert client.post(url, body(world), format="json").status_code in (401, 403)
    assert counts() == before


# ---------------------------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------------------------


def fund_supplier(world):  # type: ignore[no-untyped-def]
    deposit(world, "supplier", "100.00", reference="IN-1")
    deposit(world, "supplier", "50.00", reference="IN-2")
    services.withdrawal_record(organization=world.org("supplier"), amount="30.25", currency="CNY",
                               reference="OUT-1", reason="=SUM(A1:A9) to the bank", actor=None)
    return cash_id(world, "supplier")


def test_a_statement_lists_entries_with_running_balances(world):
    account = fund_supplier(world)
    response = world.client("supplier").get(f"/api/v1/accounts/{account}/statement/")
    assert response.status_code == 200
    data = response.json()
    assert data["account"] == {"id": account, "kind": "cash", "currency": "CNY", "balance": "119.75"}
    assert (data["opening_balance"], data["closing_balance"], data["count"]) == ("0.00", "119.75", 3)
    lines = data["results"]
    assert [(x["kind"], x["reference"], x["amount"], x["balance"]) for x in lines] == [
        ("deposit", "IN-1", "100.00", "100.00"), ("deposit", "IN-2", "50.00", "150.00"),
        ("withdrawal", "OUT-1", "-30.25", "119.75")]
    assert lines[0]["created_at"].endswith("Z")  # UTC


def test_a_statement_filters_by_date(world):
    account = fund_supplier(world)
    entry = JournalEntry.objects.order_by("created_at").first()
    today = entry.created_at.date().isoformat()
    client = world.client("supplier")
    same_day = client.get(f"/api/v1/accounts/{account}/statement/?from={today}&to={today}").json()
    assert same_day["count"] == 3
    later = client.get(f"/api/v1/accounts/{account}/statement/?from=2999-01-01").json()
    assert (later["count"], later["opening_balance"], later["closing_balance"]) == (0, "119.75", "119.75")
    earlier = client.get(f"/api/v1/accounts/{account}/statement/?to=2000-01-01").json()
    assert (earlier["count"], earlier["opening_balance"], earlier["closing_balance"]) == (0, "0.00", "0.00")


def test_a_statement_downloads_as_csv(world):
    account = fund_supplier(world)
    response = world.client("supplier").get(f"/api/v1/accounts/{account}/statement/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"statement-{account}-" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["date_utc", "entry", "kind", "reference", "memo", "amount", "balance", "currency"]
    assert [(r[2], r[5], r[6], r[7]) for r in rows[1:]] == [
        ("deposit", "100.00", "100.00", "CNY"), ("deposit", "50.00", "150.00", "CNY"),
        ("withdrawal", "-30.25", "119.75", "CNY")]
    assert rows[3][4] == "'=SUM(A1:A9) to the bank"  # a memo is never a spreadsheet formula
    assert rows[1][0].endswith("+00:00")


def test_a_csv_statement_filtered_to_nothing_is_a_header(world):
    account = fund_supplier(world)
    response = world.client("supplier").get(f"/api/v1/accounts/{account}/statement/?format=csv&from=2999-01-01")
    assert b"".join(response.streaming_content).decode().strip().count("\n") == 0


@pytest.mark.parametrize("username", ["supplier2", "financier", "regulator", "buyer", "ops", "admin"])
def test_another_organizations_statement_is_404(world, username):
    account = fund_supplier(world)
    for fmt in ("json", "csv"):
        response = world.client(username).get(f"/api/v1/accounts/{account}/statement/?format={fmt}")
        assert response.status_code == 404
        assert response.json()["code"] == "account_not_found"


def test_the_platforms_accounts_are_404_to_traders_and_open_to_platform_staff(world):
    deposit(world, "supplier", "1.00")
    clearing = services.platform_account(AccountKind.BANK_CLEARING, "CNY").pk
    assert world.client("supplier").get(f"/api/v1/accounts/{clearing}/statement/").status_code == 404
    response = world.client("ops").get(f"/api/v1/accounts/{clearing}/statement/")
    assert response.status_code == 200 and response.json()["closing_balance"] == "-1.00"


def test_a_missing_account_is_404(world):
    client = world.client("supplier")
    assert client.get("/api/v1/accounts/999999999/statement/").status_code == 404
    assert client.get("/api/v1/accounts/99999999999999999999999/statement/").status_code == 404


@pytest.mark.parametrize(("query", "field"), [
    ("from=2026-13-01", "from"), ("to=yesterday", "to"), ("from=２０２６-01-01", "from"),
    ("from=2026-02-01&to=2026-01-01", "to"), ("format=xml", "format"), ("from=2026-01-01%00", "from"),
])
def test_bad_statement_parameters_are_400_naming_the_field(world, query, field):
    account = fund_supplier(world)
    response = world.client("supplier").get(f"/api/v1/accounts/{account}/statement/?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field


# ---------------------------------------------------------------------------------------------------------
# Deposits and withdrawals
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", STAFF)
def test_platform_staff_record_a_deposit(world, username):
    response = world.client(username).post("/api/v1/admin/deposits/", body(world), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["kind"], data["currency"], data["reference"], data["memo"]) == ("deposit", "CNY", "ICBC-0001",
                                                                                 "wire received")
    assert data["organization"] == world.org("financier").credit_code and data["created_by"] == username
    assert sorted((p["account_kind"], p["amount"]) for p in data["postings"]) == [
        ("bank_clearing", "-1000.00"), ("cash", "1000.00")]
    assert balance(world, "financier") == D("1000.00")


@pytest.mark.parametrize("username", STAFF)
def test_platform_staff_record_a_withdrawal(world, username):
    deposit(world, "financier", "1000.00")
    response = world.client(username).post("/api/v1/admin/withdrawals/",
                                           body(world, amount="999.99", reference="PAY-1"), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "withdrawal"
    assert balance(world, "financier") == D("0.01")


@pytest.mark.parametrize("username", NOT_STAFF)
def test_everyone_else_is_403_and_nothing_is_written(world, username):
    deposit(world, "financier", "1000.00")
    before = counts()
    client = world.client(username)
    for url in ("/api/v1/admin/deposits/", "/api/v1/admin/withdrawals/"):
        response = client.post(url, body(world, amount="1.00", reference="X-1"), format="json")
        assert response.status_code == 403
        # A regulator is refused every write before the view (finance_portal.portal.middleware).
        assert response.json()["code"] == ("read_only_role" if username == "regulator" else "not_platform_staff")
        bad = client.post(url, {"amount": 1.5}, format="json")  # no input check before the role check
        assert bad.status_code == 403
    assert counts() == before


def test_a_withdrawal_beyond_the_balance_is_409_and_writes_nothing(world):
    deposit(world, "financier", "1000.00")
    before = counts()
    response = world.client("ops").post("/api/v1/admin/withdrawals/", body(world, amount="1000.01"), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_funds"
    assert "1000.00" in response.json()["detail"]
    assert counts() == before


def test_a_reused_bank_reference_is_409_and_writes_nothing(world):
    client = world.client("ops")
    assert client.post("/api/v1/admin/deposits/", body(world), format="json").status_code == 201
    before = counts()
    response = client.post("/api/v1/admin/deposits/", body(world), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_reference" and response.json()["field"] == "reference"
    assert counts() == before and balance(world, "financier") == D("1000.00")


@pytest.mark.parametrize(("field", "value"), [
    ("amount", 100.5), ("amount", "1e999999999"), ("amount", "１２３"), ("amount", "-5"), ("amount", "-5.00"),
    ("amount", "1.001"), ("amount", "0"), ("amount", ""), ("amount", None), ("amount", ["1"]),
    ("reference", "ICBC\x000001"), ("reference", ""), ("reference", "x" * 65), ("reference", "a b"),
    ("currency", "XXX"), ("currency", "ＣＮＹ"), ("organization", "91440300MA5F00000X"), ("organization", ""),
    ("organization", "<regulator>"), ("reason", ""), ("reason", "bad\x00"),
])
def test_bad_input_is_400_naming_the_field_and_writes_nothing(world, field, value):
    if value == "<regulator>":
        value = world.org("regulator").credit_code
    before = counts()
    response = world.client("ops").post("/api/v1/admin/deposits/", body(world, **{field: value}), format="json")
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["field"] == field and data["code"] == "invalid" and data["detail"]
    assert data[field]
    assert counts() == before


@pytest.mark.parametrize("raw", ['1e999999999', '100.5', 'NaN', 'Infinity', 'true'])
def test_raw_json_numbers_as_amounts_are_400(world, raw):
    text = json.dumps(body(world)).replace('"amount": "1000.00"', f'"amount": {raw}')
    before = counts()
    response = world.client("ops").post("/api/v1/admin/deposits/", text, content_type="application/json")
    assert response.status_code == 400, response.content
    assert counts() == before


def test_a_missing_field_is_named(world):
    data = body(world)
    del data["reason"]
    response = world.client("ops").post("/api/v1/admin/deposits/", data, format="json")
    assert response.status_code == 400 and response.json()["field"] == "reason"


def test_an_integer_amount_is_accepted_as_exact(world):
    response = world.client("ops").post("/api/v1/admin/deposits/", body(world, amount=250), format="json")
    assert response.status_code == 201
    assert balance(world, "financier") == D("250.00")


def test_the_endpoints_are_in_the_openapi_schema(world):
    schema = world.client("ops").get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert "get" in paths["/api/v1/accounts/"]
    statement = paths["/api/v1/accounts/{id}/statement/"]["get"]
    assert {"from", "to", "format"} <= {p["name"] for p in statement["parameters"]}
    for url in ("/api/v1/admin/deposits/", "/api/v1/admin/withdrawals/"):
        assert set(paths[url]["post"]["responses"]) >= {"201", "400", "403", "409"}


def test_the_ledger_endpoints_generate_a_schema_without_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    from finance_portal.ledger import api_urls

    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=api_urls.urlpatterns).get_schema(request=None, public=True)
    validate_schema(schema)
    assert not GENERATOR_STATS, str(GENERATOR_STATS._warn_cache or GENERATOR_STATS._error_cache)
