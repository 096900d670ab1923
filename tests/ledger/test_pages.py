"""The money pages: /money/ (accounts with balances) and /money/statement/<id>/ (running balance, a date
filter in the platform's days, CSV), per role; the ``money`` template filter."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import Client
from django.test.utils import CaptureQueriesContext

from finance_portal.ledger import services
from finance_portal.ledger.models import AccountKind, JournalEntry
from finance_portal.portal.templatetags.money import format_money, percent
from tests.ledger.conftest import World, deposit

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def page(world: World, username: str | None, url: str):  # type: ignore[no-untyped-def]
    client = Client()
    if username is not None:
        client.force_login(world.user(username))
    return client.get(url)


def cash(world: World, org: str, currency: str = "CNY"):  # type: ignore[no-untyped-def]
    return services.cash_account(world.org(org), currency)


@contextlib.contextmanager
def posted_at(moment: dt.datetime) -> Iterator[None]:
    """Entries posted inside the block are dated ``moment`` (the ledger dates entries itself)."""
    field = JournalEntry._meta.get_field("created_at")
    cached = field.__dict__.pop("_get_default", None)
    field.__dict__["_get_default"] = lambda: moment
    try:
        yield
    finally:
        field.__dict__.pop("_get_default", None)
        if cached is not None:
            field.__dict__["_get_default"] = cached


def withdraw(world: World, org: str, amount: str, reference: str) -> JournalEntry:
    return services.withdrawal_record(organization=world.org(org), amount=amount, currency="CNY",
                                      reference=reference, reason="payout", actor=None)


# ---------------------------------------------------------------------------------------------------------
# The filter
# ---------------------------------------------------------------------------------------------------------


def test_the_money_filter_groups_thousands_and_names_the_currency():
    render = Template("{% load money %}{{ a|money:'CNY' }}|{{ b|money:'JPY' }}|{{ c|money_abs:'CNY' }}|{{ d|money }}")
    text = render.render(Context({"a": Decimal("1234567.5"), "b": Decimal("1234567"), "c": Decimal("-90.00"),
                                  "d": None}))
    assert text == "1,234,567.50 CNY|1,234,567 JPY|90.00 CNY|–"
    assert format_money(Decimal("-0.5"), "CNY") == "\u22120.50 CNY"
    assert format_money("9910.00", "cny") == "9,910.00 CNY"  # an event's decimal string
    assert format_money(Decimal("0.005"), "CNY") == "0.01 CNY"  # half-up, the platform's one rule
    assert percent(Decimal("0.036")) == "3.60%" and percent(Decimal("90") / Decimal("9910") * 4, 4) == "3.6327%"


@pytest.mark.parametrize("value", [1.5, 0.1 + 0.2, True, float("nan")])
def test_the_money_filter_refuses_floats(value):
    with pytest.raises(TypeError):
        format_money(value, "CNY")


# ---------------------------------------------------------------------------------------------------------
# Who sees what
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/money/", "/money/statement/1/"])
def test_anonymous_users_are_sent_to_the_login_page(world, url):
    response = page(world, None, url)
    assert response.status_code == 302 and response["Location"].startswith(f"/accounts/login/?next={url}")


@pytest.mark.parametrize("username,own,foreign", [
    ("supplier", "supplier", "supplier2"),
    ("supplier2", "supplier2", "supplier"),
    ("buyer", "buyer", "financier"),
    ("financier", "financier", "financier2"),
    ("financier2", "financier2", "financier"),
])
def test_members_see_their_own_accounts_and_never_anothers(world, username, own, foreign):
    deposit(world, own, "12345.67")
    deposit(world, foreign, "7654.32")
    response = page(world, username, "/money/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "12,345.67 CNY" in text and "7,654.32" not in text
    assert world.org(foreign).legal_name not in text
    assert f"/money/statement/{cash(world, own).pk}/" in text
    assert page(world, username, f"/money/statement/{cash(world, own).pk}/").status_code == 200
    assert page(world, username, f"/money/statement/{cash(world, foreign).pk}/").status_code == 404
    clearing = services.platform_account(AccountKind.BANK_CLEARING, "CNY")
    assert page(world, username, f"/money/statement/{clearing.pk}/").status_code == 404
    assert page(world, username, "/money/statement/999999999/").status_code == 404


@pytest.mark.parametrize("username", ["regulator", "admin", "ops"])
def test_regulators_and_platform_staff_read_every_account_read_only(world, username):
    deposit(world, "supplier", "12345.67")
    deposit(world, "financier", "500000.00")
    text = page(world, username, "/money/").content.decode()
    assert "read-only" in text
    assert world.org("supplier").legal_name in text and "12,345.67 CNY" in text
    assert world.org("financier").legal_name in text and "500,000.00 CNY" in text
    assert "the platform" in text and "\u2212512,345.67 CNY" in text  # bank clearing mirrors the money held
    statement = page(world, username, f"/money/statement/{cash(world, 'supplier').pk}/")
    body = statement.content.decode()
    assert statement.status_code == 200 and "Read-only" in body and "12,345.67 CNY" in body
    assert "<form method=\"post\"" not in body.split("Log out")[-1]  # nothing to act on, only to read


# ---------------------------------------------------------------------------------------------------------
# The statement
# ---------------------------------------------------------------------------------------------------------


def history(world: World) -> dict[str, JournalEntry]:
    """Supplier's cash: +10,000.00 on 1 March, +2,500.50 at 01:30 Shanghai on 3 March (still 2 March in UTC),
    −1,000.00 on 10 March."""
    return {
        "first": _at(dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC), lambda: deposit(world, "supplier", "10000.00", "BANK-A")),
        "late": _at(dt.datetime(2026, 3, 2, 17, 30, tzinfo=dt.UTC),
                    lambda: deposit(world, "supplier", "2500.50", "BANK-B")),
        "out": _at(dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC), lambda: withdraw(world, "supplier", "1000.00", "WD-1")),
    }


def _at(moment, post):  # type: ignore[no-untyped-def]
    with posted_at(moment):
        return post()


def test_the_statement_shows_each_entry_with_its_running_balance_in_the_platforms_time(world):
    history(world)
    response = page(world, "supplier", f"/money/statement/{cash(world, 'supplier').pk}/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "Asia/Shanghai, UTC+08:00" in text
    lines = [(line.amount, line.balance) for line in response.context["page"]]
    assert lines == [(Decimal("10000.00"), Decimal("10000.00")), (Decimal("2500.50"), Decimal("12500.50")),
                     (Decimal("-1000.00"), Decimal("11500.50"))]
    assert "2026-03-03 01:30" in text  # 17:30 UTC on 2 March is 01:30 on 3 March in Shanghai
    assert "12,500.50 CNY" in text and "11,500.50 CNY" in text and "1,000.00 CNY" in text
    assert "Deposit from the bank" in text and "Withdrawal to the bank" in text and "BANK-B" in text


def test_the_date_filter_counts_the_platforms_days_and_carries_the_opening_balance(world):
    history(world)
    url = f"/money/statement/{cash(world, 'supplier').pk}/"
    response = page(world, "supplier", url + "?from=2026-03-03&to=2026-03-03")
    statement = response.context["statement"]
    assert [line.amount for line in response.context["page"]] == [Decimal("2500.50")]
    assert statement.opening_balance == Decimal("10000.00") and statement.closing_balance == Decimal("12500.50")
    assert "10,000.00 CNY" in response.content.decode()
    response = page(world, "supplier", url + "?from=2026-03-02&to=2026-03-02")  # a UTC day, not Shanghai's
    assert list(response.context["page"]) == [] and "No entries in this period" in response.content.decode()
    response = page(world, "supplier", url + "?from=2026-03-04")
    assert [line.balance for line in response.context["page"]] == [Decimal("11500.50")]


@pytest.mark.parametrize("query,message", [
    ("?from=03/01/2026", "YYYY-MM-DD"),
    ("?to=2026-02-30", "YYYY-MM-DD"),
    ("?from=2026-03-10&to=2026-03-01", "ends before it starts"),
])
def test_bad_dates_are_explained_not_crashed_on(world, query, message):
    response = page(world, "supplier", f"/money/statement/{cash(world, 'supplier').pk}/{query}")
    assert response.status_code == 400 and message in response.content.decode()


def test_the_csv_is_the_whole_period_in_the_platforms_time_with_formulas_defused(world):
    history(world)
    services.deposit_record(organization=world.org("supplier"), amount="1.00", currency="CNY",
                            reference="BANK-F", reason="=HYPERLINK(\"http://x\")", actor=None)
    response = page(world, "supplier", f"/money/statement/{cash(world, 'supplier').pk}/?from=2026-03-02&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="statement-' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["time (Asia/Shanghai)", "entry", "kind", "reference", "memo", "amount", "balance", "currency"]
    assert rows[1][0] == "2026-03-03T01:30:00+08:00" and rows[1][2:] == [
        "deposit", "BANK-B", "test funding", "2500.50", "12500.50", "CNY"]
    assert rows[2][0] == "2026-03-10T12:00:00+08:00" and rows[2][5:7] == ["-1000.00", "11500.50"]
    assert rows[3][4] == "'=HYPERLINK(\"http://x\")" and rows[3][6] == "11501.50"
    assert len(rows) == 4


def test_text_from_entries_is_escaped_on_the_page(world):
    services.deposit_record(organization=world.org("supplier"), amount="1.00", currency="CNY",
                            reference="BANK-X", reason="<script>alert(1)</script>", actor=None)
    text = page(world, "supplier", f"/money/statement/{cash(world, 'supplier').pk}/").content.decode()
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text


def test_a_long_statement_lands_on_its_newest_page(world):
    for n in range(105):
        deposit(world, "supplier", "1.00", f"BANK-N{n}")
    url = f"/money/statement/{cash(world, 'supplier').pk}/"
    response = page(world, "supplier", url)
    assert response.context["page"].number == 2 and len(response.context["page"]) == 5
    assert [line.balance for line in response.context["page"]][-1] == Decimal("105.00")
    first = page(world, "supplier", url + "?page=1")
    assert [line.balance for line in first.context["page"]][:2] == [Decimal("1.00"), Decimal("2.00")]


@pytest.mark.parametrize("url", ["/money/", "/money/statement/{pk}/"])
def test_the_pages_run_the_same_number_of_queries_whatever_the_history(world, url):
    client = Client()
    client.force_login(world.user("regulator"))
    deposit(world, "supplier", "1.00")
    target = url.format(pk=cash(world, "supplier").pk)
    with CaptureQueriesContext(connection) as few:
        assert client.get(target).status_code == 200
    for n in range(40):
        deposit(world, "supplier", "1.00")
        deposit(world, "supplier2" if n % 2 else "buyer", "2.00")
    with CaptureQueriesContext(connection) as many:
        assert client.get(target).status_code == 200
    # 10 for the page, 1 for the nav's unread-notification badge; the session is renewed at most once a minute
    assert len(many) == len(few) <= 11


def test_purchases_read_as_bought_or_sold_from_the_accounts_side(world):
    from finance_portal.ledger.models import EntryKind

    deposit(world, "financier", "20000.00")
    services.entry_post(kind=EntryKind.PURCHASE, memo="Purchase of bill BL-TEST", reference="bill:test",
                        lines=[(cash(world, "financier"), Decimal("-9910.00")), (cash(world, "supplier"), Decimal("9910.00"))])
    bought = page(world, "financier", f"/money/statement/{cash(world, 'financier').pk}/").content.decode()
    sold = page(world, "supplier", f"/money/statement/{cash(world, 'supplier').pk}/").content.decode()
    assert "Bill bought" in bought and "10,090.00 CNY" in bought and "Purchase of bill BL-TEST" in bought
    assert "Bill sold" in sold and "9,910.00 CNY" in sold


def test_pages_name_accounts_in_the_readers_language_not_by_their_stored_english_name(world):
    deposit(world, "supplier", "100.00")
    account, org = cash(world, "supplier"), world.org("supplier")
    assert org.legal_name_zh and account.name.startswith(org.legal_name)  # the stored name is English data
    client = Client()
    client.force_login(world.user("supplier"))
    for url in ("/money/", f"/money/statement/{account.pk}/"):
        chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
        assert org.legal_name_zh in chinese and org.legal_name not in chinese, url
        assert account.name not in chinese and "平台托管现金" in chinese, url
        english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert org.legal_name in english and org.legal_name_zh not in english, url
    statement = client.get(f"/money/statement/{account.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"{org.legal_name} · Cash held on the platform (CNY)" in statement
