"""The counterparty picker's search (``templates/portal/_picker.html``): approved organizations of one kind
whose legal name contains, or whose credit code starts with, what the user typed.

The one thing to know: it answers only a signed-in member of an onboarded organization, and only with what
a counterparty field needs (the legal name and the credit code, both public registry data), at most
``LIMIT`` rows, never the user's own organization, never an oversight body, never one not KYC approved.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from finance_portal.organizations.models import Organization
from finance_portal.organizations.selectors import membership_of, organizations_active

LIMIT = 10
MAX_QUERY = 64
# The kinds a picker asks for: one kind, or "trader" (whoever may hold a bill: any kind that trades).
KINDS: dict[str, Q] = {
    "supplier": Q(is_supplier=True),
    "core_enterprise": Q(is_core_enterprise=True),
    "financier": Q(is_financier=True),
    "trader": Q(is_supplier=True) | Q(is_core_enterprise=True) | Q(is_financier=True),
}


def clean_query(text: str) -> str:
    """What the user typed, without control characters (a NUL cannot reach PostgreSQL), trimmed and capped."""
    return "".join(c for c in text if c.isprintable()).strip()[:MAX_QUERY]


def counterparties(*, query: str, kind: str, exclude: Organization | None) -> QuerySet[Organization]:
    """Approved trading organizations of ``kind`` matching ``query`` by name or credit code prefix."""
    text = clean_query(query)
    if not text or kind not in KINDS:
        return Organization.objects.none()
    found = (organizations_active().filter(KINDS[kind]).filter(is_regulator=False, is_platform=False)
             .filter(Q(legal_name__icontains=text) | Q(legal_name_zh__icontains=text)
                     | Q(credit_code__startswith=text.upper())))
    if exclude is not None:
        found = found.exclude(pk=exclude.pk)
    return found.order_by("legal_name", "pk")


@login_required
@require_GET
def organization_search(request: HttpRequest) -> HttpResponse:
    """The picker's options as an HTML fragment (htmx). ``q`` is the text, or the value of the field named by
    ``field`` (the input sends its own value under its own name); ``kind`` which organizations qualify."""
    membership = membership_of(request.user)
    if membership is None or not membership.organization.can_act:
        return HttpResponse(_("Only members of an onboarded organization choose counterparties."), status=403,
                            content_type="text/plain; charset=utf-8")
    field = request.GET.get("field", "")
    query = request.GET.get("q") or (request.GET.get(field, "") if field and field != "kind" else "")
    kind = request.GET.get("kind", "trader")
    rows = [{"legal_name": org.display_name, "credit_code": org.credit_code}
            for org in counterparties(query=query, kind=kind, exclude=membership.organization)[:LIMIT]]
    return render(request, "portal/_picker_results.html", {"rows": rows, "query": clean_query(query)})
