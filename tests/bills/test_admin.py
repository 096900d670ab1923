"""Django admin for bills: read-only pages with search, filters and events inline; actions call the services."""

from __future__ import annotations

import datetime as dt

import pytest

from bills import clock
from bills.models import BillEvent, BillState
from tests.bills.factories import accepted, draft, refresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(world, client):  # type: ignore[no-untyped-def]
    client.force_login(world.user("admin"))
    return client


def test_the_changelist_searches_and_filters(world, staff):
    a = accepted(world)
    d = draft(world, debtor="buyer2")
    page = staff.get("/admin/bills/bill/")
    assert page.status_code == 200 and a.number.encode() in page.content and d.number.encode() in page.content
    page = staff.get("/admin/bills/bill/", {"q": a.number})
    assert a.number.encode() in page.content and d.number.encode() not in page.content
    page = staff.get("/admin/bills/bill/", {"state__exact": "draft"})
    assert d.number.encode() in page.content and a.number.encode() not in page.content
    page = staff.get("/admin/bills/bill/", {"q": world.org("buyer2").credit_code})
    assert d.number.encode() in page.content and a.number.encode() not in page.content


def test_the_bill_page_is_read_only_with_its_events_and_chain_check(world, staff):
    bill = accepted(world)
    page = staff.get(f"/admin/bills/bill/{bill.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    for event in BillEvent.objects.filter(bill=bill):
        assert event.hash in text
    assert "sound: every event recomputes and links" in text
    assert 'name="_save"' not in text
    assert staff.get("/admin/bills/bill/add/").status_code == 403
    assert staff.post(f"/admin/bills/bill/{bill.pk}/delete/", {"post": "yes"}).status_code == 403
    assert refresh(bill).state == BillState.ACCEPTED


def test_admin_actions_go_through_the_services(world, staff):
    bill = accepted(world)
    other = draft(world)
    response = staff.post("/admin/bills/bill/", {
        "action": "freeze", "_selected_action": [str(bill.pk), str(other.pk)], "reason": "Court order 17"}, follow=True)
    assert response.status_code == 200
    assert refresh(bill).state == BillState.FROZEN
    assert refresh(other).state == BillState.DRAFT  # a draft cannot be frozen: reported, not changed
    text = response.content.decode()
    assert "1 bill(s) frozen" in text and other.number in text
    event = BillEvent.objects.get(bill=bill, type="freeze")
    assert event.details["reason"] == "Court order 17" and event.actor_user == world.user("admin")
    staff.post("/admin/bills/bill/", {"action": "unfreeze", "_selected_action": [str(bill.pk)], "reason": ""})
    assert refresh(bill).state == BillState.FROZEN  # a reason is required
    staff.post("/admin/bills/bill/", {"action": "unfreeze", "_selected_action": [str(bill.pk)], "reason": "Lifted"})
    assert refresh(bill).state == BillState.ACCEPTED


def test_mark_overdue_from_the_admin(world, staff):
    bill = accepted(world, days=5)
    staff.post("/admin/bills/bill/", {"action": "mark_overdue", "_selected_action": [str(bill.pk)], "reason": ""})
    assert refresh(bill).state == BillState.ACCEPTED  # not past due yet
    with clock.travel_to(clock.now() + dt.timedelta(days=6)):
        staff.post("/admin/bills/bill/", {"action": "mark_overdue", "_selected_action": [str(bill.pk)], "reason": ""})
    assert refresh(bill).state == BillState.OVERDUE
    assert BillEvent.objects.get(bill=bill, type="overdue").actor == world.org("platform")


def test_events_cannot_be_edited_in_the_admin(world, staff):
    bill = accepted(world)
    event = BillEvent.objects.get(bill=bill, seq=1)
    assert staff.get("/admin/bills/billevent/", {"q": event.hash}).status_code == 200
    page = staff.get(f"/admin/bills/billevent/{event.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    staff.post(f"/admin/bills/billevent/{event.pk}/change/", {"type": "cancel"})
    assert BillEvent.objects.get(pk=event.pk).type == "create"
    assert staff.post(f"/admin/bills/billevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403


def test_non_staff_users_have_no_admin(world, client):
    client.force_login(world.user("regulator"))
    assert client.get("/admin/bills/bill/").status_code == 302
