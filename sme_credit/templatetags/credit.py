"""``{% load credit %}{% credit_score org %}``: an organization's latest score and its top reasons, for pages of
other apps (the marketplace) that may not import ``sme_credit`` (templates load this library instead).

Shown only to viewers who may read credit (``selectors.credit_readable_by``); each organization is read once
per rendered page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from finance_portal.organizations.models import Organization
from sme_credit import selectors

register = template.Library()


def _memo(context: template.Context, name: str) -> dict[Any, Any]:
    memo = context.render_context.get(name)
    if not isinstance(memo, dict):
        memo = {}
        context.render_context[name] = memo
    return memo


def _readable(context: template.Context, organization: Organization) -> bool:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None:
        return False
    memo = _memo(context, "sme_credit_reader")
    if "reader" not in memo:  # the viewer's rights, read once per rendered page whatever the number of rows
        memo["reader"] = selectors.credit_reader(user)
    reads_all, own = memo["reader"]
    return bool(reads_all or own == organization.pk)


@register.simple_tag(takes_context=True)
def credit_preload(context: template.Context, bills: Iterable[Any]) -> str:
    """``{% credit_preload page %}``: read the scores of every debtor and holder of ``bills`` in one query,
    so the ``credit_score`` tags of a list page cost the same whatever the page's length."""
    orgs = {o.pk: o for bill in bills for o in (getattr(bill, "debtor", None), getattr(bill, "holder", None)) if o}
    memo = _memo(context, "sme_credit_scores")
    missing = [o for pk, o in orgs.items() if pk not in memo]
    if missing:
        memo.update(selectors.credit_score_summaries(missing))
    return ""


@register.inclusion_tag("sme_credit/_score.html", takes_context=True)
def credit_score(context: template.Context, organization: Organization | None) -> dict[str, Any]:
    if organization is None or not _readable(context, organization):
        return {"shown": False}
    memo = _memo(context, "sme_credit_scores")
    if organization.pk not in memo:
        memo[organization.pk] = selectors.credit_score_summary(organization)
    return {"shown": True, "summary": memo[organization.pk], "organization": organization}
