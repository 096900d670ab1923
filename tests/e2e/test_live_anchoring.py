"""Live anchoring in a real browser: a bill page open in Chromium while a real anchoring worker anchors its
events on the session's Anvil shows every row turn "anchored in block N" without a reload, then stops polling.

Every part is real: the page and its htmx polling under the portal's CSP, PostgreSQL, a Celery worker
process anchoring through Redis, and Anvil.
"""

from __future__ import annotations

import pytest

from tests.bills import factories as f
from tests.chain_adapter.conftest import anchoring_worker  # noqa: F401  (fixture)
from tests.e2e.conftest import browser_login, screenshot

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_history_turns_anchored_without_a_reload(page, anvil, anchor_contract, anchoring_worker):  # noqa: F811
    world = f.build_world()
    bill = f.accepted(world)  # two events, waiting: no worker runs yet
    events = bill.events.count()
    browser_login(page, "supplier")
    page.goto(f"/bills/{bill.pk}/")
    rows = page.locator("#bill-history [data-anchoring]")
    assert rows.count() == events
    assert page.locator('#bill-history [data-anchoring="waiting"]').count() == events
    assert "waiting to be anchored" in page.inner_text("#bill-history")
    assert page.get_attribute("#bill-history", "data-live") == "true"
    page.evaluate("window.__notReloaded = true")  # a reload would forget it
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    anchoring_worker(ANCHOR_BATCH_SIZE=10, ANCHOR_MAX_WAIT_SECONDS=0, ANCHOR_CONFIRMATIONS=1)
    page.wait_for_function(
        "n => document.querySelectorAll('#bill-history [data-anchoring=\"confirmed\"]').length === n",
        arg=events, timeout=60_000)

    assert page.evaluate("window.__notReloaded") is True and navigations == []
    text = page.inner_text("#bill-history")
    for event in bill.events.select_related("anchor"):
        assert f"anchored in block {event.anchor.block_number}, confirmed" in text
    assert page.get_attribute("#bill-history", "data-live") == "false"  # the swapped-in copy polls no more
    assert page.get_attribute("#bill-history", "hx-trigger") is None
    assert page.inner_text("#anchoring-summary") == f"{events} of {events} events anchored"  # the page's line too
    screenshot(page, "live-anchoring-anchored")
