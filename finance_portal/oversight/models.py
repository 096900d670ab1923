"""Oversight records: flags raised by the rules (``finance_portal.oversight.rules``) and regulators' freeze requests.

A newcomer must know one thing: these rows are the regulators' audit trail. A flag is never deleted; a
re-run of the sweep updates its evidence and ``last_seen`` (one row per ``(rule, subject)``), and its
acknowledgement (who, when, note) is set once. A freeze request is never deleted and its decision (granted or
declined, by whom, when, note) is set once. A trigger (migration 0001) holds both rules in SQL too.
A reconciliation run (``ReconciliationRun``) records one comparison of bills' database histories with the
chain: when, why (schedule, an anchoring batch, by hand), how much was checked and what differed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bills.problems import message_text


class Rule(models.TextChoices):
    INVOICE_REUSED = "invoice_reused", _("Invoice behind two live bills or financed twice")
    FACE_ABOVE_INVOICES = "face_above_invoices", _("Face above its invoices")
    CIRCULAR_TRANSFER = "circular_transfer", _("Circular transfers")
    QUICK_FINANCING = "quick_financing", _("Financing right after acceptance, at volume")
    AMOUNT_OUTLIER = "amount_outlier", _("Amount far outside the organization's history")
    TENOR_BEYOND_LIMIT = "tenor_beyond_limit", _("Tenor beyond the limit")
    ISSUED_WITHOUT_INVOICES = "issued_without_invoices", _("Large bill issued without invoices")
    CHAIN_MISMATCH = "chain_mismatch", _("Database history differs from the chain")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class OversightFlag(models.Model):
    """One finding of one rule about one subject (a bill, an invoice, an organization on a day)."""

    rule = models.CharField(_("rule"), max_length=32, choices=Rule.choices)
    # What the finding is about, as text: "bill:<uuid>", "invoice:<uuid>", "org:<id>:<YYYY-MM-DD>"...
    subject = models.CharField(_("subject"), max_length=120)
    bill = models.ForeignKey(
        "bills.Bill", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("bill")
    )
    organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("organization")
    )
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    # The English sentence (the API, CSV exports and the audit trail keep it), and the message it was made of:
    # an English msgid with %(name)s placeholders and their values as texts (``rules.Explanation``), so a page
    # shows the sentence in the reader's language. Flags stored before them have an empty template.
    explanation = models.TextField(_("explanation"))
    explanation_template = models.CharField(_("explanation template"), max_length=500, blank=True)
    explanation_params = models.JSONField(_("explanation parameters"), default=dict, blank=True)
    evidence = models.JSONField(_("evidence"), default=dict)
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"))
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("acknowledged by")
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledgement_note = models.CharField(_("acknowledgement note"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("oversight flag")
        verbose_name_plural = _("oversight flags")
        ordering = ["-last_seen", "id"]
        indexes = [models.Index(fields=["rule", "acknowledged_at"], name="oversight_flag_rule_ack")]
        constraints = [
            models.UniqueConstraint(fields=["rule", "subject"], name="oversight_flag_once_per_subject"),
            models.CheckConstraint(name="oversight_flag_rule_valid", condition=Q(rule__in=Rule.values)),
            models.CheckConstraint(name="oversight_flag_severity_valid", condition=Q(severity__in=Severity.values)),
            models.CheckConstraint(
                name="oversight_flag_ack_complete",
                condition=Q(acknowledged_at__isnull=True, acknowledgement_note="")
                | (Q(acknowledged_at__isnull=False) & ~Q(acknowledgement_note="")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.subject}"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def explanation_text(self) -> str:
        """The explanation in the active language (the stored English when the flag has no template)."""
        if not self.explanation_template:
            return self.explanation
        return message_text(self.explanation_template, self.explanation_params)


class FreezeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    GRANTED = "granted", _("Granted (the bill was frozen)")
    DECLINED = "declined", _("Declined")


class FreezeRequest(models.Model):
    """A regulator's request that platform staff freeze a bill. It freezes nothing by itself."""

    bill = models.ForeignKey("bills.Bill", on_delete=models.PROTECT, related_name="+", verbose_name=_("bill"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("organization")
    )
    reason = models.CharField(_("reason"), max_length=1000)
    requested_at = models.DateTimeField(_("requested at"))
    status = models.CharField(
        _("status"), max_length=10, choices=FreezeStatus.choices, default=FreezeStatus.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("freeze request")
        verbose_name_plural = _("freeze requests")
        ordering = ["-requested_at", "id"]
        constraints = [
            models.CheckConstraint(name="freeze_request_status_valid", condition=Q(status__in=FreezeStatus.values)),
            models.CheckConstraint(name="freeze_request_reason_given", condition=~Q(reason="")),
            models.CheckConstraint(
                name="freeze_request_decision_complete",
                condition=Q(status="open", decided_at__isnull=True, decided_by__isnull=True)
                | (~Q(status="open") & Q(decided_at__isnull=False, decided_by__isnull=False)),
            ),
            models.CheckConstraint(
                name="freeze_request_decline_has_note", condition=~Q(status="declined") | ~Q(decision_note=""),
            ),
        ]

    def __str__(self) -> str:
        return f"freeze request {self.pk} on {self.bill_id} ({self.status})"


class ReconciliationTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    ANCHORING_BATCH = "anchoring_batch", _("Anchoring batch")
    MANUAL = "manual", _("Manual")


class ReconciliationRun(models.Model):
    """One reconciliation of bills with the chain (``bills.verification.reconcile``).

    ``details`` lists the bills that differ: ``[{"bill": "<uuid>", "number": "...", "problems": ["..."]}]``
    (English, as the API gives it), and ``detail_messages`` the same problems as the messages they were made
    of (``bills.problems.Problem``), one list per entry of ``details``: ``[[{"template": "...", "params": {...}}]]``
    (empty for runs stored before it);
    ``error`` says why a run stopped early (the node unreachable...), with ``finished_at`` still set."""

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    trigger = models.CharField(_("trigger"), max_length=16, choices=ReconciliationTrigger.choices)
    bills_checked = models.PositiveIntegerField(_("bills checked"), default=0)
    events_checked = models.PositiveIntegerField(_("events checked"), default=0)
    mismatches = models.PositiveIntegerField(_("mismatches"), default=0)
    details = models.JSONField(_("details"), default=list, blank=True)
    detail_messages = models.JSONField(_("detail messages"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["-started_at"], name="oversight_recon_started")]
        constraints = [
            models.CheckConstraint(name="oversight_recon_trigger_valid",
                                   condition=Q(trigger__in=ReconciliationTrigger.values)),
        ]

    def __str__(self) -> str:
        return f"reconciliation {self.pk} ({self.trigger}, {self.mismatches} mismatches)"

    @property
    def details_text(self) -> list[dict[str, object]]:
        """``details`` with each bill's problems in the active language, as ``problems``, and the stored
        English as ``technical`` (a run stored without messages shows no translated ``problems``)."""
        rows: list[dict[str, object]] = []
        for index, d in enumerate(self.details):
            messages = self.detail_messages[index] if index < len(self.detail_messages) else []
            rows.append({"bill": d.get("bill"), "number": d.get("number"),
                         "problems": [message_text(m["template"], m.get("params", {})) for m in messages],
                         "technical": list(d.get("problems", []))})
        return rows
