"""Client-side charts in Chromium: the financier's portfolio and the regulator's charts page draw their canvases
with Chart.js from the JSON endpoints, with no console error and no CSP violation, on a desktop and at 390 px."""

from __future__ import annotations

import pytest

from tests.bills.factories import build_world, financed
from tests.e2e.conftest import browser_login, screenshot
from tests.e2e.test_csp import violations, watched

pytestmark = pytest.mark.django_db(transaction=True)

DRAWN = "() => [...document.querySelectorAll('canvas[data-chart-url]')].every(c => c.dataset.chartDrawn === 'true')"
CHARTS = """() => [...document.querySelectorAll('canvas[data-chart-url]')].map(c => {
  const chart = Chart.getChart(c);
  return {url: c.dataset.chartUrl, drawn: chart !== undefined, width: c.clientWidth, height: c.clientHeight,
          points: chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : 0,
          label: c.getAttribute('aria-label') || ''};
})"""


@pytest.fixture
def book(db):  # type: ignore[no-untyped-def]
    world = build_world()
    financed(world, "10000.00", days=5)
    financed(world, "25000.00", days=60, debtor="buyer2")
    financed(world, "40000.00", days=200)
    return world


def drawn_charts(page) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    page.wait_for_function(DRAWN, timeout=15000)
    return list(page.evaluate(CHARTS))


def test_the_portfolio_draws_its_ladder_and_debtors(page, book):
    console = watched(page)
    browser_login(page, "financier")
    response = page.goto("/portfolio/")
    assert response is not None and response.ok
    charts = drawn_charts(page)
    assert {c["url"] for c in charts} == {"/charts/data/financier-ladder/?currency=CNY",
                                          "/charts/data/financier-debtors/?currency=CNY"}
    for c in charts:
        assert c["drawn"] and c["width"] > 100 and c["height"] > 100 and c["points"] > 0, c
        assert str(c["label"]).startswith(("Face due by time to maturity", "Bills held by debtor")), c
    page.wait_for_load_state("networkidle")
    assert violations(page, console) == []
    assert [m for m in console if "error" in m.lower()] == []
    # The table of the same numbers is one click away.
    page.click("figure.data-chart-financier-ladder details summary")
    assert page.is_visible("figure.data-chart-financier-ladder details table")
    screenshot(page, "charts-portfolio")


def test_charts_fit_a_phone_and_the_regulators_page_draws_too(browser, live_server, book):
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    page = context.new_page()
    try:
        console = watched(page)
        browser_login(page, "regulator")
        for path in ("/oversight/charts/", f"/portfolio/?org={book.org('financier').pk}"):
            assert page.goto(path).ok
            charts = drawn_charts(page)
            assert charts and all(c["drawn"] and 0 < int(c["width"]) <= 390 for c in charts), charts
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
            page.wait_for_load_state("networkidle")
            assert violations(page, console) == [], path
            screenshot(page, "charts-phone-" + path.strip("/").split("/")[-1].split("?")[0])
        assert [m for m in console if "error" in m.lower()] == []
    finally:
        context.close()
