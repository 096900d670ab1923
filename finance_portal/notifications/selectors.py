"""Reads of the inbox: a user sees the notifications addressed to them and to their organization, nobody else's."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from finance_portal.notifications.models import Notification, NotificationPreference
from finance_portal.users import Viewer

# The badge counts up to this and shows "99+" beyond: a count that stops early stays cheap however many wait.
BADGE_CAP = 100


def _reach(user: Viewer) -> Q:
    return Q(user_id=user.pk) | Q(organization__memberships__user_id=user.pk)


def notifications_of(user: Viewer) -> QuerySet[Notification]:
    """The user's inbox, newest first, with the bill joined; empty for anonymous users."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(_reach(user)).select_related("bill").order_by("-created_at", "-id")


def unread_count(user: Viewer) -> int:
    """Unread notifications of the user, counted up to ``BADGE_CAP`` (one query)."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(_reach(user), read_at__isnull=True).order_by()[:BADGE_CAP].count()


def notification_get(*, user: Viewer, notification_id: int) -> Notification | None:
    """The notification if it is in the user's inbox; None otherwise (someone else's looks like a missing one)."""
    return notifications_of(user).filter(pk=notification_id).first()


def email_language_of(user: Viewer) -> str:
    """The language the user chose for their notification emails ("" when they did not choose)."""
    if not user.is_authenticated:
        return ""
    return NotificationPreference.objects.filter(user_id=user.pk).values_list("language", flat=True).first() or ""
