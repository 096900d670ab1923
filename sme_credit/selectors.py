"""Reads of the credit app shared by the API and other apps: who may read an organization's credit, its profile
and score history, a financier's limits. Bill history is read only through ``bills.selectors``.

Who reads credit: the organization itself, financiers (they price risk), regulators, platform staff. Anyone
else gets 404, as for an organization that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext

from finance_portal.organizations.models import Organization
from finance_portal.organizations.selectors import membership_of
from finance_portal.users import Viewer
from sme_credit.errors import CreditNotFound
from sme_credit.models import CreditLimit, CreditProfile, CreditReport, CreditScore


def credit_reader(user: Viewer) -> tuple[bool, int | None]:
    """What ``user`` may read of credit, from one membership query: (every organization's, own organization id)."""
    if not user.is_authenticated:
        return False, None
    if user.is_superuser:
        return True, None
    membership = membership_of(user)
    if membership is None:
        return False, None
    viewer = membership.organization
    return (viewer.is_regulator or viewer.is_platform or (viewer.is_financier and viewer.can_act)), viewer.pk


def credit_readable_by(*, user: Viewer, organization: Organization) -> bool:
    reads_all, own = credit_reader(user)
    return reads_all or own == organization.pk


def credit_organization_get(*, user: Viewer, organization_id: object) -> Organization:
    """The organization whose credit ``user`` asks for, or ``CreditNotFound`` (absent and out of reach alike)."""
    try:
        pk = int(str(organization_id))
    except ValueError:
        raise CreditNotFound(gettext("No such organization.")) from None
    org = Organization.objects.filter(pk=pk).first()
    if org is None or not credit_readable_by(user=user, organization=org):
        raise CreditNotFound(gettext("No such organization."))
    return org


def credit_profile_of(organization: Organization) -> CreditProfile | None:
    return CreditProfile.objects.filter(organization=organization).select_related("largest_debtor").first()


def credit_scores_of(organization: Organization) -> QuerySet[CreditScore]:
    """The organization's score history, newest first."""
    return CreditScore.objects.filter(organization=organization).order_by("-computed_at", "-id")


def credit_limits_of(financier: Organization) -> QuerySet[CreditLimit]:
    """A financier's limits, live and revoked, newest first."""
    return CreditLimit.objects.filter(financier=financier).select_related("debtor", "supplier").order_by(
        "-granted_at", "-id")


def credit_report_get(*, user: Viewer, report_id: object) -> CreditReport:
    """A credit report for the issuing organization, the recipient, regulators and platform staff; anyone
    else gets ``CreditNotFound``, as for a report that does not exist."""
    try:
        pk = int(str(report_id))
    except ValueError:
        raise CreditNotFound(gettext("No such credit report.")) from None
    report = CreditReport.objects.select_related("organization", "recipient", "anchor").filter(pk=pk).first()
    if report is None or not user.is_authenticated:
        raise CreditNotFound(gettext("No such credit report."))
    if user.is_superuser:
        return report
    membership = membership_of(user)
    viewer = membership.organization if membership else None
    if viewer is None or not (viewer.pk in (report.organization_id, report.recipient_id)
                              or viewer.is_regulator or viewer.is_platform):
        raise CreditNotFound(gettext("No such credit report."))
    return report


@dataclass(frozen=True)
class ScoreSummary:
    organization: Organization
    score: int
    computed_at: datetime
    reasons: list[str]  # the factors that moved it most, largest first


TOP_REASONS = 3


def credit_score_summary(organization: Organization) -> ScoreSummary | None:
    """The latest score of ``organization`` with its top reasons (the base and clamping left out), or None."""
    latest = credit_scores_of(organization).first()
    return None if latest is None else _summary(organization, latest)


def credit_score_summaries(organizations: Iterable[Organization]) -> dict[int, ScoreSummary | None]:
    """``credit_score_summary`` for many organizations in one query (a page of listings costs the same
    whatever its length)."""
    by_pk = {o.pk: o for o in organizations}
    latest = (CreditScore.objects.filter(organization_id__in=by_pk)
              .order_by("organization_id", "-computed_at", "-id").distinct("organization_id"))
    found = {score.organization_id: _summary(by_pk[score.organization_id], score) for score in latest}
    return {pk: found.get(pk) for pk in by_pk}


def _summary(organization: Organization, latest: CreditScore) -> ScoreSummary:
    moved = [f for f in latest.factors if f.get("factor") not in ("base", "bounds") and f.get("points")]
    moved.sort(key=lambda f: -abs(int(f["points"])))
    return ScoreSummary(organization, latest.score, latest.computed_at,
                        [str(f["reason"]) for f in moved[:TOP_REASONS]])


def annotate_latest_scores(queryset: QuerySet[Any], **fields: str) -> QuerySet[Any]:
    """``queryset`` annotated, for each ``name=path`` (``path`` an organization id in the queryset's model, e.g.
    ``debtor_score="debtor_id"``), with that organization's latest credit score (None without one). One
    correlated subquery per field, served by the index on (organization, -computed_at)."""
    return queryset.annotate(**{
        name: Subquery(CreditScore.objects.filter(organization_id=OuterRef(path))
                       .order_by("-computed_at", "-id").values("score")[:1])
        for name, path in fields.items()
    })
