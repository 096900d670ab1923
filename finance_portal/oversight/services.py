"""Writes of oversight: the sweep that stores what the rules find, acknowledgements, and freeze requests.

A freeze request freezes nothing: platform staff grant it (``freeze_request_grant`` calls
``bills.services.bill_freeze``, so the freeze is a bill event like any other) or decline it with a note.
Acknowledging a flag changes no bill. Both are set once, by whom and when (the audit trail).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from bills import services as bill_services
from bills.models import Bill
from bills.selectors import parse_bill_id
from finance_portal.ledger.selectors import is_platform_staff
from finance_portal.organizations.selectors import membership_of
from finance_portal.oversight import rules, selectors
from finance_portal.oversight.errors import AlreadyDecided, NotOversight, OversightError, OversightNotFound
from finance_portal.oversight.models import FreezeRequest, FreezeStatus, OversightFlag
from finance_portal.users import User


@dataclass
class SweepResult:
    created: int = 0
    updated: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


def findings() -> list[rules.Finding]:
    """Every rule over the whole platform, now."""
    cfg = selectors.oversight_settings()
    found: list[rules.Finding | None] = []
    found += [rules.invoice_reused(f) for f in selectors.invoice_facts()]
    found += [rules.face_above_invoices(f) for f in selectors.backing_facts()]
    found += [rules.circular_transfer(bill_id=b.pk, bill_number=b.number, steps=steps)
              for b, steps in selectors.holder_histories()]
    found += rules.quick_financing(selectors.financing_facts(), window_minutes=cfg["window_minutes"],
                                   threshold=cfg["threshold"])
    found += [rules.amount_outlier(bill_id=b.pk, bill_number=b.number, organization_id=b.creditor_id, face=b.face,
                                   currency=b.currency, history=history, factor=cfg["factor"],
                                   min_history=cfg["min_history"])
              for b, history in selectors.creditor_histories(cfg["history"])]
    found += [rules.tenor_beyond_limit(bill_id=b.pk, bill_number=b.number, organization_id=b.creditor_id,
                                       issue_date=b.issue_date, maturity_date=b.maturity_date,
                                       limit_days=cfg["tenor_days"])
              for b in selectors.long_tenor_bills(cfg["tenor_days"])]
    for chunk in selectors.all_bill_ids_in_chunks():
        found += [rules.chain_mismatch(bill_id=b.pk, bill_number=b.number, problems=problems)
                  for b, problems in selectors.chain_problems(chunk)]
    return [f for f in found if f is not None]


def flag_record(finding: rules.Finding, *, now: dt.datetime | None = None) -> tuple[OversightFlag, bool]:
    """Store a finding: a new flag, or the existing one for (rule, subject) with fresh evidence."""
    now = now or timezone.now()
    values = {"severity": finding.severity, "explanation": finding.explanation, "evidence": finding.evidence,
              "bill_id": finding.bill_id, "organization_id": finding.organization_id, "last_seen": now}
    return OversightFlag.objects.update_or_create(
        rule=finding.rule, subject=finding.subject, defaults=values, create_defaults={**values, "first_seen": now})


def oversight_sweep() -> SweepResult:
    """Run every rule and store the findings; idempotent (a re-run updates ``last_seen``, never duplicates).
    Flags no longer found stay as they are: flags are never deleted."""
    result = SweepResult()
    now = timezone.now()
    for finding in findings():
        with transaction.atomic():
            _, created = flag_record(finding, now=now)
        if created:
            result.created += 1
        else:
            result.updated += 1
        result.by_rule[finding.rule] = result.by_rule.get(finding.rule, 0) + 1
    return result


def _require_oversight(actor: User) -> None:
    if not selectors.is_oversight_user(actor):
        raise NotOversight("Only regulators and platform staff may do this.")


def flag_acknowledge(*, flag_id: object, note: object, actor: User) -> OversightFlag:
    """A regulator or platform staff acknowledges a flag with a note (once). It changes no bill."""
    _require_oversight(actor)
    text = str(note or "").strip()
    if not text:
        raise OversightError("Say what you found or did: a note is required.", field="note")
    if len(text) > 1000:
        raise OversightError("The note is at most 1000 characters.", field="note")
    with transaction.atomic():
        try:
            flag = OversightFlag.objects.select_for_update().get(pk=int(str(flag_id)))
        except (OversightFlag.DoesNotExist, ValueError):
            raise OversightNotFound("No such flag.") from None
        if flag.acknowledged_at is not None:
            raise AlreadyDecided(f"This flag was acknowledged on {flag.acknowledged_at:%Y-%m-%d %H:%M} UTC already.")
        flag.acknowledged_by = actor
        flag.acknowledged_at = timezone.now()
        flag.acknowledgement_note = text
        flag.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_note"])
    return flag


def freeze_request_create(*, bill_id: object, reason: object, actor: User) -> FreezeRequest:
    """A regulator asks platform staff to freeze a bill. Nothing is frozen until staff grant it."""
    membership = membership_of(actor)
    if membership is None or not membership.organization.is_regulator:
        raise NotOversight("Only regulators request freezes; platform staff freeze bills directly.")
    text = str(reason or "").strip()
    if not text:
        raise OversightError("Give the reason for the freeze.", field="reason")
    if len(text) > 1000:
        raise OversightError("The reason is at most 1000 characters.", field="reason")
    bill = Bill.objects.filter(pk=parse_bill_id(bill_id)).first()
    if bill is None:
        raise OversightNotFound("No such bill.")
    return FreezeRequest.objects.create(bill=bill, requested_by=actor, organization=membership.organization,
                                        reason=text, requested_at=timezone.now())


def _decide(request_id: object, actor: User) -> FreezeRequest:
    if not is_platform_staff(actor):
        raise NotOversight("Only platform staff decide freeze requests.")
    try:
        req = FreezeRequest.objects.select_for_update().get(pk=int(str(request_id)))
    except (FreezeRequest.DoesNotExist, ValueError):
        raise OversightNotFound("No such freeze request.") from None
    if req.status != FreezeStatus.OPEN:
        raise AlreadyDecided(f"Freeze request {req.pk} was {req.status} already.")
    return req


def freeze_request_grant(*, request_id: object, actor: User, note: object = "") -> FreezeRequest:
    """Platform staff grant a request: the bill is frozen through the bill service (a freeze event) in the
    same transaction that marks the request granted; a bill the rule book will not freeze refuses both."""
    with transaction.atomic():
        req = _decide(request_id, actor)
        text = str(note or "").strip()
        reason = f"Freeze request {req.pk} by {req.requested_by.get_username()}: {req.reason}"
        bill_services.bill_freeze(bill_id=req.bill_id, actor=actor, reason=reason[:500])
        req.status, req.decided_by, req.decided_at, req.decision_note = (
            FreezeStatus.GRANTED, actor, timezone.now(), text)
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return req


def freeze_request_decline(*, request_id: object, actor: User, note: object) -> FreezeRequest:
    """Platform staff decline a request with a note; the bill is untouched."""
    text = str(note or "").strip()
    if not text:
        raise OversightError("Say why the request is declined: a note is required.", field="note")
    with transaction.atomic():
        req = _decide(request_id, actor)
        req.status, req.decided_by, req.decided_at, req.decision_note = (
            FreezeStatus.DECLINED, actor, timezone.now(), text[:1000])
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return req
