"""The client-side charts' JSON (``/charts/data/<name>/``): each endpoint's numbers equal a sum over the rows
the real services wrote, amounts are decimal strings (never a float), each endpoint lets in exactly the viewers
of the page that shows it, labels follow the request's language, and the queries do not grow with the data."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from bills import clock, services
from bills.models import Bill, BillPurchase
from finance_portal.bootstrap import compile_messages
from finance_portal.ledger.models import AccountKind, EntryKind, Posting
from finance_portal.oversight import stats
from finance_portal.oversight.models import OversightFlag, Rule, Severity
from finance_portal.portal import charts_data
from sme_credit.models import CreditScore
from sme_credit.services import credit_refresh
from tests.bills.factories import World, accepted, build_world, draft, financed, listed, past
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def no_float(text: str) -> None:
    raise AssertionError(f"a float in a chart's JSON: {text}")


def fetch(client: Client, url: str, status: int = 200) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    payload: dict[str, Any] = json.loads(response.content, parse_float=no_float)
    return payload


def as_user(username: str) -> Client:
    return login(Client(), username)


def dataset(payload: dict[str, Any], key: str) -> list[Any]:
    [found] = [d["values"] for d in payload["datasets"] if d["key"] == key]
    return found


def money(values: list[Any]) -> list[Decimal]:
    """Amounts as sent: each a string with exactly two decimals, read as an exact Decimal."""
    for v in values:
        assert isinstance(v, str) and v.count(".") == 1 and len(v.split(".")[1]) == 2, v
    return [Decimal(v) for v in values]


# ---------------------------------------------------------------------------------------------------------
# A financier's maturity ladder and book by debtor
# ---------------------------------------------------------------------------------------------------------

LADDER = "/charts/data/financier-ladder/"
DEBTORS = "/charts/data/financier-debtors/"


def bucket(days: int) -> str:
    if days < 0:
        return "Overdue"
    for label, last in (("0–7 days", 7), ("8–30 days", 30), ("31–90 days", 90), ("91–180 days", 180)):
        if days <= last:
            return label
    return "More than 180 days"


def test_the_ladder_sums_the_face_held_per_bucket_of_days_to_maturity(world):
    for face, days in (("1000.00", 3), ("2000.00", 7), ("3000.00", 8), ("4000.00", 30), ("5000.00", 31),
                       ("6000.00", 91), ("7000.00", 180), ("8000.00", 181), ("9000.00", 300)):
        financed(world, face, days=days)
    financed(world, "50000.00", days=20, buyer="financier2")  # another financier's: never in this ladder
    with past(4):  # the 3-day bill is overdue now, the 7-day one 3 days away
        today = clock.today()
        payload = fetch(as_user("financier"), LADDER)
    expected: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    counts: dict[str, int] = defaultdict(int)
    for p in BillPurchase.objects.filter(buyer=world.org("financier")).select_related("bill"):
        expected[bucket((p.bill.maturity_date - today).days)] += p.bill.face
        counts[bucket((p.bill.maturity_date - today).days)] += 1
    assert payload["labels"] == ["Overdue", "0–7 days", "8–30 days", "31–90 days", "91–180 days", "More than 180 days"]
    assert money(dataset(payload, "face")) == [expected[label] for label in payload["labels"]]
    assert dataset(payload, "bills") == [counts[label] for label in payload["labels"]]
    assert money(dataset(payload, "face")) == [Decimal(n) for n in ("1000.00", "5000.00", "9000.00", "6000.00",
                                                                    "15000.00", "9000.00")]
    assert payload["unit"] == "CNY" and payload["as_of"] == today.isoformat() and payload["empty"] == ""


def test_the_book_by_debtor_lists_the_largest_and_puts_the_rest_together(world, monkeypatch):
    financed(world, "10000.00", debtor="buyer")
    financed(world, "5000.00", debtor="buyer")
    financed(world, "12000.00", debtor="buyer2")
    payload = fetch(as_user("financier"), DEBTORS)
    assert payload["labels"] == [world.org("buyer").legal_name, world.org("buyer2").legal_name]
    assert money(dataset(payload, "face")) == [Decimal("15000.00"), Decimal("12000.00")]
    assert dataset(payload, "bills") == [2, 1]
    monkeypatch.setattr(charts_data, "TOP_DEBTORS", 1)
    payload = fetch(as_user("financier"), DEBTORS)
    assert payload["labels"] == [world.org("buyer").legal_name, "1 other debtor"]
    assert money(dataset(payload, "face")) == [Decimal("15000.00"), Decimal("12000.00")]


def test_a_financier_without_claims_gets_an_empty_note_not_an_error(world):
    payload = fetch(as_user("financier"), LADDER)
    assert payload["empty"] == "No claims held in CNY."
    assert money(dataset(payload, "face")) == [Decimal("0.00")] * 6


def test_nobody_reads_another_financiers_ladder(world):
    financed(world, "30000.00", buyer="financier2")
    other = world.org("financier2").pk
    # A financier naming another is shown its own (empty) book, as the portfolio page does; others are refused.
    mine = fetch(as_user("financier"), f"{LADDER}?org={other}")
    assert money(dataset(mine, "face")) == [Decimal("0.00")] * 6
    assert fetch(as_user("financier"), f"{DEBTORS}?org={other}")["labels"] == []
    for username in ("supplier", "buyer"):
        assert fetch(as_user(username), f"{LADDER}?org={other}", 403)["code"] == "permission_denied"
        assert fetch(as_user(username), f"{DEBTORS}?org={other}", 403)["code"] == "permission_denied"
    theirs = fetch(as_user("regulator"), f"{LADDER}?org={other}")  # a regulator names whose book it reads
    assert sum(money(dataset(theirs, "face"))) == Decimal("30000.00")
    assert fetch(as_user("regulator"), LADDER, 404)["code"] == "not_found"  # ...and must name one
    assert fetch(as_user("regulator"), f"{LADDER}?org={world.org('supplier').pk}", 404)  # not a financier


# ---------------------------------------------------------------------------------------------------------
# A seller's cash received and discount paid by month
# ---------------------------------------------------------------------------------------------------------

CASH = "/charts/data/seller-cash/"


def test_cash_received_and_discount_by_month_equal_the_ledger_and_the_sales(world):
    a = financed(world, "10000.00", rate="0.036", days=90)
    b = financed(world, "20000.00", rate="0.05", days=30, buyer="financier2")
    kept = accepted(world, "7000.00", days=10)
    financed(world, "40000.00", supplier="supplier2")  # another seller's sale
    with past(10):
        services.bill_settle(bill_id=kept.pk, actor=world.user("buyer"))
    payload = fetch(as_user("supplier"), CASH)
    month = timezone.localdate().strftime("%Y-%m")
    assert len(payload["labels"]) == 12 and payload["labels"][-1] == month
    sales = list(BillPurchase.objects.filter(seller=world.org("supplier")))
    assert {s.bill_id for s in sales} == {a.pk, b.pk}
    postings = Posting.objects.filter(account__organization=world.org("supplier"), account__kind=AccountKind.CASH,
                                      amount__gt=0)
    proceeds = sum((p.amount for p in postings if p.entry.kind == EntryKind.PURCHASE), Decimal("0.00"))
    settled = sum((p.amount for p in postings if p.entry.kind == EntryKind.SETTLEMENT), Decimal("0.00"))
    assert proceeds == sum((s.price for s in sales), Decimal("0.00")) and settled == Decimal("7000.00")
    zero = [Decimal("0.00")] * 11
    assert money(dataset(payload, "purchase")) == [*zero, proceeds]
    assert money(dataset(payload, "settlement")) == [*zero, settled]
    assert money(dataset(payload, "discount")) == [*zero, sum((s.face - s.price for s in sales), Decimal("0.00"))]
    assert dataset(payload, "discount")[-1] == "173.33" and payload["stacked"] is True  # 90.00 + 83.33
    # Deposits (the test's funding) are not cash from claims.
    assert fetch(as_user("buyer"), CASH)["empty"]


def test_a_supplier_reads_its_own_cash_only_and_a_regulator_names_the_seller(world):
    financed(world, "40000.00", supplier="supplier2")
    other = world.org("supplier2").pk
    mine = fetch(as_user("supplier"), f"{CASH}?org={other}")  # its own, whatever it names
    assert sum(money(dataset(mine, "discount"))) == Decimal("0.00")
    theirs = fetch(as_user("regulator"), f"{CASH}?org={other}")
    sale = BillPurchase.objects.get(seller_id=other)
    assert sum(money(dataset(theirs, "discount"))) == sale.face - sale.price
    assert fetch(as_user("regulator"), CASH, 404)
    assert fetch(as_user("regulator"), f"{CASH}?org=x", 404)


# ---------------------------------------------------------------------------------------------------------
# The regulator's volume by month and state, and open flags
# ---------------------------------------------------------------------------------------------------------

VOLUME = "/charts/data/oversight-volume/"
FLAGS = "/charts/data/oversight-flags/"


def test_volume_by_month_and_state_equals_the_bills_issued(world):
    accepted(world, "10000.00")
    listed(world, "20000.00")
    financed(world, "30000.00")
    financed(world, "40000.00", buyer="financier2")
    draft(world, "5000.00")  # never issued: counts for no month
    regulator = as_user("regulator")
    counts, faces = fetch(regulator, f"{VOLUME}?measure=count"), fetch(regulator, f"{VOLUME}?measure=face")
    month = clock.today().strftime("%Y-%m")
    at = counts["labels"].index(month)
    expected_n: dict[str, int] = defaultdict(int)
    expected_face: dict[str, Decimal] = defaultdict(Decimal)
    for bill in Bill.objects.filter(root__isnull=True, currency="CNY").exclude(state__in=stats.NOT_ISSUED):
        if bill.issue_date.strftime("%Y-%m") == month:
            expected_n[bill.state] += 1
            expected_face[bill.state] += bill.face
    assert {d["key"]: d["values"][at] for d in counts["datasets"]} == dict(expected_n)
    assert {d["key"]: Decimal(d["values"][at]) for d in faces["datasets"]} == dict(expected_face)
    assert expected_n == {"accepted": 1, "listed": 1, "financed": 2}
    for d in faces["datasets"]:
        money(d["values"])
    assert [d["label"] for d in counts["datasets"]] == ["Accepted by the debtor", "Listed on the marketplace", "Financed"]
    assert sum(Decimal(d["values"][at]) for d in faces["datasets"]) == stats.volume_by_month()[-1].face
    assert fetch(regulator, f"{VOLUME}?measure=price", 400)["code"] == "invalid_parameter"
    assert fetch(regulator, f"{VOLUME}?currency=XXX", 400)["code"] == "invalid_parameter"


def test_open_flags_by_rule_and_severity_equal_the_flag_rows(world):
    bill = accepted(world)
    now = timezone.now()
    for subject, rule, severity, acknowledged in (("a", Rule.CHAIN_MISMATCH, Severity.HIGH, False),
                                                  ("b", Rule.CHAIN_MISMATCH, Severity.LOW, False),
                                                  ("c", Rule.TENOR_BEYOND_LIMIT, Severity.MEDIUM, False),
                                                  ("d", Rule.CHAIN_MISMATCH, Severity.HIGH, True)):
        OversightFlag.objects.create(rule=rule, subject=f"bill:{subject}", bill=bill, severity=severity, explanation="x",
                                     first_seen=now, last_seen=now, acknowledged_at=now if acknowledged else None,
                                     acknowledged_by=world.user("regulator") if acknowledged else None,
                                     acknowledgement_note="seen" if acknowledged else "")
    payload = fetch(as_user("regulator"), FLAGS)
    assert payload["labels"] == [str(r.label) for r in Rule]
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for f in OversightFlag.objects.filter(acknowledged_at__isnull=True):
        expected[(f.rule, f.severity)] += 1
    for d in payload["datasets"]:
        assert d["values"] == [expected[(r.value, d["key"])] for r in Rule]
    assert [d["key"] for d in payload["datasets"]] == ["high", "medium", "low"]


@pytest.mark.parametrize("url", [VOLUME, FLAGS])
def test_oversight_charts_are_for_regulators_and_staff(world, url):
    assert fetch(as_user("regulator"), url)["labels"]
    assert fetch(as_user("admin"), url)["labels"]
    for username in ("supplier", "buyer", "financier"):
        assert fetch(as_user(username), url, 403)["code"] == "permission_denied"
    response = Client().get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# ---------------------------------------------------------------------------------------------------------
# An organization's score history
# ---------------------------------------------------------------------------------------------------------


def score_url(world, key: str) -> str:  # type: ignore[no-untyped-def]
    return f"/charts/data/organization-score/?org={world.org(key).pk}"


def test_the_score_history_is_every_score_oldest_first(world):
    accepted(world)
    credit_refresh(organization=world.org("supplier"))
    accepted(world)
    credit_refresh(organization=world.org("supplier"))
    payload = fetch(as_user("financier"), score_url(world, "supplier"))
    scores = list(CreditScore.objects.filter(organization=world.org("supplier")).order_by("computed_at", "id"))
    assert len(scores) == 2
    assert dataset(payload, "score") == [s.score for s in scores]
    assert payload["labels"] == [timezone.localtime(s.computed_at).strftime("%Y-%m-%d %H:%M") for s in scores]
    assert payload["kind"] == "line" and payload["timezone"] == "Asia/Shanghai"


@pytest.mark.parametrize("username,status", [("supplier", 200), ("financier", 200), ("regulator", 200),
                                             ("admin", 200), ("supplier2", 404), ("buyer", 404)])
def test_the_score_history_has_the_credit_pages_readers(world, username, status):
    credit_refresh(organization=world.org("supplier"))
    fetch(as_user(username), score_url(world, "supplier"), status)


def test_an_unknown_or_missing_organization_and_chart_are_404_and_posts_are_refused(world):
    client = as_user("regulator")
    fetch(client, "/charts/data/organization-score/?org=999999", 404)
    fetch(client, "/charts/data/organization-score/", 404)
    fetch(client, "/charts/data/organization-score/?org=abc", 404)
    assert client.get("/charts/data/no-such-chart/").status_code == 404
    assert as_user("financier").post(LADDER).status_code in (403, 405)
    response = Client().get(score_url(world, "supplier"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# ---------------------------------------------------------------------------------------------------------
# Language, pages, queries
# ---------------------------------------------------------------------------------------------------------


def test_labels_follow_the_request_language(world):
    compile_messages()
    translation.trans_real._translations = {}  # forget catalogues loaded before the .mo existed
    translation.trans_real._default = None
    financed(world)
    client = as_user("financier")
    payload = client.get(LADDER, HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert payload["labels"][0] == "逾期" and payload["title"].startswith("按到期时间")
    assert client.get(LADDER, HTTP_ACCEPT_LANGUAGE="en").json()["labels"][0] == "Overdue"


def test_pages_carry_the_canvas_its_label_and_the_same_numbers_in_a_table(world):
    financed(world, "12345.67", days=20)
    html = as_user("financier").get("/portfolio/").content.decode()
    assert '<canvas data-chart-url="/charts/data/financier-ladder/?currency=CNY" data-chart-kind="bar" role="img"' in html
    assert 'data-chart-kind="doughnut"' in html
    assert "8–30 days: 12,345.67 CNY" in html  # the aria-label sums the data up
    assert '<th scope="row">8–30 days</th><td class="num">12,345.67 CNY</td><td class="num">1</td>' in html
    assert "js/charts.js" in html and "js/chart.umd.min.js" in html
    cash = as_user("supplier").get("/cash/").content.decode()
    assert '<canvas data-chart-url="/charts/data/seller-cash/?currency=CNY"' in cash
    outside = as_user("regulator").get(f"/portfolio/?org={world.org('financier').pk}").content.decode()
    assert f'data-chart-url="/charts/data/financier-ladder/?currency=CNY&amp;org={world.org("financier").pk}"' in outside


def count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    return len(captured.captured_queries)


def test_each_endpoint_costs_the_same_queries_with_few_and_many_bills(world):
    urls = [("financier", LADDER), ("financier", DEBTORS), ("supplier", CASH), ("regulator", f"{VOLUME}?measure=face"),
            ("regulator", FLAGS), ("regulator", score_url(world, "supplier"))]
    clients = {u: as_user(u) for u in ("financier", "supplier", "regulator")}
    financed(world, days=10)
    credit_refresh(organization=world.org("supplier"))
    for user, url in urls:
        count(clients[user], url)  # warm the session
    few = {url: count(clients[user], url) for user, url in urls}
    for i in range(8):
        bill = financed(world, f"{2000 + i}.00", days=5 + 30 * i, debtor="buyer2" if i % 2 else "buyer",
                        buyer="financier")
        if i % 3 == 0:
            with past(5 + 30 * i):
                services.bill_settle(bill_id=bill.pk, actor=world.user("buyer2" if i % 2 else "buyer"))
        accepted(world, f"{3000 + i}.00")
        credit_refresh(organization=world.org("supplier"))
    many = {url: count(clients[user], url) for user, url in urls}
    assert many == few
    # The session, the user, the viewer's membership, one or two grouped reads, the session's renewal (3).
    assert all(n <= 10 for n in many.values()), many


def test_a_month_boundary_is_the_platforms_calendar(world):
    """A purchase at 23:30 UTC on a month's last day is the next month's in Asia/Shanghai (UTC+8)."""
    start = clock.today().replace(day=1)
    last_day_utc = dt.datetime.combine(start - dt.timedelta(days=1), dt.time(23, 30), tzinfo=dt.UTC)
    with clock.travel_to(last_day_utc):
        financed(world, "10000.00", days=40)
    payload = fetch(as_user("supplier"), CASH)
    assert Decimal(dataset(payload, "discount")[-1]) > 0  # this month in the platform's calendar
    assert Decimal(dataset(payload, "discount")[-2]) == 0


def test_a_reversed_settlement_is_not_cash_received(world):
    """A settlement the platform reversed (money taken back) counts for no month; the reversal itself neither."""
    from finance_portal.ledger.services import entry_reverse

    kept = accepted(world, "7000.00", days=10)
    with past(10):
        services.bill_settle(bill_id=kept.pk, actor=world.user("buyer"))
    assert sum(money(dataset(fetch(as_user("supplier"), CASH), "settlement"))) == Decimal("7000.00")
    [posting] = Posting.objects.filter(account__organization=world.org("supplier"), entry__kind=EntryKind.SETTLEMENT)
    entry_reverse(entry_id=posting.entry_id, reason="paid to the wrong account", actor=world.user("admin"))
    assert sum(money(dataset(fetch(as_user("supplier"), CASH), "settlement"))) == Decimal("0.00")
