"""Phones: each role's landing dashboard and the notification inbox fit 390 px, in English and in Chinese.

Both worlds of the confidentiality test are laid down (bills in every queue, offers, limits, freeze requests,
notifications read and unread), so every queue has rows and every nav has a badge. For each language one
browser context; in it each role logs in through the form and opens its dashboard and its inbox: the document
is no wider than the viewport (``scrollWidth <= 390``), the page speaks the language, and the console stays
free of errors. Screenshots land in ``.run/screenshots/dash-phone-<lang>-<user>-<page>.png``.
"""

from __future__ import annotations

import pytest

from finance_portal.bootstrap import compile_messages
from tests.bills.factories import build_world
from tests.e2e.conftest import screenshot, sign_out
from tests.notifications.test_dashboard_confidentiality import A, B, populate

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
LANGUAGES = {"en": ("en-US", "en-US,en;q=0.9", "en"), "zh": ("zh-CN", "zh-CN,zh;q=0.9", "zh-Hans")}
PAGES = {
    "supplier": "/home/supplier/",
    "buyer": "/home/core_enterprise/",
    "financier": "/home/financier/",
    "regulator": "/home/regulator/",
    "admin": "/home/platform/",
}


# Amounts whose number (the text before the currency code) is broken over two lines: "999,985,00" / "8.85 CNY"
# reads as another number. A break between the number and its currency is fine.
BROKEN_AMOUNTS = """() => [...document.querySelectorAll('.dash-figure .num, .dash-queue .num')].filter(el => {
  const node = el.firstChild;
  if (!node || node.nodeType !== Node.TEXT_NODE || !node.textContent.trim()) return false;
  const text = node.textContent, start = text.search(/\\S/), trimmed = text.trim();
  const cut = trimmed.lastIndexOf(' ');
  const range = document.createRange();
  range.setStart(node, start);
  range.setEnd(node, start + (cut > 0 ? cut : trimmed.length));
  return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1;
}).map(el => el.textContent.trim())"""


def log_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    """Log in through the form (its own button: the top bar has buttons of its own)."""
    sign_out(page)
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo12345")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, username


def badge_problems(page, where: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The nav's unread badge counts the inbox's unread items (all on its first page here) and stays in sight."""
    unread = page.locator(".inbox-item.unread").count()
    badge = page.locator("nav.mainnav .badge")
    if not unread:
        return [f"{where}: a badge with nothing unread"] if badge.count() else []
    if badge.count() != 1 or badge.inner_text().strip() != str(unread):
        return [f"{where}: badge {badge.all_inner_texts()} for {unread} unread"]
    box = badge.bounding_box()
    if box is None or box["x"] < 0 or box["x"] + box["width"] > PHONE["width"]:
        return [f"{where}: badge out of sight at {box}"]
    return []


def test_dashboards_and_inbox_fit_a_phone_in_english_and_chinese(browser, live_server):  # type: ignore[no-untyped-def]
    compile_messages()
    world = build_world()
    populate(world, A)
    populate(world, B)
    problems: list[str] = []
    seen = unread_seen = 0
    console: list[str] = []  # errors of the page being checked, cleared before each
    for lang, (locale, accept, html_lang) in LANGUAGES.items():
        context = browser.new_context(viewport=PHONE, base_url=live_server.url, locale=locale,
                                      extra_http_headers={"Accept-Language": accept})
        page = context.new_page()
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda err: console.append(f"pageerror: {err}"))
        try:
            for username, home in PAGES.items():
                log_in(page, username)
                for name, path in (("home", home), ("inbox", "/notifications/")):
                    console.clear()
                    response = page.goto(path)
                    page.wait_for_load_state("networkidle")
                    seen += 1
                    where = f"{lang} {username} {path}"
                    if response is None or response.status != 200:
                        problems.append(f"{where}: status {response.status if response else None}")
                    if page.locator("html").get_attribute("lang") != html_lang:
                        problems.append(f"{where}: not in {html_lang}")
                    if name == "home" and page.locator(".dash-queue").count() == 0:
                        problems.append(f"{where}: no work queue on the dashboard")
                    width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                    if width > PHONE["width"] or width > viewport:
                        problems.append(f"{where}: document {width} px wide in a {viewport} px viewport")
                    if name == "inbox":
                        problems += badge_problems(page, where)
                        unread_seen += page.locator(".inbox-item.unread").count()
                    broken = page.evaluate(BROKEN_AMOUNTS)
                    if broken:
                        problems.append(f"{where}: amounts broken mid-number {broken}")
                    if console:
                        problems.append(f"{where}: console {console}")
                    screenshot(page, f"dash-phone-{lang}-{username}-{name}")
        finally:
            context.close()
    assert seen == 2 * len(PAGES) * len(LANGUAGES) and unread_seen
    assert problems == [], "\n".join(problems)

