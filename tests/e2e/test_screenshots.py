"""Screenshots of every role's main pages, in English and in Chinese, taken on the demo data by a real browser.

The demo organizations and business (bills in every state, oversight cases, limits) are loaded through the
services, a Celery worker anchors their history on the session's Anvil, and each role's pages are shot at
1280 × 800 (the viewport, not the full page, to keep the files small) into ``docs/screenshots/<language>/
<role>-<page>.jpg`` (JPEG, quality 70), overwritten on every run; the README shows a selection. Every page shot
must answer 200 in the language asked for, with nothing wider than the window, and a Chinese page must show no
English but data (names, reasons typed by people, codes).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from bills.models import Bill, BillEvent
from chain_adapter.models import AnchorRecord, AnchorStatus
from finance_portal.bootstrap import compile_messages
from finance_portal.organizations.models import Organization
from finance_portal.portal.demo import load_demo_business, load_demo_limits, load_demo_organizations

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
LANGUAGES = {"en": ("en", "en-US,en;q=0.9"), "zh-hans": ("zh-Hans", "zh-CN,zh;q=0.9")}

# role → (username, [(page name, path)]); "{bill:KEY}" is the demo bill of reference DEMO-KEY.
PAGES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "supplier": ("supplier", [
        ("dashboard", "/home/supplier/"), ("bills", "/bills/"), ("bill", "{bill:S04}"), ("new-bill", "/bills/new/"),
        ("invoices", "/invoices/"), ("invoice-upload", "/invoices/upload/"), ("invoice-import", "/invoices/import/"),
        ("notifications", "/notifications/"),
    ]),
    "buyer": ("buyer", [
        ("dashboard", "/home/core_enterprise/"), ("bills", "/bills/"), ("bill", "{bill:S02}"),
        ("invoices", "/invoices/"), ("notifications", "/notifications/"),
    ]),
    "financier": ("financier", [
        ("dashboard", "/home/financier/"), ("marketplace", "/marketplace/"), ("listing", "/marketplace/{pk:S04}/"),
        ("buy", "/marketplace/{pk:S04}/buy/"), ("portfolio", "/portfolio/"), ("bills", "/bills/"),
        ("bill", "{bill:S05}"), ("notifications", "/notifications/"),
    ]),
    "regulator": ("regulator", [
        ("dashboard", "/home/regulator/"), ("oversight", "/oversight/"), ("charts", "/oversight/charts/"),
        ("reconciliation", "/oversight/reconciliation/"), ("audit", "/oversight/audit/"), ("bills", "/bills/"),
        ("bill", "{bill:S05}"), ("notifications", "/notifications/"),
    ]),
    "admin": ("admin", [
        ("dashboard", "/home/platform/"), ("worker", "/ops/worker/"), ("oversight", "/oversight/"),
        ("bill", "{bill:S13}"), ("notifications", "/notifications/"),
    ]),
}


# Text of a page's body that reads as English words (two words or more, no Chinese character), outside code,
# hidden parts and the technical proof's field names. A Chinese page shows English only where it is data.
ENGLISH_TEXTS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest('code, pre, script, style, template, [hidden], .proof small')) continue;
    const text = node.textContent.trim();
    if (/[A-Za-z]{2,}[ ,.:;'-]+[A-Za-z]{2,}/.test(text) && !/[\\u4e00-\\u9fff]/.test(text)) out.push(text);
  }
  return out;
}"""
WORDS = re.compile(r"[A-Za-z]{2,}[ ,.:;'-]+[A-Za-z]{2,}")


def data_texts() -> list[str]:
    """What the demo's people typed or are called: organization names, user names, reasons, notes, logged paths."""
    texts = set(Organization.objects.values_list("legal_name", flat=True))
    texts |= set(get_user_model().objects.values_list("username", flat=True))
    for details in BillEvent.objects.values_list("details", flat=True):
        if details.get("reason"):
            texts.add(str(details["reason"]))
    return sorted(texts, key=len, reverse=True)


def untranslated(found: list[tuple[str, str]], data: list[str]) -> list[str]:
    """The texts of ``found`` that are English words once the data in them is taken out."""
    left = []
    for where, text in found:
        rest = text
        for value in data:
            rest = rest.replace(value, " ")
        rest = re.sub(r"\b[0-9A-Z]{18}\b|\S*[/=]\S*", " ", rest)  # credit codes, logged paths and queries
        if WORDS.search(rest):
            left.append(f"{where}: {text!r}")
    return sorted(set(left))


@pytest.fixture(autouse=True)
def _compiled() -> None:
    compile_messages()


def log_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo12345")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, username


def wait_anchored(timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while AnchorRecord.objects.exclude(status=AnchorStatus.CONFIRMED).exists():
        assert time.monotonic() < deadline, "anchoring did not finish"
        time.sleep(0.3)


def resolve(path: str, bills: dict[str, Bill]) -> str:
    for key, bill in bills.items():
        path = path.replace(f"{{bill:{key}}}", f"/bills/{bill.pk}/").replace(f"{{pk:{key}}}", str(bill.pk))
    assert "{" not in path, path
    return path


def shoot(page, path: str, target: Path, html_lang: str, problems: list[str],  # type: ignore[no-untyped-def]
          english: list[tuple[str, str]]) -> None:
    response = page.goto(path)
    page.wait_for_load_state("networkidle")  # the charts fetch their data after the page loads
    status = response.status if response else 0
    where = f"{target.parent.name}/{target.name} ({path})"
    if status != 200:
        problems.append(f"{where}: status {status}")
    lang = page.locator("html").get_attribute("lang")
    if lang != html_lang:
        problems.append(f"{where}: <html lang={lang!r}>")
    width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width > viewport:
        problems.append(f"{where}: {width} px wide in a {viewport} px window")
    if html_lang == "zh-Hans":
        english.extend((where, text) for text in page.evaluate(ENGLISH_TEXTS))
    page.screenshot(path=str(target), full_page=False, type="jpeg", quality=70, animations="disabled")


def test_every_roles_main_pages_in_both_languages(browser, live_server, anchor_contract, celery_worker_process):
    orgs = load_demo_organizations()
    load_demo_business(orgs)
    load_demo_limits(orgs)
    bills = {b.reference.removeprefix("DEMO-"): b for b in Bill.objects.filter(reference__startswith="DEMO-S")}
    wait_anchored()  # the public page then says "Verified"

    problems: list[str] = []
    english: list[tuple[str, str]] = []
    shots: list[Path] = []
    link = ""
    for language, (html_lang, accept) in LANGUAGES.items():
        folder = DOCS / language
        folder.mkdir(parents=True, exist_ok=True)
        for role, (username, pages) in PAGES.items():
            context = browser.new_context(viewport=DESKTOP, base_url=live_server.url, locale=accept.split(",")[0],
                                          extra_http_headers={"Accept-Language": accept})
            page = context.new_page()
            try:
                log_in(page, username)
                if role == "financier" and not link:  # the holder shares a verification link of S05
                    page.goto(resolve("{bill:S05}", bills))
                    page.locator("main form[action^='/verify/links/'] button[type=submit]").click()
                    page.wait_for_load_state()
                    link = page.locator(".verification-link a").first.get_attribute("href") or ""
                    assert "/verify/t/" in link
                for name, path in pages:
                    target = folder / f"{role}-{name}.jpg"
                    shoot(page, resolve(path, bills), target, html_lang, problems, english)
                    shots.append(target)
            finally:
                context.close()
        # anyone, not logged in: the public verification page of the link the holder shared
        context = browser.new_context(viewport=DESKTOP, base_url=live_server.url,
                                      extra_http_headers={"Accept-Language": accept})
        page = context.new_page()
        try:
            target = folder / "public-verify.jpg"
            shoot(page, link, target, html_lang, problems, english)
            assert page.get_attribute("[data-verdict]", "data-kind") == "verified"
            shots.append(target)
            target = folder / "public-login.jpg"
            shoot(page, "/accounts/login/", target, html_lang, problems, english)
            shots.append(target)
        finally:
            context.close()

    assert problems == [], "\n".join(problems)
    assert all(p.stat().st_size > 10_000 for p in shots)
    total = sum(p.stat().st_size for p in shots)
    assert total < 6_000_000, f"the screenshots take {total} bytes"
    # Last, once every screenshot is written: the Chinese pages show no English but data.
    left = untranslated(english, data_texts())
    assert left == [], "English on Chinese pages:\n" + "\n".join(left)
