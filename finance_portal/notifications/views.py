"""The inbox page (``/notifications/``): the signed-in user's notifications and their organization's, newest
first; mark one or all read, and choose the language of the emails (POST, CSRF-checked).

Regulators read their inbox but do not mark it: the read-only floor (``portal.middleware``) refuses every write
of theirs that is not on its allowlist, and no bill event addresses a regulator anyway. Someone else's
notification is a 404, like one that does not exist.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from finance_portal.errors import DomainError
from finance_portal.notifications import selectors, services
from finance_portal.notifications.texts import body, title
from finance_portal.organizations.selectors import membership_of

PAGE_SIZE = 25


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.notifications_of(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"n": n, "title": title(n.kind), "text": body(n.kind, n.params)} for n in page]
    membership = membership_of(request.user)
    read_only = membership is not None and membership.organization.is_regulator
    language = selectors.email_language_of(request.user)
    return render(request, "notifications/inbox.html", {
        "title": _("Notifications"), "page": page, "rows": rows, "read_only": read_only,
        "email_language": language, "languages": settings.LANGUAGES,
    })


@require_POST
@login_required
def mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        services.notification_mark_read(notification_id=notification_id, actor=request.user)  # type: ignore[arg-type]
    except DomainError as err:
        raise Http404(err.message) from None
    return redirect("notifications:inbox")


@require_POST
@login_required
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(actor=request.user)  # type: ignore[arg-type]
    messages.success(request, ngettext("%(count)s notification marked read.", "%(count)s notifications marked read.",
                                       count) % {"count": count})
    return redirect("notifications:inbox")


@require_POST
@login_required
def email_language(request: HttpRequest) -> HttpResponse:
    try:
        services.notification_language_set(actor=request.user, language=request.POST.get("language"))  # type: ignore[arg-type]
    except DomainError:
        messages.error(request, _("Choose one of the portal's languages."))
        return redirect("notifications:inbox")
    messages.success(request, _("Your notification emails will be in the language you chose."))
    return redirect("notifications:inbox")
