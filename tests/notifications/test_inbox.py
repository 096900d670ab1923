"""The inbox page and the nav's badge: each user sees their organization's notifications and their own, marks
them read (POST with CSRF), and gets a 404 for anyone else's; regulators read but do not write."""

from __future__ import annotations

import pytest
from django.test import Client

from bills import clock
from finance_portal.notifications.models import Notification, NotificationKind
from tests.bills.factories import draft, submitted
from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_the_inbox_lists_the_organization_s_notifications_with_a_link_to_the_bill(world):
    bill = submitted(world)
    page = login(Client(), "buyer").get("/notifications/").content.decode()
    assert bill.number in page and f'href="/bills/{bill.pk}/"' in page and "accept it or reject it" in page


def test_the_nav_shows_the_unread_count_and_the_inbox_link(world):
    submitted(world)
    submitted(world)
    body = login(Client(), "buyer").get("/home/core_enterprise/").content.decode()
    assert 'href="/notifications/"' in body and '<span class="badge" aria-label="2 unread">2</span>' in body
    body = login(Client(), "financier2").get("/home/financier/").content.decode()
    assert 'href="/notifications/"' in body and 'aria-label="0 unread"' not in body and "unread" not in body


def test_marking_one_read_and_then_all_read(world):
    submitted(world)
    submitted(world)
    first, second = Notification.objects.order_by("id")
    client = login(Client(), "buyer")
    assert client.post(f"/notifications/{first.pk}/read/").status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    read_at = first.read_at
    client.post(f"/notifications/{first.pk}/read/")  # again: nothing changes
    first.refresh_from_db()
    assert first.read_at == read_at
    client.post("/notifications/read-all/")
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_someone_else_s_notification_is_a_404_and_stays_unread(world):
    submitted(world)  # the buyer's
    n = Notification.objects.get()
    for stranger in ("supplier", "financier2"):
        client = login(Client(), stranger)
        assert client.post(f"/notifications/{n.pk}/read/").status_code == 404
        client.post("/notifications/read-all/")
    assert client.post("/notifications/999999/read/").status_code == 404
    n.refresh_from_db()
    assert n.read_at is None


def test_a_notification_addressed_to_one_user_reaches_that_user_only(world):
    Notification.objects.create(user=world.user("supplier"), kind=NotificationKind.BILL_FROZEN,
                                params={"number": "X-1", "face": "1.00", "currency": "CNY", "debtor": "D"},
                                created_at=clock.now())
    assert "X-1" in login(Client(), "supplier").get("/notifications/").content.decode()
    assert "X-1" not in login(Client(), "supplier2").get("/notifications/").content.decode()


def test_marking_read_is_a_post_with_csrf(world):
    submitted(world)
    n = Notification.objects.get()
    client = login(Client(enforce_csrf_checks=True), "buyer")
    assert client.get(f"/notifications/{n.pk}/read/").status_code == 405
    assert client.post(f"/notifications/{n.pk}/read/").status_code == 403
    n.refresh_from_db()
    assert n.read_at is None


def test_regulators_read_their_inbox_but_do_not_mark_it(world):
    client = login(Client(), "regulator")
    page = client.get("/notifications/").content.decode()
    assert "Mark all read" not in page
    assert client.post("/notifications/read-all/").status_code == 403


def test_an_unknown_email_language_is_refused_without_a_change(world):
    client = login(Client(), "buyer")
    response = client.post("/notifications/email-language/", {"language": "xx"}, follow=True)
    assert "Choose one of the portal" in response.content.decode()
    from finance_portal.notifications.models import NotificationPreference

    assert not NotificationPreference.objects.exists()


def test_the_inbox_asks_for_a_login(world):
    draft(world)
    assert Client().get("/notifications/").status_code == 302
