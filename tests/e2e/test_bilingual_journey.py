"""The whole road, in English and in Chinese, on a 390 px phone: the language chosen with the top bar's switcher,
a supplier uploads an invoice, drafts a bill and submits it; the buyer accepts; the supplier lists it at a rate
typed in percent, watches the price preview, is told beside the field what is wrong with a bad rate (what it
typed kept), and confirms; a financier buys after reading the price on the confirmation page; the bill's history
turns "anchored" under the holder's eyes without a reload; the clock moves to maturity and the buyer settles
after confirming; an anonymous visitor opens the holder's verification link and reads "Verified".

Every page of the walk is checked as it is reached: no 500 (not even an htmx fragment's), no debug page, the
document no wider than the 390 px viewport, the page in the chosen language (its <html lang>, a heading written
in that language's script, and on Chinese pages no English but data: names, typed reasons, codes). Every part is real: the pages, PostgreSQL, a Celery worker process anchoring
through Redis on the session's Anvil, and the public verification page.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone, translation

from bills import clock
from bills.models import Bill, BillState
from chain_adapter.models import AnchorRecord, AnchorStatus
from finance_portal.bootstrap import compile_messages
from finance_portal.ledger.services import deposit_record
from tests.chain_adapter.conftest import anchoring_worker  # noqa: F401  (fixture)
from tests.e2e.conftest import screenshot
from tests.e2e.test_screenshots import ENGLISH_TEXTS, data_texts, untranslated

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DEBUG_MARKERS = ("Traceback", "URLconf", "Request Method:", "Exception Value:", "Django settings")
CJK = re.compile(r"[\u4e00-\u9fff]")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclass(frozen=True)
class Words:
    """What the pages say in one language (the msgstr of the catalogues for zh-hans)."""

    html_lang: str
    log_in: str
    upload_invoice: str
    invoice_heading: str
    draft: str
    submitted: str
    accepted: str
    listed: str
    financed: str
    settled: str
    rate_error: str
    confirm_list: str
    what_will_happen: str
    buy_heading: str
    you_pay: str
    anchored: str
    settle_sentence: str
    verified: str


WORDS = {
    "en": Words(
        html_lang="en", log_in="Log in", upload_invoice="Upload an invoice", invoice_heading="Invoice No. {number}",
        draft="Draft", submitted="Submitted to the debtor", accepted="Accepted by the debtor",
        listed="Listed on the marketplace", financed="Financed",
        settled="Settled",
        rate_error="Write the rate as a plain number with the digits 0 to 9 and a point, such as 3.6.",
        confirm_list="Confirm: List", what_will_happen="What will happen", buy_heading="Buy bill {number}",
        you_pay="You pay 9,910.00 CNY to {seller}; the bill passes to your organization.",
        anchored="anchored in block", settle_sentence="Your organization pays {holder} 10,000.00 CNY",
        verified="Verified",
    ),
    "zh-hans": Words(
        html_lang="zh-Hans", log_in="登录", upload_invoice="上传发票", invoice_heading="发票 {number}",
        draft="草稿", submitted="已提交债务人", accepted="债务人已承兑", listed="已在市场挂牌", financed="已融资",
        settled="已结清",
        rate_error="请只用数字 0 至 9 和小数点填写利率，例如 3.6。",
        confirm_list="确认：挂牌", what_will_happen="将会发生什么", buy_heading="购买票据 {number}",
        you_pay="您向 {seller} 支付 9,910.00 CNY；票据转归贵机构。",
        anchored="已上链，区块", settle_sentence="贵机构向 {holder} 支付票据",
        verified="已验证",
    ),
}


@pytest.fixture(autouse=True)
def _compiled() -> None:
    compile_messages()


@pytest.fixture
def phone(browser, live_server):  # type: ignore[no-untyped-def]
    # Not is_mobile: a mobile viewport zooms out to fit a page that is too wide, and innerWidth grows with it.
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    pg = context.new_page()
    yield pg
    context.close()


@dataclass
class Walk:
    """A phone walking the portal in one language; every page it reaches is checked by ``arrive``."""

    page: object
    language: str
    words: Words
    navigated: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)
    failed_responses: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    english: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        page = self.page
        page.on("framenavigated",  # type: ignore[attr-defined]
                lambda frame: self.navigated.append(frame.url) if frame == page.main_frame else None)  # type: ignore[attr-defined]
        page.on("response",  # type: ignore[attr-defined]
                lambda r: self.failed_responses.append(f"{r.status} {r.request.method} {r.url}")
                if r.status >= 500 else None)

    def go(self, path: str, *, lang: str | None = None) -> None:
        self.page.goto(path)  # type: ignore[attr-defined]
        self.arrive(lang=lang)

    def arrive(self, *, lang: str | None = None) -> None:
        """Check the page the phone is on: no debug page, no sideways scroll, the chosen language."""
        page = self.page
        page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
        url = page.url  # type: ignore[attr-defined]
        where = f"{self.language} {url}"
        content = page.content()  # type: ignore[attr-defined]
        if any(marker in content for marker in DEBUG_MARKERS):
            self.problems.append(f"{where}: a debug page")
        width, viewport = page.evaluate(  # type: ignore[attr-defined]
            "[document.documentElement.scrollWidth, window.innerWidth]")
        if width > viewport:
            screenshot(page, f"bilingual-too-wide-{self.language}-{len(self.checked)}")
            self.problems.append(f"{where}: document {width} px wide in a {viewport} px viewport")
        expected = lang or self.words.html_lang
        shown = page.locator("html").get_attribute("lang")  # type: ignore[attr-defined]
        if shown != expected:
            self.problems.append(f"{where}: <html lang={shown!r}>, expected {expected!r}")
        heading = page.locator("h1").first.inner_text()  # type: ignore[attr-defined]
        if (expected == "zh-Hans") != bool(CJK.search(heading)):
            self.problems.append(f"{where}: the heading {heading!r} is not in {expected}")
        if expected == "zh-Hans":
            self.english.extend((where, text) for text in page.evaluate(ENGLISH_TEXTS))  # type: ignore[attr-defined]
        self.checked.add(url)

    def h1(self) -> str:
        return str(self.page.locator("h1").first.inner_text())  # type: ignore[attr-defined]

    def switch_language(self, code: str) -> None:
        self.page.click(f"form.language-switch button[value={code}]")  # type: ignore[attr-defined]
        self.arrive(lang="zh-Hans" if code == "zh-hans" else code)

    def log_in(self, username: str) -> None:
        page = self.page
        if page.locator(".who form button[type=submit]").count():  # type: ignore[attr-defined]
            page.click(".who form button[type=submit]")  # type: ignore[attr-defined]  # log out: the language stays
            self.arrive()
        self.go("/accounts/login/")
        assert self.h1() == self.words.log_in
        page.fill("#id_username", username)  # type: ignore[attr-defined]
        page.fill("#id_password", "demo12345")  # type: ignore[attr-defined]
        page.click("main button[type=submit]")  # type: ignore[attr-defined]
        self.arrive()
        assert "/accounts/login/" not in page.url, username  # type: ignore[attr-defined]

    def action(self, url: str, **fields: str) -> None:
        """Press the bill page's action ``url`` (its form ``#action-<url>``), after filling ``fields``."""
        form = self.page.locator(f"form#action-{url}")  # type: ignore[attr-defined]
        for name, value in fields.items():
            form.locator(f"[name={name}]").fill(value)
        form.locator("button[type=submit]").click()
        self.arrive()

    def confirm(self) -> None:
        self.page.locator("form.confirm-form button[type=submit]").click()  # type: ignore[attr-defined]
        self.arrive()


def shown_name(org, language: str) -> str:  # type: ignore[no-untyped-def]
    """An organization's name as a page in ``language`` shows it (its Chinese legal name to a Chinese reader,
    where the organization has one)."""
    org.refresh_from_db()
    with translation.override(language):
        return str(getattr(org, "display_name", org.legal_name))


def wait_anchored(timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while AnchorRecord.objects.exclude(status=AnchorStatus.CONFIRMED).exists():
        assert time.monotonic() < deadline, "anchoring did not finish"
        time.sleep(0.2)


def move_every_thread_to(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    """Move the bills' clock to ``moment`` for the live server's threads too.

    ``clock.travel_to`` moves the clock of the calling thread only (a context variable), and the live server
    answers from threads of its own; a fresh variable whose *default* is the offset moves every thread of this
    process (the anchoring worker's process keeps real time, which is what its batching reads)."""
    monkeypatch.setattr(clock, "_OFFSET", ContextVar("bills_clock_offset", default=moment - timezone.now()))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_whole_road_in_each_language_on_a_phone(phone, language, demo_orgs, anchor_contract,
                                                     anchoring_worker, monkeypatch):  # noqa: F811
    words = WORDS[language]
    other = "zh-hans" if language == "en" else "en"
    supplier, buyer, financier = demo_orgs["supplier"], demo_orgs["buyer"], demo_orgs["financier"]
    walk = Walk(phone, language, words)

    # The language, chosen with the switcher: the page changes to the other language, then to the chosen one.
    walk.go("/accounts/login/", lang="en")  # the browser asks for English
    walk.switch_language(other)
    assert walk.h1() == WORDS[other].log_in
    walk.switch_language(language)
    assert walk.h1() == words.log_in
    assert phone.locator(f"form.language-switch button[value={language}]").get_attribute("aria-current") == "true"

    # The supplier uploads an invoice owed by its buyer, drafts a bill from it and submits it.
    walk.log_in("supplier")
    walk.go("/invoices/upload/")
    assert walk.h1() == words.upload_invoice
    phone.set_input_files("#id_file", files=[{"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    number = "2644000100000007710" + ("1" if language == "en" else "2")
    phone.fill("#id_invoice_number", number)
    phone.fill("#id_buyer_credit_code", buyer.credit_code)
    phone.fill("#id_issue_date", (clock.today() - dt.timedelta(days=3)).isoformat())
    phone.fill("#id_amount_excl_tax", "10000.00")
    phone.fill("#id_tax_amount", "0.00")
    phone.fill("#id_total_amount", "10000.00")
    phone.click("#invoice-upload-form button[type=submit]")
    walk.arrive()
    assert walk.h1() == words.invoice_heading.format(number=number)

    walk.go("/bills/new/")
    phone.locator("#draft-form input.amount").first.fill("10000.00")
    maturity = clock.today() + dt.timedelta(days=90)
    phone.fill("#maturity_date", maturity.isoformat())
    phone.click("#draft-form button[type=submit]")
    walk.arrive()
    bill = Bill.objects.get(creditor=supplier, face="10000.00")
    assert walk.h1().endswith(words.draft) and bill.number in walk.h1()
    walk.action("submit")
    assert walk.h1().endswith(words.submitted)

    # The buyer finds it among its bills and accepts it.
    walk.log_in("buyer")
    walk.go("/bills/?state=submitted")
    phone.locator(f"main a:text-is('{bill.number}')").click()
    walk.arrive()
    walk.action("accept", reason="Goods received")
    assert walk.h1().endswith(words.accepted)

    # The supplier lists it. A rate that is no number is refused beside its field, with what was typed kept.
    walk.log_in("supplier")
    walk.go(f"/bills/{bill.pk}/")
    rate = phone.locator("form#action-list #list-rate")
    rate.press_sequentially("abc")
    phone.locator("form#action-list button[type=submit]").click()
    walk.arrive()
    error = phone.locator("#list-rate-error")
    assert error.is_visible() and error.inner_text() == words.rate_error
    assert phone.locator("#list-rate").input_value() == "abc"  # the input is kept
    assert phone.locator(".field.has-error:has(#list-rate) #list-rate-error").count() == 1  # in the field's box
    assert "list-rate-error" in (phone.get_attribute("#list-rate", "aria-describedby") or "").split()
    assert phone.get_attribute("#list-rate", "aria-invalid") == "true"
    assert Bill.objects.get(pk=bill.pk).state == BillState.ACCEPTED
    screenshot(phone, f"bilingual-{language}-1-rate-error")

    # 3.6 % a year: the preview follows the typing, 10,000 × 3.6 % × 90 / 360 = 90.00 of interest.
    rate = phone.locator("form#action-list #list-rate")
    rate.fill("")
    rate.press_sequentially("3.6")
    phone.wait_for_function(
        "() => (document.querySelector('#list-rate-preview [data-preview=price]') || {}).textContent"
        " === '9,910.00 CNY'")
    assert phone.inner_text("#list-rate-preview [data-preview=interest]") == "90.00 CNY"
    walk.arrive()
    phone.locator("form#action-list button[type=submit]").click()
    walk.arrive()
    assert walk.h1() == words.confirm_list
    assert words.what_will_happen in phone.inner_text("main") and "9,910.00 CNY" in phone.inner_text("main")
    assert Bill.objects.get(pk=bill.pk).state == BillState.ACCEPTED  # nothing happens before the confirmation
    walk.confirm()
    assert walk.h1().endswith(words.listed)

    # The financier, with cash on the platform, finds it on the marketplace and buys it after confirming.
    deposit_record(organization=financier, amount="50000.00", currency="CNY", actor=None,
                   reference=f"E2E-{language}-financier", reason="end-to-end test funding")
    walk.log_in("financier")
    walk.go("/marketplace/")
    row = phone.locator("tr", has=phone.locator(f"text={bill.number}"))
    assert "9,910.00" in row.inner_text()
    row.locator("a.button").click()
    walk.arrive()
    assert walk.h1() == words.buy_heading.format(number=bill.number)
    assert words.you_pay.format(seller=shown_name(supplier, language)) in phone.inner_text("main")
    assert not bill.purchases.exists()
    phone.locator("main form[action$='/buy/'] button[type=submit]").click()
    walk.arrive()
    assert walk.h1().endswith(words.financed)
    bill.refresh_from_db()
    assert bill.state == BillState.FINANCED and bill.holder == financier and bill.purchases.get().price == 9910

    # The new holder creates a verification link, and watches the history turn anchored without a reload:
    # no worker has run yet, so every event waits; the worker starts with the page open.
    phone.locator("main form[action^='/verify/links/'] button[type=submit]").click()
    walk.arrive()
    link = phone.locator(".verification-link a").first.get_attribute("href")
    assert link and "/verify/t/" in link
    events = bill.events.count()
    assert phone.locator('#bill-history [data-anchoring="waiting"]').count() == events == 5
    assert phone.get_attribute("#bill-history", "data-live") == "true"
    phone.evaluate("window.__notReloaded = true")  # a reload would forget it
    seen = len(walk.navigated)
    anchoring_worker(ANCHOR_BATCH_SIZE=10, ANCHOR_MAX_WAIT_SECONDS=0, ANCHOR_CONFIRMATIONS=1)
    phone.wait_for_function(
        "n => document.querySelectorAll('#bill-history [data-anchoring=\"confirmed\"]').length === n",
        arg=events, timeout=60_000)
    assert phone.evaluate("window.__notReloaded") is True and walk.navigated[seen:] == []
    assert phone.inner_text("#bill-history").count(words.anchored) == events
    assert phone.get_attribute("#bill-history", "data-live") == "false"
    walk.arrive()
    screenshot(phone, f"bilingual-{language}-2-anchored")
    # On a phone the history is a card per event, each line a label and its value, not eight columns squeezed
    # until Chinese breaks after every character: every cell spans the card, and its label is the column's.
    cells = phone.evaluate("""Array.from(document.querySelectorAll('#bill-history td')).map(td => [
        td.getBoundingClientRect().width, getComputedStyle(td, '::before').content, td.dataset.label])""")
    assert len(cells) == 8 * events and all(width > 300 for width, _, _ in cells), cells[:8]
    assert all(shown == f'"{label}"' for _, shown, label in cells), cells[:8]
    assert phone.locator("#bill-history thead").is_hidden()

    # Maturity: the clock moves (for the live server too), and the buyer, with the cash, settles after
    # reading who pays whom how much.
    at_maturity = dt.datetime.combine(maturity, dt.time(10), tzinfo=ZoneInfo(settings.TIME_ZONE))
    move_every_thread_to(monkeypatch, at_maturity)
    assert clock.today() == maturity
    deposit_record(organization=buyer, amount="10000.00", currency="CNY", actor=None,
                   reference=f"E2E-{language}-buyer", reason="end-to-end test funding")
    walk.log_in("buyer")
    walk.go(f"/bills/{bill.pk}/")
    walk.action("settle")
    assert words.settle_sentence.format(holder=shown_name(financier, language)) in phone.inner_text("main")
    assert Bill.objects.get(pk=bill.pk).state == BillState.FINANCED
    walk.confirm()
    assert walk.h1().endswith(words.settled)
    assert Bill.objects.get(pk=bill.pk).state == BillState.SETTLED

    # Anyone holding the link, logged in or not, reads the verdict in plain words, in the chosen language.
    wait_anchored()
    phone.click(".who form button[type=submit]")  # log out
    walk.arrive()
    walk.go(link)
    assert phone.get_attribute("[data-verdict]", "data-kind") == "verified"
    assert phone.inner_text("#verdict-title") == words.verified
    assert phone.locator("#proof tbody tr").count() == events + 1
    assert str(bill.pk) not in phone.content()
    screenshot(phone, f"bilingual-{language}-3-verified")

    unchecked = [url for url in walk.navigated if url not in walk.checked]
    assert unchecked == [], f"pages reached but not checked: {unchecked}"
    assert len(walk.checked) >= 12
    assert walk.failed_responses == [], walk.failed_responses
    assert walk.problems == [], "\n".join(walk.problems)
    left = untranslated(walk.english, data_texts())
    assert left == [], "English on Chinese pages:\n" + "\n".join(left)
