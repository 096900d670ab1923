"""Work-queue details the confidentiality test does not look at: a queue counts only what can be acted on."""

from __future__ import annotations

import pytest

from bills import services
from finance_portal.notifications.worklists import dashboard
from tests.bills.factories import accepted

pytestmark = pytest.mark.django_db


def offers_queue(world, role: str, user: str):  # type: ignore[no-untyped-def]
    board = dashboard(user=world.user(user), organization=world.org(user), role=role)
    return next(q for q in board.queues if q.key == "offers")


def test_an_offer_on_a_frozen_bill_leaves_both_offer_queues_and_returns_with_the_unfreeze(world):
    bill = accepted(world)
    services.bill_list(bill_id=bill.pk, actor=world.user("supplier"), rate="0.04")
    services.offer_make(bill_id=bill.pk, actor=world.user("financier"), rate="0.035")
    assert offers_queue(world, "financier", "financier").count == 1
    assert offers_queue(world, "supplier", "supplier").count == 1
    services.bill_freeze(bill_id=bill.pk, actor=world.user("admin"), reason="Court order 7")
    assert offers_queue(world, "financier", "financier").count == 0  # cannot be accepted while frozen
    assert offers_queue(world, "supplier", "supplier").count == 0
    services.bill_unfreeze(bill_id=bill.pk, actor=world.user("admin"), reason="Order lifted")
    assert offers_queue(world, "financier", "financier").count == 1
