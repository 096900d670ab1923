"""Writes of the credit app: recompute profiles and scores from bill history, grant and revoke credit limits.

The one thing to know: profiles and scores are derived, never edited. They are recomputed for the
organizations named in new bill events (``credit_profiles_refresh_from_events``, Celery beat
``sme_credit.refresh_profiles`` and ``manage.py credit_refresh``), reading bills only through
``bills.selectors``. A score is appended only when it or its reasons changed, so the history shows changes.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext

from bills import clock
from bills import selectors as bill_selectors
from bills.models_money import SettlementKind
from chain_adapter.hashing import ZERO_HASH, keccak256_hex
from chain_adapter.outbox import anchor_enqueue
from finance_portal.money import parse_amount, validate_currency
from finance_portal.organizations.models import Organization
from finance_portal.organizations.selectors import organization_by_credit_code
from finance_portal.organizations.services import require_acting_organization
from finance_portal.users import User
from invoices.models import Invoice, InvoiceStatus
from sme_credit import reports, scoring
from sme_credit.errors import CreditInvalid, CreditLimitRevoked, CreditNotFound, CreditNotPermitted
from sme_credit.models import (
    CreditLimit,
    CreditProfile,
    CreditReport,
    CreditScore,
    IssuingLimit,
    RefreshWatermark,
)

WATERMARK = "bill_events"
# Events are read again this far behind the watermark on each run: an event whose transaction committed after
# a later id's was read is not missed. Recomputing a profile twice is harmless (scores append only on change).
RESCAN_EVENTS = 100


def _quarter(date: object) -> str:
    return f"{date.year}-Q{(date.month - 1) // 3 + 1}"  # type: ignore[attr-defined]


def credit_profile_refresh(*, organization: Organization) -> CreditProfile:
    """Recompute ``organization``'s profile from its bill history (``bills.selectors.bill_history_of``)."""
    rows = bill_selectors.bill_history_of(organization)
    owed = [r for r in rows if r.debtor_id == organization.pk and r.state != "split"]
    settled = [r for r in owed if r.settlement_kind]
    late = [r for r in settled if r.settlement_kind == SettlementKind.LATE]
    roots = [r for r in rows if not r.is_part]
    volume: dict[str, dict[str, object]] = {}
    for r in roots:
        q = volume.setdefault(_quarter(r.issue_date), {"count": 0, "face": {}})
        q["count"] = int(q["count"]) + 1  # type: ignore[call-overload]
        faces: dict[str, str] = q["face"]  # type: ignore[assignment]
        faces[r.currency] = str(Decimal(faces.get(r.currency, "0")) + r.face)
    by_debtor: dict[int, Decimal] = defaultdict(Decimal)
    for r in roots:
        if r.creditor_id == organization.pk and r.currency == settings.DEFAULT_CURRENCY:
            by_debtor[r.debtor_id] += r.face
    drawn_total = sum(by_debtor.values(), Decimal("0"))
    largest_id, largest = max(by_debtor.items(), key=lambda kv: (kv[1], -kv[0]), default=(None, Decimal("0")))
    share = (largest / drawn_total).quantize(Decimal("0.0001")) if drawn_total else Decimal("0")
    values = {
        "settled_on_time": len(settled) - len(late),
        "settled_late": len(late),
        "days_late_total": sum(r.days_late for r in late),
        "days_late_max": max((r.days_late for r in late), default=0),
        "overdue": sum(1 for r in owed if r.state == "overdue"),
        "defaulted": sum(1 for r in owed if r.state == "defaulted"),
        "bills_count": len(roots),
        "bills_drawn": sum(1 for r in roots if r.creditor_id == organization.pk
                           and r.currency == settings.DEFAULT_CURRENCY),
        "volume_by_quarter": dict(sorted(volume.items())),
        "largest_debtor_id": largest_id,
        "largest_debtor_share": share,
        "age_days": max(0, (clock.now() - organization.created_at).days),
        "invoices_disputed": Invoice.objects.filter(seller=organization, status=InvoiceStatus.DISPUTED).count(),
        "computed_at": clock.now(),
    }
    profile, _ = CreditProfile.objects.update_or_create(organization=organization, defaults=values)
    return profile


def credit_score_compute(*, organization: Organization) -> CreditScore:
    """Score ``organization`` from its stored profile (computed first if it has none) with ``scoring.score_of``.

    Appends a ``CreditScore`` unless the latest one has the same score and reasons (then returns that one).
    The profile row is locked meanwhile, so two computations of one organization append at most one row.
    """
    with transaction.atomic():
        if not CreditProfile.objects.filter(organization=organization).exists():
            credit_profile_refresh(organization=organization)
        profile = CreditProfile.objects.select_for_update(of=("self",)).select_related("organization").get(
            organization=organization)
        score, factors = scoring.score_of(scoring.ScoreInputs(
            settled_on_time=profile.settled_on_time, settled_late=profile.settled_late,
            days_late_total=profile.days_late_total, days_late_max=profile.days_late_max, overdue=profile.overdue,
            defaulted=profile.defaulted, bills_count=profile.bills_count, bills_drawn=profile.bills_drawn,
            largest_debtor_share=profile.largest_debtor_share, age_days=profile.age_days,
            invoices_disputed=profile.invoices_disputed,
        ))
        latest = CreditScore.objects.filter(organization=organization).order_by("-computed_at", "-id").first()
        if latest is not None and latest.score == score and latest.factors == factors \
                and latest.formula == scoring.FORMULA:
            return latest
        return CreditScore.objects.create(organization=organization, score=score, factors=factors,
                                          computed_at=clock.now(), formula=scoring.FORMULA)


def credit_refresh(*, organization: Organization) -> CreditScore:
    """Recompute the profile, then the score, of one organization."""
    with transaction.atomic():
        credit_profile_refresh(organization=organization)
        return credit_score_compute(organization=organization)


def credit_profiles_refresh_from_events() -> dict[str, int]:
    """Refresh the organizations (creditors and debtors) of the bills whose events came after the watermark.

    One run at a time: the watermark row is locked, and a run that finds it locked does nothing
    (``{"skipped": 1}``). Idempotent. Returns how many organizations were refreshed and the new watermark.
    """
    RefreshWatermark.objects.get_or_create(name=WATERMARK)
    with transaction.atomic():
        mark = RefreshWatermark.objects.select_for_update(skip_locked=True).filter(name=WATERMARK).first()
        if mark is None:
            return {"skipped": 1, "organizations": 0, "last_event_id": 0}
        org_ids, last = bill_selectors.organizations_in_events_after(max(0, mark.last_event_id - RESCAN_EVENTS))
        orgs = list(Organization.objects.filter(pk__in=org_ids).order_by("pk"))
        for org in orgs:
            credit_refresh(organization=org)
        mark.last_event_id = max(last, mark.last_event_id)
        mark.updated_at = clock.now()
        mark.save(update_fields=["last_event_id", "updated_at"])
    return {"skipped": 0, "organizations": len(orgs), "last_event_id": mark.last_event_id}


# ---------------------------------------------------------------------------------------------------------
# Credit limits
# ---------------------------------------------------------------------------------------------------------


def _require_financier(actor: User) -> Organization:
    org = require_acting_organization(actor)
    if not org.is_financier:
        raise CreditNotPermitted(gettext("Only financiers grant and revoke credit limits."))
    return org


def _organization(code: object, *, field: str, required: bool) -> Organization | None:
    if isinstance(code, Organization):
        return code
    if code in (None, ""):
        if required:
            raise CreditInvalid(gettext("Name the %(field)s by its unified social credit code.") % {"field": field},
                                field=field)
        return None
    org = organization_by_credit_code(str(code))
    if org is None or org.is_regulator or org.is_platform:
        raise CreditInvalid(gettext("No organization on the platform has the credit code %(code)s.") % {
            "code": repr(code)}, field=field)
    return org


def credit_limit_grant(*, actor: User, debtor: object, amount: object, currency: object = None,
                       supplier: object = None) -> CreditLimit:
    """A financier sets the most it will hold of what ``debtor`` owes (only what it owes ``supplier``, when
    given). A live limit for the same (financier, debtor, supplier) is revoked and replaced in one transaction.
    403 for anyone but a financier; 400 for a bad organization, amount or currency."""
    financier = _require_financier(actor)
    debtor_org = _organization(debtor, field="debtor", required=True)
    supplier_org = _organization(supplier, field="supplier", required=False)
    assert debtor_org is not None
    if debtor_org.pk == financier.pk:
        raise CreditInvalid(gettext("A financier cannot grant itself a limit."), field="debtor")
    if supplier_org is not None and supplier_org.pk == debtor_org.pk:
        raise CreditInvalid(gettext("The supplier cannot be the debtor itself."), field="supplier")
    code = validate_currency(currency or settings.DEFAULT_CURRENCY)
    value = parse_amount(amount, code)
    now = clock.now()
    try:
        with transaction.atomic():
            live = CreditLimit.objects.select_for_update().filter(
                financier=financier, debtor=debtor_org, supplier=supplier_org, revoked_at__isnull=True)
            for old in live:
                old.revoked_at, old.revoked_by = now, actor
                old.save(update_fields=["revoked_at", "revoked_by"])
            return CreditLimit.objects.create(financier=financier, debtor=debtor_org, supplier=supplier_org,
                                              amount=value, currency=code, granted_by=actor, granted_at=now)
    except IntegrityError as err:  # a concurrent grant for the same key won
        raise CreditLimitRevoked(
            "Another limit for this debtor was granted at the same moment: read the limits and try again.",
            code="credit_limit_conflict",
        ) from err


LimitT = TypeVar("LimitT", CreditLimit, IssuingLimit)


def _no_such(what: str) -> str:
    return gettext("No such issuing limit.") if what == "issuing limit" else gettext("No such credit limit.")


def limit_revoke(owned: QuerySet[LimitT], *, limit_id: object, actor: User, what: str) -> LimitT:
    """Revoke the limit ``limit_id`` among ``owned`` (the limits the actor's organization holds or granted):
    404 for any other id, 409 if it was revoked already. Credit limits and issuing limits alike."""
    try:
        pk = int(str(limit_id))
    except ValueError:
        raise CreditNotFound(_no_such(what)) from None
    with transaction.atomic():
        limit = owned.select_for_update().filter(pk=pk).first()
        if limit is None:
            raise CreditNotFound(_no_such(what))
        if limit.revoked_at is not None:
            raise CreditLimitRevoked(
                f"{what.capitalize()} {limit.pk} was already revoked on {limit.revoked_at:%Y-%m-%d}.")
        limit.revoked_at, limit.revoked_by = clock.now(), actor
        limit.save(update_fields=["revoked_at", "revoked_by"])
    return limit


def credit_limit_revoke(*, limit_id: object, actor: User) -> CreditLimit:
    """The financier that holds a limit revokes it: from now on its purchases of that debtor are not capped.
    403 for anyone but a financier, 404 for a limit of another financier, 409 if already revoked."""
    financier = _require_financier(actor)
    return limit_revoke(CreditLimit.objects.filter(financier=financier), limit_id=limit_id, actor=actor,
                        what="credit limit")


# ---------------------------------------------------------------------------------------------------------
# Credit reports
# ---------------------------------------------------------------------------------------------------------


def credit_report_issue(*, actor: User, recipient: object) -> CreditReport:
    """A member of an organization issues a report of its credit to ``recipient`` (a credit code).

    In one transaction: the profile and score are recomputed, the report's id drawn from its sequence, its
    canonical text (``sme_credit.reports.report_object``) hashed, and the hash registered in the anchoring
    outbox under ``keccak256("report:" + id)`` with prev = zero hash (a report key holds one record, so no
    lock is needed). 403 for an organization that may not act or is not a trading one (regulator, platform);
    400 for an unknown recipient or the organization itself.
    """
    org = require_acting_organization(actor)
    if org.is_regulator or org.is_platform:
        raise CreditNotPermitted(gettext("Only trading organizations issue credit reports of themselves."))
    if isinstance(recipient, Organization):
        target: Organization | None = recipient
    elif recipient in (None, ""):
        raise CreditInvalid(gettext("Name the recipient by its unified social credit code."), field="recipient")
    else:
        target = organization_by_credit_code(str(recipient))
    if target is None:
        raise CreditInvalid(gettext("No organization on the platform has the credit code %(code)s.") % {
            "code": repr(recipient)}, field="recipient")
    if target.pk == org.pk:
        raise CreditInvalid(gettext("A report goes to another organization, not to yours."), field="recipient")
    with transaction.atomic():
        score = credit_refresh(organization=org)
        profile = CreditProfile.objects.select_related("largest_debtor").get(organization=org)
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [CreditReport._meta.db_table])
            report_id = int(cursor.fetchone()[0])
        issued_at = clock.now()
        text = reports.report_canonical(reports.report_object(
            report_id=report_id, organization=org, recipient=target, issued_at=issued_at, profile=profile,
            score=score))
        key = reports.report_key_of(report_id)
        digest = keccak256_hex(text)
        anchor = anchor_enqueue(key=key, prev_hash=ZERO_HASH, event_hash=digest)
        return CreditReport.objects.create(id=report_id, organization=org, recipient=target, created_by=actor,
                                           created_at=issued_at, canonical=text, hash=digest, report_key=key,
                                           anchor=anchor)
