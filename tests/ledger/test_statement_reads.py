"""A statement reads its figures in one aggregate: the opening balance, the period's total and number of lines
and the balance now (no second SUM for "balance now", no COUNT for the pager), and costs the same queries for
a few lines as for several pages of them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from finance_portal.ledger import selectors, services
from tests.ledger.conftest import World, deposit

pytestmark = pytest.mark.django_db


def supplier_account(world: World) -> int:
    return services.cash_account(world.org("supplier"), "CNY").pk


def fund(world: World, n: int) -> None:
    for i in range(n):
        deposit(world, "supplier", f"{10 + i}.00")


def test_the_statement_figures_for_every_period(world: World) -> None:
    fund(world, 3)  # 10 + 11 + 12
    services.withdrawal_record(organization=world.org("supplier"), amount="5.00", currency="CNY", reference="OUT",
                               reason="x", actor=None)
    account = services.cash_account(world.org("supplier"), "CNY")
    today = dt.datetime.now(dt.UTC).date()
    cases = {
        (None, None): (D("0.00"), D("28.00"), 4),
        (today, today): (D("0.00"), D("28.00"), 4),
        (today + dt.timedelta(days=1), None): (D("28.00"), D("28.00"), 0),
        (None, today - dt.timedelta(days=1)): (D("0.00"), D("0.00"), 0),
    }
    for (start, end), (opening, closing, n) in cases.items():
        s = selectors.account_statement(account=account, date_from=start, date_to=end)
        assert (s.opening_balance, s.closing_balance, s.count) == (opening, closing, n), (start, end)
        assert s.count == len(list(s.lines))
        assert s.balance_now == selectors.account_balance(account) == D("28.00")  # whatever the period


def statement_queries(client, url: str) -> list[str]:  # type: ignore[no-untyped-def]
    client.get(url)  # warm-up
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries if "ledger_posting" in q["sql"]]


@pytest.mark.parametrize("path", ["/api/v1/accounts/{}/statement/", "/money/statement/{}/"])
def test_a_statement_reads_the_postings_twice_for_a_few_lines_or_for_pages(world: World, path: str) -> None:
    client = world.client("supplier")
    url = path.format(supplier_account(world))
    fund(world, 3)
    few = statement_queries(client, url)
    fund(world, 120)
    many = statement_queries(client, url)
    assert len(few) == len(many) == 2  # the figures, the page's lines
    assert not any("COUNT(*)" in sql for sql in many)


def test_the_json_statement_counts_and_pages_from_the_known_count(world: World) -> None:
    fund(world, 60)
    client = world.client("supplier")
    url = f"/api/v1/accounts/{supplier_account(world)}/statement/"
    first = client.get(url).json()
    total = sum(D(f"{10 + i}.00") for i in range(60))
    assert first["count"] == 60 and len(first["results"]) == 50 and first["next"] and not first["previous"]
    assert D(first["account"]["balance"]) == total == D(first["closing_balance"])
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 10 and second["next"] is None
    assert D(second["results"][-1]["balance"]) == total
    assert client.get(url + "?page=3").status_code == 404
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    empty = client.get(url + f"?from={tomorrow}").json()
    assert (empty["count"], empty["results"], D(empty["account"]["balance"])) == (0, [], total)


def test_the_statement_page_lands_on_its_last_page_with_the_balance_now(world: World) -> None:
    fund(world, 120)
    client = world.client("supplier")
    body = client.get(f"/money/statement/{supplier_account(world)}/").content.decode()
    total = sum(D(f"{10 + i}.00") for i in range(120))
    assert "page 2 of 2" in body
    assert body.count("<tr>") - 1 == 20  # the header row, then the last 20 lines
    assert f"{total:,}" in body


# What templates/ledger/statement.html drew for a line before ledger.views._line_drawer drew it.
PER_LINE = """{% load money %}
    <tr>
      <td class="nowrap">{{ line.entry.created_at|when }}</td>
      <td>#{{ line.entry_id }}</td>
      <td class="desc">{{ line.words }}{% if line.entry.reference and line.entry.kind in bank_kinds %} <code>{{ line.entry.reference }}</code>{% endif %}{% if line.entry.memo %}<br><span class="muted">{{ line.entry.memo }}</span>{% endif %}</td>
      <td class="num">{% if line.amount > 0 %}{{ line.amount|money:account.currency }}{% endif %}</td>
      <td class="num">{% if line.amount < 0 %}{{ line.amount|money_abs:account.currency }}{% endif %}</td>
      <td class="num">{{ line.balance|money:account.currency }}</td>
    </tr>"""


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_line_draws_as_the_template_did(world: World, language: str) -> None:
    from django.template import Context, Template
    from django.utils import translation

    from finance_portal.ledger.models import BANK_KINDS
    from finance_portal.ledger.views import _line_drawer

    services.deposit_record(organization=world.org("supplier"), amount="1234567.89", currency="CNY",
                            reference="RD-1/#x", reason="<b>R&D 'x'</b>", actor=None)
    services.withdrawal_record(organization=world.org("supplier"), amount="0.89", currency="CNY",
                               reference="OUT:1", reason="<script>memo</script>", actor=None)
    account = services.cash_account(world.org("supplier"), "CNY")
    template = Template(PER_LINE)
    with translation.override(language):
        draw = _line_drawer(account.currency)
        lines = list(selectors.account_statement(account=account).lines)
        assert len(lines) == 2
        for line in lines:
            line.words = "Deposit <from> the bank" if line.amount > 0 else "Withdrawal & co"
            before = template.render(Context({"line": line, "account": account, "bank_kinds": BANK_KINDS}))
            assert draw(line) == before
            assert "<script>" not in before and "<b>" not in before


def test_the_json_lines_are_the_serializers(world: World) -> None:
    from finance_portal.ledger.api import StatementLineSerializer, statement_lines_data

    fund(world, 2)
    services.withdrawal_record(organization=world.org("supplier"), amount="0.50", currency="CNY", reference="OUT-2",
                               reason="memo 'x' <y>", actor=None)
    lines = list(selectors.account_statement(account=services.cash_account(world.org("supplier"), "CNY")).lines)
    fast = statement_lines_data(lines)
    assert fast == StatementLineSerializer(lines, many=True).data
    assert [row["amount"] for row in fast] == ["10.00", "11.00", "-0.50"]
    assert fast[0]["created_at"].endswith("Z") and fast[-1]["balance"] == "20.50"
