"""Writes of the inbox: marking notifications read, and the language of a user's notification emails."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from bills import clock
from finance_portal.errors import InvalidInput, NotFound
from finance_portal.notifications.models import Notification, NotificationPreference
from finance_portal.notifications.selectors import notification_get, notifications_of
from finance_portal.users import User


def notification_mark_read(*, notification_id: int, actor: User) -> None:
    """Mark one notification of the actor's inbox read (again: no change). 404 for anything else."""
    notification = notification_get(user=actor, notification_id=notification_id)
    if notification is None:
        raise NotFound("No such notification in your inbox.")
    if notification.read_at is None:
        notification.read_at = clock.now()
        notification.save(update_fields=["read_at"])


def notifications_mark_all_read(*, actor: User) -> int:
    """Mark every unread notification of the actor's inbox read; returns how many."""
    unread = notifications_of(actor).filter(read_at__isnull=True).values("pk")
    return Notification.objects.filter(pk__in=unread).update(read_at=clock.now())


def notification_language_set(*, actor: User, language: object) -> NotificationPreference:
    """The language of the actor's notification emails: one of ``settings.LANGUAGES``."""
    codes = [code for code, _ in settings.LANGUAGES]
    if not isinstance(language, str) or language not in codes:
        raise InvalidInput(f"Choose one of {', '.join(codes)}.", field="language")
    with transaction.atomic():
        preference, _ = NotificationPreference.objects.update_or_create(
            user=actor, defaults={"language": language, "updated_at": clock.now()})
    return preference
