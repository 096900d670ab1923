"""The regulator's data explorer: every dataset of the platform, read-only, in one registry (``DATASETS``).

One entry per dataset: its queryset (with ``select_related``), its columns, its filters, its search fields and
the date it is filtered by. The pages and the CSV export (``explorer_views``) read nothing but this registry,
so a new dataset is one entry here. The building blocks (columns, filters, the form, CSV) are in
``explorer_base``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import DecimalField, Exists, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from bills.models import Bill, BillEvent, BillPurchase, BillState, EventType
from bills.models_money import BillOffer, BillSettlement, OfferStatus, SettlementKind
from finance_portal.ledger.models import AccountKind, EntryKind, JournalEntry, Posting
from finance_portal.organizations.models import KycStatus, Organization, OrganizationKind, kind_field
from finance_portal.oversight.explorer_base import (
    Column,
    Dataset,
    Filter,
    bill_col,
    choice,
    coded,
    col,
    currency,
    flag,
    money,
    org,
    organization,
    organization_pk,
    user,
    utc,
)
from finance_portal.oversight.models import FreezeRequest, FreezeStatus, OversightFlag, Rule, Severity
from invoices.models import Invoice, InvoiceStatus
from sme_credit.models import CreditLimit, CreditProfile, CreditScore


def _money(amount_attr: str, currency_attr: str = "currency") -> Any:
    return lambda o: money(getattr(o, amount_attr), getattr(o, currency_attr))


def _entry_total(entry: JournalEntry) -> str:
    return money(getattr(entry, "total", None), entry.currency)


def _entry_org(code: str) -> Q:
    """Entries that touched the organization: its deposit or withdrawal, or a posting on one of its accounts."""
    pk = organization_pk(code)
    if pk is None:
        return Q(pk__in=[])
    touched = Posting.objects.filter(entry=OuterRef("pk"), account__organization=pk)
    return Q(organization=pk) | Q(Exists(touched))


def _bills() -> QuerySet[Bill]:
    """The bills with only the columns the dataset shows (page and CSV): of each joined party its credit code and
    name (``org``), of the parent its number; not three organizations' and a bill's twenty-odd columns a row."""
    parties = [f"{party}__{name}" for party in ("creditor", "debtor", "holder") for name in ("credit_code", "legal_name")]
    return (Bill.objects.select_related("creditor", "debtor", "holder", "parent")
            .only("number", "state", "creditor", "debtor", "holder", "face", "currency", "issue_date", "maturity_date",
                  "asking_rate", "parent", "parent__number", "reference", "created_at", "updated_at", *parties)
            .order_by("-created_at", "pk"))


def _kind(value: str) -> Q:
    return Q(**{kind_field(value): True})


ORGANIZATIONS = Dataset(
    "organizations", _("Organizations"), _("Every organization on the platform, its kinds and KYC status."),
    lambda: Organization.objects.order_by("legal_name", "pk"),
    (col(_("ID"), "pk"), col(_("Legal name"), "legal_name"), col(_("Credit code"), "credit_code"),
     col(_("Kinds"), "kind_labels"), coded(_("KYC status"), "kyc_status", KycStatus.choices), col(_("KYC reviewed at"), "kyc_reviewed_at"),
     col(_("KYC note"), "kyc_note", csv_only=True), col(_("Created at"), "created_at")),
    (choice("kyc_status", _("KYC status"), "kyc_status", KycStatus.choices),
     Filter("kind", choice("kind", _("Kind"), "", OrganizationKind.choices).make_field, _kind),
     organization("", label=_("Credit code"))),
    ("legal_name", "credit_code"), "created_at", date_label=_("Created"),
)

INVOICES = Dataset(
    "invoices", _("Invoices"), _("Every registered e-invoice, its amounts, file hash and the buyer's verdict."),
    lambda: Invoice.objects.select_related("seller", "buyer", "verified_by").order_by("-created_at", "pk"),
    (col(_("ID"), "pk", csv_only=True), col(_("Invoice code"), "invoice_code"), col(_("Invoice number"), "invoice_number"),
     Column(_("Seller"), lambda i: org(i.seller)), Column(_("Buyer"), lambda i: org(i.buyer)),
     col(_("Issue date"), "issue_date"), Column(_("Amount excl. tax"), _money("amount_excl_tax"), css="num"),
     Column(_("Tax"), _money("tax_amount"), css="num"), Column(_("Total"), _money("total_amount"), css="num"), coded(_("Status"), "status", InvoiceStatus.choices),
     Column(_("Verified at"), lambda i: utc(i.verified_at)), Column(_("Verified by"), lambda i: user(i.verified_by)),
     col(_("File SHA-256"), "file_sha256", csv_only=True), col(_("Created at"), "created_at")),
    (choice("status", _("Status"), "status", InvoiceStatus.choices), organization("seller", "buyer"), currency()),
    ("invoice_number", "invoice_code", "seller__legal_name", "buyer__legal_name", "file_sha256"),
    "issue_date", date_is_datetime=False, date_label=_("Issued"),
)

BILLS = Dataset(
    "bills", _("Bills"), _("Every digital bill: parties, face, maturity and state."),
    _bills,
    (col(_("ID"), "pk", csv_only=True), bill_col(_("Number"), ""), coded(_("State"), "state", BillState.choices), Column(_("Creditor"), lambda b: org(b.creditor)),
     Column(_("Debtor"), lambda b: org(b.debtor)), Column(_("Holder"), lambda b: org(b.holder)),
     Column(_("Face"), _money("face"), css="num"), col(_("Issue date"), "issue_date"), col(_("Maturity date"), "maturity_date"),
     col(_("Asking rate"), "asking_rate"), bill_col(_("Parent"), "parent"), col(_("Reference"), "reference", csv_only=True),
     col(_("Created at"), "created_at"), col(_("Updated at"), "updated_at", csv_only=True)),
    (choice("state", _("State"), "state", BillState.choices), organization("creditor", "debtor", "holder"), currency()),
    ("number", "reference", "creditor__legal_name", "debtor__legal_name", "holder__legal_name"),
    "maturity_date", date_is_datetime=False, date_label=_("Maturity"),
)

EVENTS = Dataset(
    "events", _("Bill events"), _("Every transition of every bill, with its hash and its anchor."),
    lambda: BillEvent.objects.select_related("bill", "actor", "actor_user", "anchor").order_by("-occurred_at", "-pk"),
    (col(_("ID"), "pk"), bill_col(_("Bill"), "bill"), col(_("Seq"), "seq"), coded(_("Type"), "type", EventType.choices),
     coded(_("From"), "from_state", BillState.choices), coded(_("To"), "to_state", BillState.choices), Column(_("Actor"), lambda e: org(e.actor)),
     Column(_("Actor user"), lambda e: user(e.actor_user)), col(_("Occurred at"), "occurred_at"),
     col(_("Amounts"), "amounts", csv_only=True), col(_("Details"), "details", csv_only=True),
     col(_("Prev hash"), "prev_hash", csv_only=True), col(_("Hash"), "hash")),
    (choice("type", _("Type"), "type", EventType.choices), organization("actor", "bill__debtor")),
    ("bill__number", "hash"), "occurred_at", date_label=_("Occurred"),
)

PURCHASES = Dataset(
    "purchases", _("Purchases"), _("Every claim bought: seller, buyer, rate, interest and price."),
    lambda: BillPurchase.objects.select_related("bill", "seller", "buyer").order_by("-purchased_at", "-pk"),
    (col(_("ID"), "pk"), bill_col(_("Bill"), "bill"), Column(_("Seller"), lambda p: org(p.seller)),
     Column(_("Buyer"), lambda p: org(p.buyer)), Column(_("Face"), _money("face"), css="num"), col(_("Rate"), "rate"),
     Column(_("Interest"), _money("interest"), css="num"), Column(_("Price"), _money("price"), css="num"),
     col(_("Purchased at"), "purchased_at"), col(_("Offer"), "offer_id"), col(_("Journal entry"), "entry_id")),
    (organization("seller", "buyer"), currency()),
    ("bill__number", "seller__legal_name", "buyer__legal_name"), "purchased_at", date_label=_("Purchased"),
)

OFFERS = Dataset(
    "offers", _("Offers"), _("Every financier's offer on a listed bill and what became of it."),
    lambda: BillOffer.objects.select_related("bill", "financier").order_by("-created_at", "-pk"),
    (col(_("ID"), "pk"), bill_col(_("Bill"), "bill"), Column(_("Financier"), lambda o: org(o.financier)),
     col(_("Rate"), "rate"), Column(_("Bill face"), lambda o: money(o.bill.face, o.bill.currency), css="num"),
     coded(_("Status"), "status", OfferStatus.choices), col(_("Created at"), "created_at"), col(_("Expires at"), "expires_at"),
     col(_("Closed at"), "closed_at")),
    (choice("status", _("Status"), "status", OfferStatus.choices), organization("financier", "bill__holder"),
     currency("bill__currency")),
    ("bill__number", "financier__legal_name"), "created_at", date_label=_("Made"),
)

SETTLEMENTS = Dataset(
    "settlements", _("Settlements"), _("Every bill paid: payer, payee, face, kind and days late."),
    lambda: BillSettlement.objects.select_related("bill", "payer", "payee").order_by("-settled_at", "-pk"),
    (col(_("ID"), "pk"), bill_col(_("Bill"), "bill"), Column(_("Payer"), lambda s: org(s.payer)),
     Column(_("Payee"), lambda s: org(s.payee)), Column(_("Face"), _money("face"), css="num"), coded(_("Kind"), "kind", SettlementKind.choices),
     col(_("Days late"), "days_late"), col(_("Settled at"), "settled_at"), col(_("Journal entry"), "entry_id")),
    (choice("kind", _("Kind"), "kind", SettlementKind.choices), organization("payer", "payee"), currency()),
    ("bill__number", "payer__legal_name", "payee__legal_name"), "settled_at", date_label=_("Settled"),
)

LEDGER_ENTRIES = Dataset(
    "ledger-entries", _("Ledger entries"), _("Every journal entry of the cash ledger, with the money it moved."),
    lambda: (JournalEntry.objects.select_related("organization", "created_by", "reverses")
             .annotate(total=Sum("postings__amount", filter=Q(postings__amount__gt=0),
                                 output_field=DecimalField(max_digits=20, decimal_places=2)))
             .order_by("-created_at", "-pk")),
    (col(_("ID"), "pk"), coded(_("Kind"), "kind", EntryKind.choices), Column(_("Amount moved"), _entry_total, css="num"), col(_("Memo"), "memo"),
     col(_("Reference"), "reference"), Column(_("Organization"), lambda e: org(e.organization)),
     col(_("Reverses"), "reverses_id"), col(_("Created at"), "created_at"), Column(_("Created by"), lambda e: user(e.created_by))),
    (choice("kind", _("Kind"), "kind", EntryKind.choices), Filter("org", organization().make_field, _entry_org),
     currency()),
    ("memo", "reference"), "created_at", date_label=_("Posted"),
)

POSTINGS = Dataset(
    "postings", _("Ledger postings"), _("Every line of every journal entry: the account and the signed amount."),
    lambda: (Posting.objects.select_related("entry", "account", "account__organization")
             .order_by("-entry__created_at", "-entry_id", "pk")),
    (col(_("ID"), "pk"), col(_("Entry"), "entry_id"), coded(_("Entry kind"), "entry.kind", EntryKind.choices), col(_("Account"), "account_id"),
     coded(_("Account kind"), "account.kind", AccountKind.choices), Column(_("Account holder"), lambda p: org(p.account.organization)),
     Column(_("Amount"), _money("amount"), css="num"), Column(_("Posted at"), lambda p: utc(p.entry.created_at))),
    (choice("entry_kind", _("Entry kind"), "entry__kind", EntryKind.choices),
     choice("account_kind", _("Account kind"), "account__kind", AccountKind.choices),
     organization("account__organization"), currency()),
    ("entry__memo", "entry__reference"), "entry__created_at", date_label=_("Posted"),
)

CREDIT_PROFILES = Dataset(
    "credit-profiles", _("Credit profiles"), _("Each organization's profile derived from its bill history."),
    lambda: CreditProfile.objects.select_related("organization", "largest_debtor").order_by("organization__legal_name"),
    (Column(_("Organization"), lambda p: org(p.organization)), col(_("Bills"), "bills_count"), col(_("Drawn"), "bills_drawn"),
     col(_("Settled on time"), "settled_on_time"), col(_("Settled late"), "settled_late"),
     col(_("Days late (total)"), "days_late_total"), col(_("Days late (max)"), "days_late_max"), col(_("Overdue"), "overdue"),
     col(_("Defaulted"), "defaulted"), Column(_("Largest debtor"), lambda p: org(p.largest_debtor)),
     col(_("Largest debtor share"), "largest_debtor_share"), col(_("Age (days)"), "age_days"),
     col(_("Volume by quarter"), "volume_by_quarter", csv_only=True), col(_("Computed at"), "computed_at")),
    (organization("organization"),), ("organization__legal_name",), "computed_at", date_label=_("Computed"),
)

CREDIT_SCORES = Dataset(
    "credit-scores", _("Credit scores"), _("Every score computed, with the factors that moved it."),
    lambda: CreditScore.objects.select_related("organization").order_by("-computed_at", "-pk"),
    (col(_("ID"), "pk"), Column(_("Organization"), lambda s: org(s.organization)), col(_("Score"), "score"),
     col(_("Formula"), "formula"), col(_("Computed at"), "computed_at"), col(_("Factors"), "factors", csv_only=True)),
    (organization("organization"),), ("organization__legal_name",), "computed_at", date_label=_("Computed"),
)

CREDIT_LIMITS = Dataset(
    "credit-limits", _("Credit limits"), _("Limits financiers granted per debtor (or per debtor and supplier)."),
    lambda: (CreditLimit.objects.select_related("financier", "debtor", "supplier", "granted_by", "revoked_by")
             .order_by("-granted_at", "-pk")),
    (col(_("ID"), "pk"), Column(_("Financier"), lambda c: org(c.financier)), Column(_("Debtor"), lambda c: org(c.debtor)),
     Column(_("Supplier"), lambda c: org(c.supplier)), Column(_("Amount"), _money("amount"), css="num"),
     col(_("Granted at"), "granted_at"), Column(_("Granted by"), lambda c: user(c.granted_by)),
     col(_("Revoked at"), "revoked_at"), Column(_("Revoked by"), lambda c: user(c.revoked_by))),
    (flag("live", _("Live"), Q(revoked_at__isnull=True)), organization("financier", "debtor", "supplier"), currency()),
    ("financier__legal_name", "debtor__legal_name"), "granted_at", date_label=_("Granted"),
)

FREEZE_REQUESTS = Dataset(
    "freeze-requests", _("Freeze requests"), _("Regulators' requests to freeze a bill, and the platform's decisions."),
    lambda: (FreezeRequest.objects.select_related("bill", "requested_by", "organization", "decided_by")
             .order_by("-requested_at", "-pk")),
    (col(_("ID"), "pk"), bill_col(_("Bill"), "bill"), Column(_("Requested by"), lambda r: user(r.requested_by)),
     Column(_("Organization"), lambda r: org(r.organization)), col(_("Reason"), "reason"), col(_("Requested at"), "requested_at"),
     coded(_("Status"), "status", FreezeStatus.choices), Column(_("Decided by"), lambda r: user(r.decided_by)), col(_("Decided at"), "decided_at"),
     col(_("Decision note"), "decision_note")),
    (choice("status", _("Status"), "status", FreezeStatus.choices), organization("organization", "bill__holder")),
    ("bill__number", "reason"), "requested_at", date_label=_("Requested"),
)

FLAGS = Dataset(
    "flags", _("Oversight flags"), _("Every flag the anomaly rules raised, with its evidence and acknowledgement."),
    lambda: (OversightFlag.objects.select_related("bill", "organization", "acknowledged_by")
             .order_by("-last_seen", "-pk")),
    (col(_("ID"), "pk"), coded(_("Rule"), "rule", Rule.choices), coded(_("Severity"), "severity", Severity.choices), col(_("Subject"), "subject", csv_only=True),
     bill_col(_("Bill"), "bill"), Column(_("Organization"), lambda f: org(f.organization)),
     col(_("Explanation"), "explanation"), col(_("Evidence"), "evidence", csv_only=True), col(_("First seen"), "first_seen"),
     col(_("Last seen"), "last_seen"), Column(_("Acknowledged by"), lambda f: user(f.acknowledged_by)),
     col(_("Acknowledged at"), "acknowledged_at"), col(_("Note"), "acknowledgement_note")),
    (choice("rule", _("Rule"), "rule", Rule.choices), choice("severity", _("Severity"), "severity", Severity.choices),
     flag("acknowledged", _("Acknowledged"), Q(acknowledged_at__isnull=False)), organization("organization")),
    ("subject", "explanation", "bill__number"), "last_seen", date_label=_("Last seen"),
)

DATASETS: dict[str, Dataset] = {d.key: d for d in (
    ORGANIZATIONS, INVOICES, BILLS, EVENTS, PURCHASES, OFFERS, SETTLEMENTS, LEDGER_ENTRIES, POSTINGS,
    CREDIT_PROFILES, CREDIT_SCORES, CREDIT_LIMITS, FREEZE_REQUESTS, FLAGS,
)}
