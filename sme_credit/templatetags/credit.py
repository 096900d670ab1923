"""``{% load credit %}{% credit_score org %}``: an organization's latest score and its top reasons, for pages of
other apps (the marketplace) that may not import ``sme_credit`` (templates load this library instead).

Shown only to viewers who may read credit (``selectors.credit_readable_by``); each organization is read once
per rendered page.
"""

from __future__ import annotations

from typing import Any

from django import template

from finance_portal.organizations.models import Organization
from sme_credit import selectors

register = template.Library()


@register.inclusion_tag("sme_credit/_score.html", takes_context=True)
def credit_score(context: template.Context, organization: Organization | None) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if organization is None or user is None or not selectors.credit_readable_by(user=user, organization=organization):
        return {"shown": False}
    memo = context.render_context.get("sme_credit_scores")
    if not isinstance(memo, dict):
        memo = {}
        context.render_context["sme_credit_scores"] = memo
    if organization.pk not in memo:
        memo[organization.pk] = selectors.credit_score_summary(organization)
    return {"shown": True, "summary": memo[organization.pk], "organization": organization}
