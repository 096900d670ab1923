"""Bill events that need someone's action notify the right organization, and only it, with an email once the
transition commits; the inbox shows each user their own, marks them read, and 404s anyone else's."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import IntegrityError, InternalError, connection, transaction
from django.test import Client

from bills import services
from finance_portal.notifications.emails import send_notification_emails
from finance_portal.notifications.models import AppendOnlyViolation, Notification, NotificationKind
from tests.bills.factories import accepted, draft, drain, in_days, past, pending, submitted
from tests.conftest import login

pytestmark = pytest.mark.django_db


def told(world, kind=None):  # type: ignore[no-untyped-def]
    """{organization key: [kinds]} of every notification, by the world's organization keys."""
    keys = {org.pk: key for key, org in world.orgs.items()}
    out: dict[str, list[str]] = {}
    qs = Notification.objects.order_by("id")
    for n in qs.filter(kind=kind) if kind else qs:
        out.setdefault(keys.get(n.organization_id, str(n.organization_id)), []).append(n.kind)
    return out


def recipients_of_mail() -> set[str]:
    return {address for message in mail.outbox for address in message.to}


def test_a_submitted_bill_notifies_the_debtor_only_and_emails_it_after_commit(world, django_capture_on_commit_callbacks):
    bill = draft(world)
    with django_capture_on_commit_callbacks(execute=True):
        services.bill_submit(bill_id=bill.pk, actor=world.user("supplier"))
    assert told(world) == {"buyer": [NotificationKind.BILL_SUBMITTED]}
    n = Notification.objects.get()
    assert n.bill_id == bill.pk and n.params["number"] == bill.number and n.read_at is None
    assert recipients_of_mail() == {"buyer@example.test"}
    assert bill.number in mail.outbox[0].body and "10,000.00 CNY" in mail.outbox[0].body
    assert f"/bills/{bill.pk}/" in mail.outbox[0].body


def test_no_email_leaves_before_the_transaction_commits(world, django_capture_on_commit_callbacks):
    bill = draft(world)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.bill_submit(bill_id=bill.pk, actor=world.user("supplier"))
        assert mail.outbox == []
    assert mail.outbox == [] and callbacks  # queued for the commit, not sent
    for callback in callbacks:
        callback()
    assert recipients_of_mail() == {"buyer@example.test"}


def test_a_rolled_back_transition_leaves_no_notification_and_no_email(world, django_capture_on_commit_callbacks):
    bill = draft(world)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            services.bill_submit(bill_id=bill.pk, actor=world.user("supplier"))
            raise RuntimeError("something after the transition failed")
    assert not Notification.objects.exists() and mail.outbox == []


def test_an_issued_bill_notifies_the_supplier_it_was_issued_to(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.bill_issue(actor=world.user("buyer"), to=world.org("supplier").credit_code, face="8000.00",
                            maturity_date=in_days(60).isoformat())
    assert told(world) == {"supplier": [NotificationKind.BILL_ISSUED]}
    assert recipients_of_mail() == {"supplier@example.test"}


def test_a_transfer_notifies_the_receiver_only(world, django_capture_on_commit_callbacks):
    bill = accepted(world)
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        services.bill_transfer(bill_id=bill.pk, actor=world.user("supplier"), to=world.org("supplier2").credit_code)
    assert Notification.objects.count() == before + 1
    assert told(world, NotificationKind.BILL_TRANSFERRED) == {"supplier2": [NotificationKind.BILL_TRANSFERRED]}
    assert recipients_of_mail() == {"supplier2@example.test"}
    assert world.org("supplier").legal_name in mail.outbox[0].body  # who sent it


def test_a_split_transfer_notifies_the_receiver_of_the_part(world):
    bill = accepted(world)
    services.bill_split(bill_id=bill.pk, actor=world.user("supplier"), parts=[
        {"face": "4000.00", "transfer_to": world.org("supplier2").credit_code}, {"face": "6000.00"}])
    assert told(world, NotificationKind.BILL_TRANSFERRED) == {"supplier2": [NotificationKind.BILL_TRANSFERRED]}


def test_an_overdue_bill_notifies_its_holder_and_its_debtor(world, django_capture_on_commit_callbacks):
    bill = accepted(world, days=5)
    drain(world.org("buyer"))
    with past(10), django_capture_on_commit_callbacks(execute=True):
        services.bill_mark_overdue(bill_id=bill.pk)
    overdue = Notification.objects.filter(kind=NotificationKind.BILL_OVERDUE)
    assert told(world, NotificationKind.BILL_OVERDUE) == {"buyer": [NotificationKind.BILL_OVERDUE],
                                                          "supplier": [NotificationKind.BILL_OVERDUE]}
    assert {n.params["as"] for n in overdue} == {"holder", "debtor"}
    assert recipients_of_mail() == {"buyer@example.test", "supplier@example.test"}
    debtor_mail = next(m for m in mail.outbox if m.to == ["buyer@example.test"])
    assert "pay the holder" in debtor_mail.body


def test_a_frozen_bill_notifies_its_holder(world, django_capture_on_commit_callbacks):
    bill = accepted(world)
    with django_capture_on_commit_callbacks(execute=True):
        services.bill_freeze(bill_id=bill.pk, actor=world.user("admin"), reason="Court order 12")
    assert told(world, NotificationKind.BILL_FROZEN) == {"supplier": [NotificationKind.BILL_FROZEN]}
    assert recipients_of_mail() == {"supplier@example.test"}


def test_events_that_ask_nobody_to_act_notify_nobody(world):
    bill = accepted(world)  # create, submit (the debtor is told), accept
    services.bill_list(bill_id=bill.pk, actor=world.user("supplier"), rate="0.03")
    services.bill_buy(bill_id=bill.pk, actor=world.user("financier"))
    assert told(world) == {"buyer": [NotificationKind.BILL_SUBMITTED]}


def test_a_stranger_organization_gets_nothing(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        bill = pending(world)  # submitted, accepted, transferred to supplier2
        services.bill_freeze(bill_id=bill.pk, actor=world.user("admin"), reason="Dispute")
    assert set(told(world)) == {"buyer", "supplier2", "supplier"}
    assert "financier2@example.test" not in recipients_of_mail()
    client = login(Client(), "financier2")
    page = client.get("/notifications/").content.decode()
    assert bill.number not in page and "No notifications." in page


def test_the_email_is_in_the_language_the_recipient_chose(world, django_capture_on_commit_callbacks):
    login(Client(), "buyer").post("/notifications/email-language/", {"language": "zh-hans"})
    bill = draft(world)
    with django_capture_on_commit_callbacks(execute=True):
        services.bill_submit(bill_id=bill.pk, actor=world.user("supplier"))
    from finance_portal.bootstrap import compile_messages

    compile_messages()
    mail.outbox.clear()
    assert send_notification_emails([Notification.objects.get().pk]) == 1
    assert "请承兑或拒绝" in mail.outbox[0].body


def test_users_without_an_email_address_get_no_email(world, django_capture_on_commit_callbacks):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="buyer").update(email="")
    bill = draft(world)
    with django_capture_on_commit_callbacks(execute=True):
        services.bill_submit(bill_id=bill.pk, actor=world.user("supplier"))
    assert Notification.objects.count() == 1 and "buyer@example.test" not in recipients_of_mail()


def test_notifications_are_append_only_but_for_read_at(world):
    submitted(world)
    n = Notification.objects.get()
    n.kind = NotificationKind.BILL_FROZEN
    with pytest.raises(AppendOnlyViolation):
        n.save()
    with pytest.raises(AppendOnlyViolation):
        Notification.objects.filter(pk=n.pk).update(kind=NotificationKind.BILL_FROZEN)
    with pytest.raises(AppendOnlyViolation):
        n.delete()
    with pytest.raises((InternalError, IntegrityError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE notifications_notification SET kind = 'bill_frozen' WHERE id = %s", [n.pk])
    with pytest.raises((InternalError, IntegrityError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM notifications_notification WHERE id = %s", [n.pk])
    assert Notification.objects.filter(pk=n.pk).update(read_at=n.created_at) == 1


def test_a_notification_needs_exactly_one_recipient(world):
    from bills import clock

    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(kind=NotificationKind.BILL_FROZEN, created_at=clock.now())


def test_an_offer_notifies_the_holder_only_with_the_rate_and_a_rival_financier_hears_nothing(
        world, django_capture_on_commit_callbacks):
    bill = accepted(world)
    services.bill_list(bill_id=bill.pk, actor=world.user("supplier"), rate="0.04")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.offer_make(bill_id=bill.pk, actor=world.user("financier"), rate="0.035")
        services.offer_make(bill_id=bill.pk, actor=world.user("financier2"), rate="0.034")
    assert told(world, NotificationKind.OFFER_MADE) == {"supplier": [NotificationKind.OFFER_MADE] * 2}
    assert recipients_of_mail() == {"supplier@example.test"}
    bodies = [message.body for message in mail.outbox]
    assert any(world.org("financier").legal_name in b and "3.50%" in b for b in bodies), bodies
    client = login(Client(), "financier")
    page = client.get("/notifications/").content.decode()
    assert bill.number not in page and "3.40%" not in page  # a rival's rate reaches no other financier


def test_a_rolled_back_offer_leaves_no_notification(world):
    bill = accepted(world)
    services.bill_list(bill_id=bill.pk, actor=world.user("supplier"), rate="0.04")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.offer_make(bill_id=bill.pk, actor=world.user("financier"), rate="0.035")
        raise RuntimeError("the request failed after the offer")
    assert told(world, NotificationKind.OFFER_MADE) == {}


def test_an_early_settlement_request_notifies_the_holder(world, django_capture_on_commit_callbacks):
    bill = accepted(world)
    with django_capture_on_commit_callbacks(execute=True):
        services.bill_request_early_settlement(bill_id=bill.pk, actor=world.user("buyer"))
    kind = NotificationKind.EARLY_SETTLEMENT_REQUESTED
    assert told(world, kind) == {"supplier": [kind]}
    assert "supplier@example.test" in recipients_of_mail()
    assert any(bill.number in m.body and world.org("buyer").legal_name in m.body for m in mail.outbox)
