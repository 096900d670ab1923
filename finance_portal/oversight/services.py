"""Writes of oversight: the sweep that stores what the rules find, acknowledgements, and freeze requests.

A freeze request freezes nothing: platform staff grant it (``freeze_request_grant`` calls
``bills.services.bill_freeze``, so the freeze is a bill event like any other) or decline it with a note.
Acknowledging a flag changes no bill. Both are set once, by whom and when (the audit trail).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from bills import services as bill_services
from bills.models import Bill
from bills.problems import problem_message
from bills.selectors import parse_bill_id
from bills.verification import reconcile
from chain_adapter.errors import ChainError
from finance_portal.ledger.selectors import is_platform_staff
from finance_portal.organizations.selectors import membership_of
from finance_portal.oversight import rules, selectors
from finance_portal.oversight.errors import AlreadyDecided, NotOversight, OversightError, OversightNotFound
from finance_portal.oversight.models import (
    FreezeRequest,
    FreezeStatus,
    OversightFlag,
    ReconciliationRun,
    ReconciliationTrigger,
)
from finance_portal.users import User


@dataclass
class SweepResult:
    created: int = 0
    updated: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


def _bill_rules(cfg: dict[str, Any], bill_ids: Sequence[Any] | None) -> list[rules.Finding | None]:
    """The rules about one bill at a time, over every bill (``bill_ids`` None) or over those bills."""
    found: list[rules.Finding | None] = []
    found += [rules.face_above_invoices(f) for f in selectors.backing_facts(bill_ids=bill_ids)]
    found += [rules.circular_transfer(bill_id=b.pk, bill_number=b.number, steps=steps,
                                      window_days=cfg["circular_days"])
              for b, steps in selectors.holder_histories(bill_ids=bill_ids)]
    found += [rules.amount_outlier(bill_id=b.pk, bill_number=b.number, organization_id=b.creditor_id, face=b.face,
                                   currency=b.currency, history=history, z_threshold=cfg["z_threshold"],
                                   factor=cfg["factor"], min_history=cfg["min_history"])
              for b, history in selectors.creditor_histories(cfg["history"], bill_ids=bill_ids)]
    found += [rules.tenor_beyond_limit(bill_id=b.pk, bill_number=b.number, organization_id=b.creditor_id,
                                       issue_date=b.issue_date, maturity_date=b.maturity_date,
                                       limit_days=cfg["tenor_days"])
              for b in selectors.long_tenor_bills(cfg["tenor_days"], bill_ids=bill_ids)]
    found += [rules.issued_without_invoices(bill_id=b.pk, bill_number=b.number, debtor_id=b.debtor_id,
                                            creditor_id=b.creditor_id, face=b.face, currency=b.currency,
                                            allocations=0, threshold=cfg["no_invoice_threshold"],
                                            threshold_currency=cfg["currency"])
              for b in selectors.unbacked_bills(threshold=cfg["no_invoice_threshold"], currency=cfg["currency"],
                                                bill_ids=bill_ids)]
    return found


def findings() -> list[rules.Finding]:
    """Every rule over the whole platform, now."""
    cfg = selectors.oversight_settings()
    found: list[rules.Finding | None] = []
    found += [rules.invoice_reused(f) for f in selectors.invoice_facts()]
    found += _bill_rules(cfg, None)
    found += rules.quick_financing(selectors.financing_facts(), window_minutes=cfg["window_minutes"],
                                   threshold=cfg["threshold"])
    for chunk in selectors.all_bill_ids_in_chunks():
        found += [rules.chain_mismatch(bill_id=b.pk, bill_number=b.number, problems=problems)
                  for b, problems in selectors.chain_problems(chunk)]
    return [f for f in found if f is not None]


def bill_findings(bill_id: Any) -> list[rules.Finding]:
    """The rules that one bill's events can change, about that bill: reuse of its (root's) invoices, face
    above invoices, circular transfers, amount outlier, tenor, issued without invoices, and quick financing
    for its debtor on the day the bill was first bought. Nothing for a bill that does not exist."""
    scope = selectors.bill_scope(bill_id)
    if scope is None:
        return []
    cfg = selectors.oversight_settings()
    found: list[rules.Finding | None] = []
    found += [rules.invoice_reused(f) for f in selectors.invoice_facts(invoice_ids=scope.invoice_ids)]
    found += _bill_rules(cfg, scope.bill_ids)
    if scope.financed_on is not None:
        found += rules.quick_financing(
            selectors.financing_facts(debtor_id=scope.debtor_id, day=scope.financed_on),
            window_minutes=cfg["window_minutes"], threshold=cfg["threshold"])
    return [f for f in found if f is not None]


def flag_record(finding: rules.Finding, *, now: dt.datetime | None = None) -> tuple[OversightFlag, bool]:
    """Store a finding: a new flag, or the existing one for (rule, subject) with fresh evidence."""
    now = now or timezone.now()
    values = {"severity": finding.severity, "explanation": finding.explanation,
              "explanation_template": finding.message.template, "explanation_params": finding.message.params,
              "evidence": finding.evidence,
              "bill_id": finding.bill_id, "organization_id": finding.organization_id, "last_seen": now}
    return OversightFlag.objects.update_or_create(
        rule=finding.rule, subject=finding.subject, defaults=values, create_defaults={**values, "first_seen": now})


def flags_store(found: Iterable[rules.Finding]) -> SweepResult:
    """Store findings, one transaction each; idempotent (a re-run updates ``last_seen``, never duplicates)."""
    result = SweepResult()
    now = timezone.now()
    for finding in found:
        with transaction.atomic():
            _, created = flag_record(finding, now=now)
        if created:
            result.created += 1
        else:
            result.updated += 1
        result.by_rule[finding.rule] = result.by_rule.get(finding.rule, 0) + 1
    return result


def oversight_sweep() -> SweepResult:
    """Run every rule and store the findings; idempotent (a re-run updates ``last_seen``, never duplicates).
    Flags no longer found stay as they are: flags are never deleted."""
    return flags_store(findings())


def oversight_evaluate_bill(*, bill_id: Any) -> SweepResult:
    """Run the bill-scoped rules (``bill_findings``) after an event of the bill and store what they find.
    Idempotent, like the sweep; the sweep still runs on beat and catches anything a lost task missed."""
    return flags_store(bill_findings(bill_id))


def reconciliation_run(*, trigger: str, bill_ids: Sequence[Any] | None = None) -> ReconciliationRun:
    """Reconcile every bill (or ``bill_ids``) with the chain (``bills.verification.reconcile``) and store the run:
    counts, and each differing bill with what differs. Each differing bill raises (or refreshes) its
    ``chain_mismatch`` flag. A chain that cannot be read ends the run with its ``error`` and no verdict."""
    if trigger not in ReconciliationTrigger.values:
        raise OversightError(f"Unknown reconciliation trigger {trigger!r}.", field="trigger")
    run = ReconciliationRun.objects.create(started_at=timezone.now(), trigger=trigger)
    try:
        result = reconcile(bill_ids=bill_ids)
    except ChainError as err:
        run.error = f"The chain could not be read: {err}"[:5000]
        run.finished_at = timezone.now()
        run.save(update_fields=["error", "finished_at"])
        return run
    run.bills_checked, run.events_checked = result.checked, result.events
    run.mismatches = len(result.discrepancies)
    run.details = [{"bill": d.bill_id, "number": d.number, "problems": list(d.problems)}
                   for d in result.discrepancies]
    run.detail_messages = [[problem_message(p) for p in d.problems] for d in result.discrepancies]
    run.finished_at = timezone.now()
    run.save(update_fields=["bills_checked", "events_checked", "mismatches", "details", "detail_messages",
                            "finished_at"])
    found = [rules.chain_mismatch(bill_id=d.bill_id, bill_number=d.number, problems=d.problems, run_id=run.pk)
             for d in result.discrepancies]
    flags_store(f for f in found if f is not None)
    return run


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
