"""The unread-notification badge of the top nav: counted only when a page renders it (no query for anonymous
users or pages without the nav), in one query."""

from __future__ import annotations

from functools import partial

from django.http import HttpRequest

from finance_portal.notifications.selectors import BADGE_CAP, unread_count


def unread_notifications(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": partial(unread_count, user), "unread_notifications_cap": BADGE_CAP}
