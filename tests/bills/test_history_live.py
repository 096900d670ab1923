"""The bill page's live history: the partial it polls (the same viewers as the bill page, 404 for everyone
else), polling only while an event waits to be anchored, each anchoring stage in words, and a query count that
does not grow with the history."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bills import services
from bills.views import _anchoring_stage
from chain_adapter import txmanager
from chain_adapter.models import AnchorRecord, AnchorStatus
from tests.bills import factories as f

pytestmark = pytest.mark.django_db


def member(world: f.World, user: str) -> Client:
    client = Client()
    client.force_login(world.user(user))
    return client


def history(world: f.World, user: str, bill: object) -> str:
    response = member(world, user).get(f"/bills/{bill.pk}/history/")  # type: ignore[attr-defined]
    assert response.status_code == 200
    return response.content.decode()


def test_the_partial_is_for_exactly_those_who_see_the_bill_page(world):
    bill = f.accepted(world)
    for user in ("supplier", "buyer", "regulator", "admin"):
        assert member(world, user).get(f"/bills/{bill.pk}/").status_code == 200
        assert 'id="bill-history"' in history(world, user, bill)
    for user in ("supplier2", "buyer2", "financier", "financier2", "pending"):  # every foreign organization
        assert member(world, user).get(f"/bills/{bill.pk}/").status_code == 404, user
        assert member(world, user).get(f"/bills/{bill.pk}/history/").status_code == 404, user
    assert Client().get(f"/bills/{bill.pk}/history/").status_code == 302  # to the log-in page
    assert member(world, "supplier").get("/bills/00000000-0000-0000-0000-000000000000/history/").status_code == 404
    assert member(world, "supplier").post(f"/bills/{bill.pk}/history/").status_code in (403, 404, 405)


def test_a_transferred_bill_leaves_the_old_holder_with_a_404_like_its_page(world):
    bill = f.listed(world)
    services.bill_buy(bill_id=bill.pk, actor=world.user("financier"))
    assert member(world, "financier").get(f"/bills/{bill.pk}/history/").status_code == 200
    supplier = member(world, "supplier")
    assert supplier.get(f"/bills/{bill.pk}/history/").status_code == supplier.get(f"/bills/{bill.pk}/").status_code


def test_the_bill_page_polls_while_an_event_waits_and_stops_when_all_are_anchored(world):
    bill = f.accepted(world)
    page = member(world, "supplier").get(f"/bills/{bill.pk}/").content.decode()
    assert f'hx-get="/bills/{bill.pk}/history/" hx-trigger="every 2s" hx-swap="outerHTML"' in page
    partial = history(world, "supplier", bill)
    assert partial.lstrip().startswith("<section") or '<section id="bill-history"' in partial
    assert "<html" not in partial and 'hx-trigger="every 2s"' in partial
    assert partial.count('data-anchoring="waiting"') == bill.events.count()
    assert "waiting to be anchored" in partial

    hashes = bill.events.values_list("hash", flat=True)
    AnchorRecord.objects.filter(event_hash__in=list(hashes)).update(status=AnchorStatus.CONFIRMED, block_number=42)
    done = history(world, "supplier", bill)
    assert "hx-trigger" not in done and 'data-live="false"' in done  # the swapped-in copy stops polling
    assert "anchored in block 42, confirmed (1 confirmation)" in done
    # The page's summary line comes along, swapped out of band into the line of the same id.
    assert 'id="anchoring-summary" hx-swap-oob="true"' in done and "3 of 3 events anchored" in done
    assert '<span id="anchoring-summary">0 of 3 events anchored' in page


def test_a_failed_anchor_is_said_in_words_and_does_not_keep_the_page_polling(world):
    bill = f.submitted(world)
    AnchorRecord.objects.filter(event_hash__in=list(bill.events.values_list("hash", flat=True))).update(
        status=AnchorStatus.FAILED, last_error="reverted")
    partial = history(world, "supplier", bill)
    assert "failed: the platform's operators must send it again" in partial and "hx-trigger" not in partial
    assert "reverted" not in partial  # the operator's detail stays in the admin


@pytest.mark.parametrize("record, tx, stage, block, live", [
    ("pending", None, "waiting", None, True),
    ("sent", ("signed", None), "sent", None, True),
    ("sent", ("sent", None), "sent", None, True),
    ("sent", ("mined", 77), "mined", 77, True),
    ("confirmed", ("confirmed", 77), "confirmed", 78, False),
    ("failed", None, "failed", None, False),
])
def test_each_anchoring_stage_is_told_from_the_records(record, tx, stage, block, live):
    anchor_tx = SimpleNamespace(status=tx[0], block_number=tx[1]) if tx else None
    event = SimpleNamespace(anchor=SimpleNamespace(status=record, anchor_tx=anchor_tx,
                                                   block_number=78 if record == "confirmed" else None))
    assert _anchoring_stage(event) == {"stage": stage, "block": block, "live": live}  # type: ignore[arg-type]


@pytest.mark.chain
def test_anchored_rows_name_their_block_after_a_real_anchoring_run(world, anvil, anchor_contract, settings):
    bill = f.accepted(world)
    settings.ANCHOR_MAX_WAIT_SECONDS = 0
    txmanager.run_once()
    partial = history(world, "buyer", bill)
    blocks = {e.anchor.block_number for e in bill.events.select_related("anchor")}
    assert partial.count('data-anchoring="confirmed"') == bill.events.count() and "hx-trigger" not in partial
    for block in blocks:
        assert f"anchored in block {block}, confirmed" in partial


def test_the_stages_read_in_chinese(world):
    bill = f.accepted(world)
    client = member(world, "supplier")
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get(f"/bills/{bill.pk}/history/").content.decode()
    assert "等待上链" in html and "上链状态会在本页自动更新" in html


def test_the_partial_issues_the_same_number_of_queries_for_a_long_history(world):
    short, long = f.submitted(world), f.listed(world)
    services.bill_unlist(bill_id=long.pk, actor=world.user("supplier"))
    services.bill_list(bill_id=long.pk, actor=world.user("supplier"), rate="0.04")
    assert long.events.count() > short.events.count() + 2
    client = member(world, "supplier")
    counts = []
    for bill in (short, long, short):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/bills/{bill.pk}/history/").status_code == 200
        counts.append(len(queries))
    assert counts[1] == counts[2], counts
