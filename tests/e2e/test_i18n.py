"""The language switch in the browser: the top bar's switcher turns the portal Chinese and back, the choice
outlives the page, and the Chinese pages fit a 390 px phone as the English ones do.

Screenshots land in ``.run/screenshots/i18n-*.png``.
"""

from __future__ import annotations

import pytest

from finance_portal.bootstrap import compile_messages
from finance_portal.ledger.services import cash_account
from tests.bills.factories import build_world, financed, listed
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _compiled() -> None:
    compile_messages()


def log_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo12345")
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def test_the_switcher_turns_the_portal_chinese_and_the_choice_is_kept(page):  # type: ignore[no-untyped-def]
    world = build_world()
    bill = listed(world, face="1234567.89", rate="0.036")
    log_in(page, "supplier")
    page.goto(f"/bills/{bill.pk}/")
    assert page.locator("nav.mainnav").inner_text().split()[:3] == ["Home", "Invoices", "Bills"]
    screenshot(page, "i18n-bill-en")

    page.click("form.language-switch button[value=zh-hans]")
    page.wait_for_load_state()
    assert page.url.endswith(f"/bills/{bill.pk}/")  # back on the same page
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert "票据" in page.locator("nav.mainnav").inner_text()
    assert "1,234,567.89 CNY" in page.content() and "年化 3.60%" in page.content()
    screenshot(page, "i18n-bill-zh")

    page.goto("/invoices/")  # a later page, no parameter: still Chinese
    assert page.locator("h1").inner_text() == "发票"

    page.click("form.language-switch button[value=en]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Invoices"


SQUEEZED_CELLS = """Array.from(document.querySelectorAll('td'))
  .filter(td => td.offsetParent !== null && /[\\u4e00-\\u9fff]{2}/.test(td.innerText))
  .map(td => [td.getBoundingClientRect().width, parseFloat(getComputedStyle(td).fontSize), td.innerText.slice(0, 20)])
  .filter(([width, size]) => width < 3 * size)"""


@pytest.mark.parametrize("username,pages", [
    ("supplier", ["/home/supplier/", "/bills/", "/invoices/", "/cash/", "/money/", "/notifications/"]),
    ("financier", ["/home/financier/", "/marketplace/", "/portfolio/", "/bills/", "/bills/{bill}/",
                   "/money/statement/{statement}/"]),
    ("regulator", ["/home/regulator/", "/oversight/", "/oversight/charts/", "/oversight/audit/",
                   "/oversight/reconciliation/", "/oversight/data/bills/", "/bills/"]),
])
def test_chinese_pages_fit_a_phone(browser, live_server, username, pages):  # type: ignore[no-untyped-def]
    world = build_world()
    listed(world, face="1234567.89")
    bought = financed(world, face="250000.00")  # a holding, a purchase on its page, a statement line
    ids = {"bill": bought.pk, "statement": cash_account(world.org("financier"), "CNY").pk}
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url,
                                  locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    phone = context.new_page()
    try:
        log_in(phone, username)
        for url in (page.format(**ids) for page in pages):
            phone.goto(url)
            assert phone.locator("html").get_attribute("lang") == "zh-Hans", url
            width = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], (url, width)
            # No column squeezed until Chinese breaks after every character or two: a cell with Chinese text is
            # at least three characters wide (list tables turn into a card per row on a phone).
            squeezed = phone.evaluate(SQUEEZED_CELLS)
            assert not squeezed, (url, squeezed[:3])
            screenshot(phone, f"i18n-phone-{username}-{url.strip('/').replace('/', '-') or 'home'}")
    finally:
        context.close()
