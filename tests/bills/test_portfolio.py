"""The portfolio pages: a financier's book (/portfolio/) and a seller's cash from claims sold (/cash/), per
role; the numbers of DESIGN §3's worked example; the weekly maturity ladder; realized returns; queries that do
not grow with the book (bills.portfolio)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bills import clock, portfolio, services
from bills.models import BillPurchase, BillState
from finance_portal.ledger.services import deposit_record
from tests.bills.factories import financed, listed, past, refresh

pytestmark = pytest.mark.django_db

_refs = itertools.count(1)

FACE, PRICE, RETURN = Decimal("10000.00"), Decimal("9910.00"), Decimal("90.00")
# 10,000 bought at 3.6 % for 90 days: 90.00 ÷ 9,910.00 × 360 ÷ 90 = 32,400 / 891,900 (one Decimal division).
YIELD = RETURN * 360 / (PRICE * 90)


def fund(world, org: str, amount: str = "10000000.00") -> None:  # type: ignore[no-untyped-def]
    """Cash for buying (or, for a debtor, settling): purchases may pay through the ledger."""
    deposit_record(organization=world.org(org), amount=amount, currency="CNY", reference=f"T-FUND-{next(_refs)}",
                   reason="test funding", actor=None)


@pytest.fixture
def funded(world):  # type: ignore[no-untyped-def]
    for org in ("financier", "financier2", "buyer"):
        fund(world, org)
    return world


def get(world, username: str | None, url: str):  # type: ignore[no-untyped-def]
    client = Client()
    if username is not None:
        client.force_login(world.user(username))
    return client.get(url)


def test_the_worked_example_in_numbers():
    assert YIELD == Decimal(32400) / Decimal(891900)
    assert YIELD.quantize(Decimal("0.0000001")) == Decimal("0.0363269")  # 3.63269 % a year on the money paid
    assert abs(YIELD - RETURN / PRICE * 360 / 90) < Decimal("1e-25")  # the formula as written on the page
    assert portfolio.annualized_yield(gain=RETURN, cost=PRICE, days=90) == YIELD
    assert portfolio.annualized_yield(gain=RETURN, cost=Decimal("0"), days=90) is None


def test_a_financier_sees_cost_face_return_yield_and_days_of_what_it_holds(funded):
    bill = financed(funded, "10000.00", rate="0.036", days=90)
    purchase = BillPurchase.objects.get(bill=bill)
    assert (purchase.price, purchase.interest, purchase.days) == (PRICE, RETURN, 90)
    response = get(funded, "financier", "/portfolio/")
    assert response.status_code == 200
    [row] = response.context["rows"]
    assert (row.cost, row.face, row.expected_return, row.days_to_maturity) == (PRICE, FACE, RETURN, 90)
    assert row.annualized_yield == YIELD
    [totals] = response.context["totals"]
    assert (totals.count, totals.cost, totals.face, totals.expected_return) == (1, PRICE, FACE, RETURN)
    assert totals.annualized_yield == YIELD
    text = response.content.decode()
    for shown in ("9,910.00 CNY", "10,000.00 CNY", "90.00 CNY", "3.63%", "3.60%", bill.number,
                  "Annualized yield = expected return ÷ cost × 360 ÷ days from the purchase to maturity"):
        assert shown in text


def test_the_book_yield_weights_each_bill_by_cost_and_days(funded):
    financed(funded, "10000.00", rate="0.036", days=90)
    financed(funded, "20000.00", rate="0.05", days=30)
    a, b = BillPurchase.objects.order_by("days")
    [totals] = portfolio.holdings_totals(funded.org("financier")).values()
    expected = (a.interest + b.interest) * 360 / (a.price * a.days + b.price * b.days)
    assert totals.annualized_yield == expected and totals.cost == a.price + b.price and totals.count == 2


def test_a_financier_never_sees_another_financiers_book_or_prices(funded):
    mine = financed(funded, "10000.00", buyer="financier")
    theirs = financed(funded, "30000.00", buyer="financier2", rate="0.041")
    theirs_price = BillPurchase.objects.get(bill=theirs).price
    text = get(funded, "financier", "/portfolio/").content.decode()
    assert mine.number in text and theirs.number not in text
    assert f"{theirs_price:,}" not in text and "30,000.00" not in text and "4.10%" not in text
    text2 = get(funded, "financier2", "/portfolio/").content.decode()
    assert theirs.number in text2 and mine.number not in text2 and "9,910.00" not in text2


def test_bills_bought_and_settled_leave_the_book_and_show_as_realized(funded):
    bill = financed(funded, "10000.00", days=90)
    with past(90):  # the maturity date
        services.bill_settle(bill_id=bill.pk, actor=funded.user("buyer"))
        assert refresh(bill).state == BillState.SETTLED
        response = get(funded, "financier", "/portfolio/")
    assert response.context["rows"] == []
    [realized] = response.context["realized"]
    assert (realized.cost, realized.received, realized.realized_return, realized.days_held) == (PRICE, FACE, RETURN, 90)
    assert realized.annualized_yield == YIELD
    [totals] = response.context["realized_totals"]
    assert totals.expected_return == RETURN and totals.count == 1
    assert bill.number in response.content.decode()
    with past(90 + portfolio.REALIZED_WINDOW_DAYS + 1):
        assert get(funded, "financier", "/portfolio/").context["realized"] == []


def test_the_maturity_ladder_sums_face_per_iso_week(funded):
    today = clock.today()
    for face, days in (("10000.00", 10), ("5000.00", 10), ("7000.00", 20), ("3000.00", 200)):
        financed(funded, face, days=days)
    ladders = portfolio.maturity_ladder(funded.org("financier"), today=today, weeks=13)
    [ladder] = ladders
    assert ladder.currency == "CNY" and len(ladder.rungs) == 14  # 13 weeks and "later"
    expected: dict[str, Decimal] = {}
    for face, days in (("10000.00", 10), ("5000.00", 10), ("7000.00", 20)):
        year, week, _ = (today + dt.timedelta(days=days)).isocalendar()
        key = f"{year}-W{week:02d}"
        expected[key] = expected.get(key, Decimal("0")) + Decimal(face)
    got = {r.label: r.face for r in ladder.rungs if r.face}
    assert got == {**expected, ladder.rungs[-1].label: Decimal("3000.00")}
    assert ladder.rungs[-1].label.startswith("After ")
    assert ladder.rungs[0].monday == today - dt.timedelta(days=today.weekday())
    assert max(r.share for r in ladder.rungs) == 100
    text = get(funded, "financier", "/portfolio/").content.decode()
    assert "15,000.00 CNY" in text and "Maturity ladder" in text
    assert len(get(funded, "financier", "/portfolio/?weeks=26").context["ladders"][0].rungs) == 26 + 1  # + later


def test_a_seller_sees_each_sale_with_cash_received_and_discount_paid(funded):
    bill = financed(funded, "10000.00", rate="0.036", days=90)
    response = get(funded, "supplier", "/cash/")
    assert response.status_code == 200
    [(sale, cost)] = response.context["rows"]
    assert (sale.face, sale.price, sale.interest, sale.rate) == (FACE, PRICE, RETURN, Decimal("0.036"))
    assert cost == YIELD  # the discount as a yearly cost of the cash received
    [month] = response.context["months"]
    assert (month.count, month.face, month.received, month.discount) == (1, FACE, PRICE, RETURN)
    text = response.content.decode()
    for shown in ("10,000.00 CNY", "9,910.00 CNY", "90.00 CNY", "3.60%", bill.number,
                  funded.org("financier").legal_name, "Asia/Shanghai"):
        assert shown in text
    assert bill.number not in get(funded, "supplier2", "/cash/").content.decode()


def test_monthly_totals_use_the_platforms_months(funded):
    financed(funded, "10000.00")
    financed(funded, "20000.00")
    months = portfolio.sales_by_month(funded.org("supplier"), tz=dt.timezone(dt.timedelta(hours=8)))
    assert len(months) == 1 and months[0].count == 2 and months[0].face == Decimal("30000.00")


@pytest.mark.parametrize("username", ["supplier", "supplier2", "buyer"])
def test_non_financiers_are_refused_the_portfolio_and_pointed_to_their_cash(funded, username):
    financed(funded)
    response = get(funded, username, "/portfolio/")
    assert response.status_code == 403 and "/cash/" in response.content.decode()
    assert "9,910.00" not in response.content.decode()
    assert get(funded, username, "/cash/").status_code == 200


@pytest.mark.parametrize("url", ["/portfolio/", "/cash/"])
def test_anonymous_users_are_sent_to_the_login_page(world, url):
    response = get(world, None, url)
    assert response.status_code == 302 and response["Location"].startswith(f"/accounts/login/?next={url}")


@pytest.mark.parametrize("username", ["regulator", "admin"])
def test_regulators_and_platform_staff_read_any_book_read_only(funded, username):
    bill = financed(funded)
    picker = get(funded, username, "/portfolio/")
    assert picker.status_code == 200 and funded.org("financier").legal_name in picker.content.decode()
    assert funded.org("supplier").legal_name not in picker.content.decode()
    response = get(funded, username, f"/portfolio/?org={funded.org('financier').pk}")
    text = response.content.decode()
    assert response.status_code == 200 and "Read-only" in text and bill.number in text and "9,910.00 CNY" in text
    assert get(funded, username, f"/portfolio/?org={funded.org('supplier').pk}").status_code == 404
    assert get(funded, username, "/portfolio/?org=x").status_code == 404
    sales = get(funded, username, f"/cash/?org={funded.org('supplier').pk}")
    assert sales.status_code == 200 and "Read-only" in sales.content.decode() and bill.number in sales.content.decode()
    assert get(funded, username, "/cash/").status_code == 200  # the picker


def test_only_the_own_organizations_page_for_members_whatever_the_query(funded):
    theirs = financed(funded, buyer="financier2")
    response = get(funded, "financier", f"/portfolio/?org={funded.org('financier2').pk}")
    assert response.status_code == 200 and theirs.number not in response.content.decode()


def test_the_pages_run_a_fixed_number_of_queries_whatever_the_book(funded):
    def count(username: str, url: str) -> int:
        client = Client()
        client.force_login(funded.user(username))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    financed(funded, days=30)
    small = {url: count(user, url) for user, url in (("financier", "/portfolio/"), ("supplier", "/cash/"))}
    for n in range(6):
        bill = financed(funded, f"{1000 + n}.00", days=20 + 7 * n)
        if n % 2:
            with past(20 + 7 * n):
                services.bill_settle(bill_id=bill.pk, actor=funded.user("buyer"))
    listed(funded)
    large = {url: count(user, url) for user, url in (("financier", "/portfolio/"), ("supplier", "/cash/"))}
    assert large == small
    # 12 for the pages, 2 for their charts' data (ladder and debtors; cash and discount by month), 1 for the
    # nav's unread-notifications count; the session is renewed at most once a minute, not on these requests.
    assert all(n <= 15 for n in large.values()), large


def test_each_selector_is_one_query(funded, django_assert_max_num_queries):
    for days in (15, 40, 70):
        bill = financed(funded, days=days)
    with past(70):
        services.bill_settle(bill_id=bill.pk, actor=funded.user("buyer"))
    org, seller, today = funded.org("financier"), funded.org("supplier"), clock.today()
    since = clock.now() - dt.timedelta(days=1)
    with django_assert_max_num_queries(1):
        assert len(portfolio.holding_rows(portfolio.holdings_of(org), today=today)) == 2
    with django_assert_max_num_queries(1):
        portfolio.holdings_totals(org)
    with django_assert_max_num_queries(1):
        portfolio.maturity_ladder(org, today=today)
    with django_assert_max_num_queries(1):
        assert len(portfolio.realized_rows(portfolio.settled_holdings_of(org, since=since))) == 1
    with django_assert_max_num_queries(1):
        portfolio.realized_totals(org, since=since)
    with django_assert_max_num_queries(1):
        assert len(list(portfolio.sales_of(seller))) == 3
    with django_assert_max_num_queries(1):
        portfolio.sales_by_month(seller, tz=dt.UTC)
    with django_assert_max_num_queries(1):
        portfolio.sales_totals(seller)
