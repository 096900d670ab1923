"""The top bar at every width: two rows (brand, language, who; then the sections) on a desktop, wrapping on a
phone, and never wider than the window, whatever the organization's name (the longest navs: regulator, staff)."""

from __future__ import annotations

import pytest

from tests.bills.factories import build_world
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (1280, 1024, 700, 390)


@pytest.mark.parametrize("username", ["regulator", "admin"])
def test_the_top_bar_fits_every_width_and_keeps_to_two_rows_on_a_desktop(browser, live_server, username):  # type: ignore[no-untyped-def]
    build_world()
    measured = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 700}, base_url=live_server.url)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "demo12345")
        page.click("main button[type=submit]")
        page.wait_for_load_state("networkidle")
        document = page.evaluate("document.documentElement.scrollWidth")
        rows = page.evaluate("document.querySelector('.topbar').getBoundingClientRect().height")
        measured.append((width, document, rows))
        screenshot(page, f"topbar-{username}-{width}")
        context.close()
    assert all(document <= width for width, document, _ in measured), measured
    assert measured[0][2] < 100, measured  # 1280 px: the sections in one row under the first
