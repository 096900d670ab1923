"""A flag's explanation and a reconciliation's differences read in the reader's language.

Each rule's scenario is built through the real bill services (or an edit behind the application's back) and
swept; the regulator's dashboard then shows the explanation as a Chinese sentence with the finding's numbers
and none of the English sentence's words in Chinese, and exactly the stored English in English. The API and
the CSV export keep the English text. A reconciliation run against the chain stores each difference in
English beside the message it was made of; its page shows the differences in Chinese, the English nowhere.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone, translation
from django.utils.html import escape

from bills import services
from bills.problems import message_text
from finance_portal.bootstrap import compile_messages
from finance_portal.oversight.dashboard_views import run_status
from finance_portal.oversight.models import OversightFlag, ReconciliationRun, Rule
from finance_portal.oversight.services import oversight_sweep, reconciliation_run
from tests.bills.factories import World, accepted, draft, financed, make_invoice
from tests.oversight.conftest import sql
from tests.oversight.test_rules_scenarios import USUAL, history, issue

pytestmark = pytest.mark.django_db

ZH = "zh-hans"
CJK = re.compile(r"[\u4e00-\u9fff]")
FLAGS_API = "/api/v1/oversight/flags/"


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> Iterator[None]:
    compile_messages()
    translation.trans_real._translations = {}  # forget catalogues loaded before the .mo existed
    translation.trans_real._default = None
    yield


# The scenarios: each builds its case through the services and names a phrase the Chinese sentence carries.


def invoice_on_two_live_bills(world: World) -> None:
    inv = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    draft(world, "4000.00", invoice=inv)
    draft(world, "6000.00", invoice=inv)


def invoice_financed_twice(world: World) -> None:
    inv = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    financed(world, "5000.00", invoice=inv)
    financed(world, "5000.00", invoice=inv, buyer="financier2")


def face_above_invoices(world: World) -> None:
    bill = financed(world, "10000.00")
    sql("UPDATE bills_billallocation SET amount = amount - 2500 WHERE bill_id = %s", [bill.pk])


def back_to_the_first_holder(world: World) -> None:
    bill = accepted(world)
    for giver, taker in (("supplier", "supplier2"), ("supplier2", "supplier")):
        services.bill_transfer(bill_id=bill.pk, actor=world.user(giver), to=world.org(taker).credit_code)
        services.bill_receive(bill_id=bill.pk, actor=world.user(taker))


def financed_right_after_acceptance(world: World) -> None:
    financed(world)
    financed(world)


def one_face_history_and_a_big_one(world: World) -> None:
    history(world, *("1000.00",) * 5)
    draft(world, "50000.00")


def varied_history_and_a_big_one(world: World) -> None:
    history(world, *USUAL)
    draft(world, "200000.00")


def varied_history_and_a_small_one(world: World) -> None:
    history(world, *USUAL)
    draft(world, "100.00")


def long_tenor(world: World) -> None:
    with override_settings(BILL_MAX_TENOR_DAYS=400):
        draft(world, days=380)


def large_bill_without_invoices(world: World) -> None:
    bill = issue(world, "1500000.00")
    services.bill_receive(bill_id=bill.pk, actor=world.user("supplier"))


def history_edited(world: World) -> None:
    bill = accepted(world)
    sql("UPDATE bills_billevent SET amounts = '{\"face\": \"99999.00\"}' WHERE bill_id = %s AND seq = 2", [bill.pk])


SETTINGS = {"OVERSIGHT_QUICK_FINANCING_COUNT": 2, "OVERSIGHT_QUICK_FINANCING_MINUTES": 30,
            "OVERSIGHT_OUTLIER_FACTOR": "10", "OVERSIGHT_OUTLIER_MIN_HISTORY": 5, "OVERSIGHT_OUTLIER_Z": "3.5",
            "OVERSIGHT_NO_INVOICE_THRESHOLD": "1000000.00"}

SCENARIOS: list[tuple[str, Callable[[World], None], str]] = [
    (Rule.INVOICE_REUSED, invoice_on_two_live_bills, "张有效票据"),
    (Rule.INVOICE_REUSED, invoice_financed_twice, "已被融资 2 次"),
    (Rule.FACE_ABOVE_INVOICES, face_above_invoices, "无发票支撑"),
    (Rule.CIRCULAR_TRANSFER, back_to_the_first_holder, "回到了曾经的持票人手中"),
    (Rule.QUICK_FINANCING, financed_right_after_acceptance, "分钟内即被融资"),
    (Rule.AMOUNT_OUTLIER, one_face_history_and_a_big_one, "多数相同面额"),
    (Rule.AMOUNT_OUTLIER, varied_history_and_a_big_one, "个稳健标准差"),
    (Rule.AMOUNT_OUTLIER, varied_history_and_a_small_one, "低"),
    (Rule.TENOR_BEYOND_LIMIT, long_tenor, "从签发到到期共 380 天；上限为 365 天"),
    (Rule.ISSUED_WITHOUT_INVOICES, large_bill_without_invoices, "没有任何发票支撑"),
    (Rule.CHAIN_MISMATCH, history_edited, "存储的规范文本与由各字段重建的文本不一致"),
]


def leftover_words_checked(flag: OversightFlag) -> bool:
    """The English sentence has words the check looks for (so an untranslated sentence would fail it)."""
    return len(english_words(flag.explanation_template, flag.explanation_params)) >= 3


def regulator(world: World, language: str) -> Client:
    client = Client()
    client.force_login(world.user("regulator"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def texts(params: dict[str, Any]) -> list[str]:
    """The values a sentence carries, nested messages' values included."""
    out: list[str] = []
    for value in params.values():
        out += texts(value["params"]) if isinstance(value, dict) else [value]
    return out


def english_words(template: str, params: dict[str, Any]) -> set[str]:
    """The English words of a message (its templates without placeholders), less those its values carry."""
    words = set(re.findall(r"[A-Za-z]{3,}", re.sub(r"%\(\w+\)s", " ", template)))
    for value in params.values():
        if isinstance(value, dict):
            words |= english_words(value["template"], value["params"])
    data = " ".join(texts(params))
    return {w for w in words if w not in set(re.findall(r"[A-Za-z]+", data))}


@pytest.mark.parametrize(("rule", "scenario", "phrase"), SCENARIOS, ids=[s[1].__name__ for s in SCENARIOS])
def test_each_rules_explanation_reads_in_chinese_and_stays_english_for_the_api_and_csv(world, rule, scenario,
                                                                                      phrase):
    with override_settings(**SETTINGS):
        scenario(world)
        oversight_sweep()
    [flag] = OversightFlag.objects.filter(rule=rule)
    assert flag.explanation_template and all(isinstance(v, str | dict) for v in flag.explanation_params.values())
    assert flag.explanation == message_text(flag.explanation_template, flag.explanation_params, translate=str)

    with translation.override(ZH):
        chinese = flag.explanation_text
    assert CJK.search(chinese) and phrase in chinese
    assert leftover_words_checked(flag)
    assert all(value in chinese for value in texts(flag.explanation_params))  # numbers, money, bill numbers
    leftover = english_words(flag.explanation_template, flag.explanation_params)
    assert not leftover & set(re.findall(r"[A-Za-z]+", chinese)), chinese

    page = regulator(world, ZH).get("/oversight/").content.decode()
    assert escape(chinese) in page and escape(flag.explanation) not in page
    page = regulator(world, "en").get("/oversight/").content.decode()
    assert escape(flag.explanation) in page

    client = regulator(world, ZH)
    [row] = [r for r in client.get(FLAGS_API, {"rule": rule}).json()["results"] if r["id"] == flag.pk]
    assert row["explanation"] == flag.explanation and "explanation_template" not in row
    exported = list(csv.DictReader(io.StringIO(client.get("/oversight/flags.csv").content.decode())))
    assert [r["explanation"] for r in exported if r["id"] == str(flag.pk)] == [flag.explanation]


def test_a_flag_stored_without_a_template_shows_its_english(world):
    bill = accepted(world)
    flag = OversightFlag.objects.create(rule=Rule.TENOR_BEYOND_LIMIT, subject=f"bill:{bill.pk}", bill=bill,
                                        severity="medium", explanation="An older finding.", evidence={},
                                        first_seen=bill.created_at, last_seen=bill.created_at)
    with translation.override(ZH):
        assert flag.explanation_text == "An older finding."


def test_a_translation_that_does_not_fit_its_values_falls_back_to_english():
    assert message_text("Bill %(number)s", {"number": "B-1"}, translate=lambda t: "票据 %(other)s") == "Bill B-1"


def test_the_reconciliation_page_lists_a_bills_differences_in_chinese(world):
    """The database-only check of each bill, on the reconciliation page."""
    bill = accepted(world)
    sql("UPDATE bills_bill SET face = 1.00 WHERE id = %s", [bill.pk])
    page = regulator(world, ZH).get("/oversight/reconciliation/").content.decode()
    assert "面额 10000.00 与票据面额 1.00 不一致" in page
    assert "differs from the bill" not in page
    page = regulator(world, "en").get("/oversight/reconciliation/").content.decode()
    assert "differs from the bill&#x27;s" in page


@pytest.mark.chain
def test_a_reconciliation_run_stores_english_and_shows_its_differences_in_chinese(world, anchor_contract):
    bill, _sound = accepted(world), accepted(world)
    sql("UPDATE bills_bill SET face = 1.00 WHERE id = %s", [bill.pk])
    run = reconciliation_run(trigger="manual")
    [detail] = run.details
    assert set(detail) == {"bill", "number", "problems"}  # the API's shape, in English
    [messages] = run.detail_messages
    assert [message_text(m["template"], m["params"], translate=str) for m in messages] == detail["problems"]
    assert any("differs from the bill's" in p for p in detail["problems"])

    zh = regulator(world, ZH).get("/oversight/reconciliation/").content.decode()
    for problem in detail["problems"]:
        assert escape(problem) not in zh
    assert "面额 10000.00 与票据面额 1.00 不一致" in zh and "技术细节" not in zh

    [flag] = OversightFlag.objects.filter(rule=Rule.CHAIN_MISMATCH)
    dashboard = regulator(world, ZH).get("/oversight/").content.decode()
    assert "与区块链不再一致" in dashboard and escape(flag.explanation) not in dashboard
    assert "no longer matches" not in dashboard
    english = regulator(world, "en").get("/oversight/").content.decode()
    assert escape(flag.explanation) in english and flag.explanation.endswith(detail["problems"][0])

    client = regulator(world, ZH)
    last = client.get("/api/v1/oversight/reconciliation/").json()["last_run"]
    assert last["details"] == run.details


def test_a_run_stored_without_messages_keeps_its_english_inside_the_technical_detail(world):
    bill = accepted(world)
    ReconciliationRun.objects.create(
        started_at=bill.created_at, finished_at=bill.created_at, trigger="schedule", bills_checked=1,
        events_checked=3, mismatches=1,
        details=[{"bill": str(bill.pk), "number": bill.number, "problems": ["the chain's head differs"]}])
    zh = regulator(world, ZH).get("/oversight/reconciliation/").content.decode()
    technical = re.search(r"<details><summary>技术细节</summary><pre>(.*?)</pre></details>", zh, re.S)
    assert technical and "the chain&#x27;s head differs" in technical.group(1)
    assert zh.count("the chain&#x27;s head differs") == 1 and "1 个问题" in zh


def test_the_financiers_marketplace_figure_is_not_the_listed_state():
    with translation.override(ZH):
        assert translation.pgettext("dashboard", "Listed on the marketplace") == "交易市场挂牌数"
        assert translation.gettext("Listed on the marketplace") != "交易市场挂牌数"


def test_the_chain_summary_agrees_in_number():
    now = timezone.now()

    def summaries(language: str) -> dict[int, str]:
        with translation.override(language):
            found = {n: run_status(ReconciliationRun(trigger="manual", mismatches=n, started_at=now, finished_at=now))
                     for n in (1, 2)}
        return {n: str(s["text"]) for n, s in found.items() if s}

    assert summaries("en") == {1: "1 bill differs from the chain", 2: "2 bills differ from the chain"}
    assert summaries(ZH) == {1: "1 张票据与区块链不一致", 2: "2 张票据与区块链不一致"}
