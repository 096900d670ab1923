"""Notification emails, sent through Django's mail backend once the notifying transaction commits
(``EMAIL_BACKEND``: the console in development, locmem in tests, SMTP in production).

Each member of the recipient organization who has an email address gets one message per notification, in the
language they chose on their inbox page (``NotificationPreference``), else the site's default. A mail server
that is down loses the email, never the notification: the inbox is the record, the email only the doorbell.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from finance_portal.notifications.models import Notification, NotificationPreference
from finance_portal.notifications.texts import body, title

log = logging.getLogger(__name__)


class _Send:
    """The on-commit callback that emails one event's notifications."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = list(ids)

    def __call__(self) -> None:
        try:
            send_notification_emails(self.ids)
        except Exception:  # the notification stands; only its email is lost
            log.exception("notification emails for %s were not sent", self.ids)


def send_on_commit(ids: list[int]) -> None:
    """Email notifications ``ids`` once the current transaction commits (nothing if it rolls back)."""
    transaction.on_commit(_Send(ids))


def _link(notification: Notification) -> str:
    base = str(getattr(settings, "PORTAL_BASE_URL", "")).rstrip("/")
    path = reverse("bills:detail", args=[notification.bill_id]) if notification.bill_id else reverse(
        "notifications:inbox")
    return f"{base}{path}"


def send_notification_emails(ids: list[int]) -> int:
    """Send the emails of notifications ``ids``; returns how many messages went out."""
    notifications = list(Notification.objects.filter(pk__in=ids).order_by("id"))
    org_ids = {n.organization_id for n in notifications if n.organization_id}
    user_ids = {n.user_id for n in notifications if n.user_id}
    users = list(get_user_model().objects.filter(is_active=True).exclude(email="").filter(
        Q(membership__organization_id__in=org_ids) | Q(pk__in=user_ids)).select_related("membership"))
    languages = dict(NotificationPreference.objects.filter(user__in=users).values_list("user_id", "language"))
    messages = []
    for n in notifications:
        for user in users:
            membership = getattr(user, "membership", None)
            mine = n.user_id == user.pk or (membership is not None and membership.organization_id == n.organization_id)
            if not mine:
                continue
            with translation.override(languages.get(user.pk, settings.LANGUAGE_CODE)):
                subject = gettext("[Supply-chain finance portal] %(title)s") % {"title": title(n.kind)}
                text = "\n\n".join([body(n.kind, n.params), _link(n), gettext(
                    "You receive this email because your organization has an account on the supply-chain "
                    "finance portal. Your inbox lists every notification.")])
            messages.append(EmailMessage(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email]))
    if messages:
        get_connection().send_messages(messages)
    return len(messages)
