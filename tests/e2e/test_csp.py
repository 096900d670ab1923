"""The Content-Security-Policy in a real browser: pages of every role load without a single violation."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import browser_login

pytestmark = pytest.mark.django_db(transaction=True)

# Reports every violation to the page's own list (added through the browser's protocol: the CSP does not apply).
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "")));
"""

PAGES = {
    "supplier": ["/home/supplier/", "/bills/", "/bills/?state=accepted", "/invoices/", "/invoices/upload/", "/cash/",
                 "/money/"],
    "buyer": ["/home/core_enterprise/", "/bills/", "/bills/issue/"],
    "financier": ["/home/financier/", "/marketplace/", "/portfolio/"],
    "regulator": ["/home/regulator/", "/oversight/", "/oversight/charts/", "/oversight/data/"],
    "admin": ["/home/platform/", "/ops/worker/", "/admin/", "/admin/bills/bill/", "/api/docs/"],
}


def watched(page):  # type: ignore[no-untyped-def]
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if msg.type in ("error", "warning") else None)
    page.add_init_script(WATCH)
    return console


def violations(page, console: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    found = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    return found + list(page.evaluate("window.__csp || []"))


@pytest.mark.parametrize("username", sorted(PAGES))
def test_pages_load_without_csp_violations(page, demo_orgs, username):
    console = watched(page)
    browser_login(page, username)
    for path in PAGES[username]:
        response = page.goto(path)
        page.wait_for_load_state("networkidle")
        assert response is not None and response.ok, path
        assert violations(page, console) == [], path
    if username == "supplier":  # the state filter submits on change, from a script file
        page.goto("/bills/")
        with page.expect_navigation():
            page.select_option("#state", "accepted")
        assert "state=accepted" in page.url
        assert violations(page, console) == []


def test_the_watch_sees_an_inline_style_and_an_inline_script(page, demo_orgs):
    """The check above would notice a violation: an inline style attribute and an inline script are refused."""
    console = watched(page)
    page.goto("/accounts/login/")
    page.wait_for_load_state("networkidle")
    assert violations(page, console) == []
    page.evaluate("""() => {
        document.body.insertAdjacentHTML("beforeend", '<div style="color: red">x</div>');
        const s = document.createElement("script"); s.textContent = "window.__ran = true"; document.body.appendChild(s);
    }""")
    page.wait_for_function("window.__csp.length >= 2")
    found = violations(page, console)
    assert any("style-src" in v for v in found) and any("script-src" in v for v in found), found
    assert page.evaluate("window.__ran === undefined")
