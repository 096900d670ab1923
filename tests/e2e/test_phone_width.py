"""Phones: every demo role walks its main pages at 390 px wide; no page scrolls sideways, none answers 500.

The document may be as wide as the viewport and no wider (``scrollWidth <= innerWidth``): wide tables scroll
inside their own wrapper, forms wrap. Screenshots of each page land in ``.run/screenshots/phone-*.png``.
"""

from __future__ import annotations

import re

import pytest

from finance_portal.oversight.explorer import DATASETS
from tests.bills.factories import accepted, build_world, financed, listed, submitted
from tests.e2e.conftest import screenshot, sign_out

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}

DEBUG_MARKERS = ("Traceback", "URLconf", "Request Method:", "Exception Value:", "Django settings")


@pytest.fixture
def phone(browser, live_server):  # type: ignore[no-untyped-def]
    # Not is_mobile: a mobile viewport zooms out to fit a page that is too wide, and innerWidth grows with it.
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def bills(db):  # type: ignore[no-untyped-def]
    """A bill in each state a role meets on its pages, plus the organizations' cash."""
    world = build_world()
    made = {
        "submitted": submitted(world, face="12345.67"),
        "accepted": accepted(world, face="250000.00"),
        "listed": listed(world, face="1234567.89"),
        "financed": financed(world, face="98765.43"),
    }
    return world, made


def walk(world, made) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The pages of each role; ``{statement}`` and ``{dataset}`` are filled from the pages themselves."""
    debtor_credit = f"/organizations/{world.org('buyer').pk}/credit/"
    supplier_credit = f"/organizations/{world.org('supplier').pk}/credit/"
    listed_bill, financed_bill = made["listed"].pk, made["financed"].pk
    return {
        "anonymous": ["/accounts/login/", "/no-such-page/"],
        "supplier": ["/home/supplier/", "/bills/", f"/bills/{made['accepted'].pk}/", f"/bills/{listed_bill}/",
                     "/bills/new/", "/invoices/", "{invoice}", "/invoices/upload/", "/cash/", "/money/", "{statement}",
                     supplier_credit, "/oversight/", "/no-such-page/"],
        "buyer": ["/home/core_enterprise/", "/bills/", f"/bills/{made['submitted'].pk}/", "/bills/issue/",
                  "/invoices/", "/cash/", "/money/", "{statement}", debtor_credit],
        "financier": ["/home/financier/", "/bills/", f"/bills/{financed_bill}/", "/marketplace/",
                      f"/marketplace/{listed_bill}/", f"/marketplace/{listed_bill}/buy/", "/portfolio/", "/money/",
                      "{statement}", debtor_credit, f"/verify/{listed_bill}/"],
        "financier2": ["/home/financier/", "/marketplace/", f"/marketplace/{listed_bill}/", "/portfolio/"],
        "supplier2": ["/home/supplier/", "/bills/", "/invoices/", "/cash/"],
        "regulator": ["/home/regulator/", "/bills/", f"/bills/{financed_bill}/", "/marketplace/",
                      f"/marketplace/{listed_bill}/", "/portfolio/", "/cash/", "/money/", "/invoices/", "/oversight/",
                      "/oversight/reconciliation/", "/oversight/charts/", "/oversight/data/", "{dataset}",
                      "/oversight/audit/", debtor_credit],
        "admin": ["/home/platform/", "/ops/worker/", "/bills/", f"/bills/{financed_bill}/", "/marketplace/",
                  "/oversight/", "/oversight/charts/", "/oversight/data/", "/oversight/audit/", debtor_credit],
    }


def browser_login(page, username: str, password: str = "demo12345") -> None:  # type: ignore[no-untyped-def]
    """Log in through the form (the log-in form's own button: the top bar has buttons of its own)."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def first_link(page, prefix: str, within: str = "") -> str | None:  # type: ignore[no-untyped-def]
    href = page.locator(f"main {within} a[href^='{prefix}']").first
    return href.get_attribute("href") if href.count() else None


def too_wide(page) -> tuple[int, int] | None:  # type: ignore[no-untyped-def]
    width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return (width, viewport) if width > viewport else None


def test_every_role_walks_its_pages_at_390_px_without_sideways_scroll(phone, bills):
    world, made = bills
    problems: list[str] = []
    walked = 0
    for username, paths in walk(world, made).items():
        sign_out(phone)
        if username != "anonymous":
            browser_login(phone, username)
            assert "/accounts/login/" not in phone.url, username
        for path in paths:
            if path == "{statement}":
                phone.goto("/money/")
                path = first_link(phone, "/money/statement/") or ""
                assert path, f"{username}: no account statement linked from /money/"
            elif path == "{invoice}":
                phone.goto("/invoices/")
                path = first_link(phone, "/invoices/", within="td") or ""
                assert path, f"{username}: no invoice linked from /invoices/"
            elif path == "{dataset}":
                path = f"/oversight/data/{next(iter(DATASETS))}/"
            response = phone.goto(path)
            # networkidle: pages with charts fetch their data after load, and a late answer renews the session
            # cookie (the sliding session's renewal) after the next role's clear_cookies otherwise.
            phone.wait_for_load_state("networkidle")
            walked += 1
            status = response.status if response else 0
            content = phone.content()
            name = f"phone-{username}-{re.sub(r'[^a-z0-9]+', '-', path.strip('/')) or 'root'}"[:80]
            if status >= 500 or any(marker in content for marker in DEBUG_MARKERS):
                problems.append(f"{username} {path}: status {status} or a debug page")
            if status not in (200, 403, 404):
                problems.append(f"{username} {path}: status {status}")
            wide = too_wide(phone)
            if wide:
                screenshot(phone, name)
                problems.append(f"{username} {path}: document {wide[0]} px wide in a {wide[1]} px viewport")
    assert walked >= 60
    assert problems == [], "\n".join(problems)


def test_the_buy_button_is_reachable_on_a_phone(phone, bills):
    world, made = bills
    browser_login(phone, "financier")
    phone.goto(f"/marketplace/{made['listed'].pk}/buy/")
    button = phone.locator("button:has-text('Buy for')")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(phone, "phone-financier-buy")
    phone.goto("/marketplace/")
    row = phone.locator("tr", has=phone.locator(f"text={made['listed'].number}"))
    assert row.count() == 1
    assert too_wide(phone) is None
    # The table scrolls inside its wrapper; the row's Buy link stays pinned in sight at the right edge.
    buy = row.locator("a.button")
    box = buy.bounding_box()
    assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], box
    screenshot(phone, "phone-financier-marketplace")
    buy.click()
    phone.wait_for_load_state()
    assert phone.url.endswith(f"/marketplace/{made['listed'].pk}/buy/")
