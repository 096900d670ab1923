"""The regulator's data explorer: every dataset of the platform, read-only, in one registry (``DATASETS``).

One entry per dataset: its queryset (with ``select_related``), its columns, its filters, its search fields and
the date it is filtered by. The pages and the CSV export (``explorer_views``) read nothing but this registry,
so a new dataset is one entry here. The building blocks (columns, filters, the form, CSV) are in
``explorer_base``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import DecimalField, Exists, OuterRef, Q, Sum

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
    col,
    currency,
    flag,
    money,
    org,
    organization,
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
    touched = Posting.objects.filter(entry=OuterRef("pk"), account__organization__credit_code=code)
    return Q(organization__credit_code=code) | Q(Exists(touched))


def _kind(value: str) -> Q:
    return Q(**{kind_field(value): True})


ORGANIZATIONS = Dataset(
    "organizations", "Organizations", "Every organization on the platform, its kinds and KYC status.",
    lambda: Organization.objects.order_by("legal_name", "pk"),
    (col("ID", "pk"), col("Legal name", "legal_name"), col("Credit code", "credit_code"),
     col("Kinds", "kind_labels"), col("KYC status", "kyc_status"), col("KYC reviewed at", "kyc_reviewed_at"),
     col("KYC note", "kyc_note", csv_only=True), col("Created at", "created_at")),
    (choice("kyc_status", "KYC status", "kyc_status", KycStatus.choices),
     Filter("kind", choice("kind", "Kind", "", OrganizationKind.choices).make_field, _kind),
     organization("", label="Credit code")),
    ("legal_name", "credit_code"), "created_at", date_label="Created",
)

INVOICES = Dataset(
    "invoices", "Invoices", "Every registered e-invoice, its amounts, file hash and the buyer's verdict.",
    lambda: Invoice.objects.select_related("seller", "buyer", "verified_by").order_by("-created_at", "pk"),
    (col("ID", "pk", csv_only=True), col("Invoice code", "invoice_code"), col("Invoice number", "invoice_number"),
     Column("Seller", lambda i: org(i.seller)), Column("Buyer", lambda i: org(i.buyer)),
     col("Issue date", "issue_date"), Column("Amount excl. tax", _money("amount_excl_tax"), css="num"),
     Column("Tax", _money("tax_amount"), css="num"), Column("Total", _money("total_amount"), css="num"), col("Status", "status"),
     Column("Verified at", lambda i: utc(i.verified_at)), Column("Verified by", lambda i: user(i.verified_by)),
     col("File SHA-256", "file_sha256", csv_only=True), col("Created at", "created_at")),
    (choice("status", "Status", "status", InvoiceStatus.choices), organization("seller", "buyer"), currency()),
    ("invoice_number", "invoice_code", "seller__legal_name", "buyer__legal_name", "file_sha256"),
    "issue_date", date_is_datetime=False, date_label="Issued",
)

BILLS = Dataset(
    "bills", "Bills", "Every digital bill: parties, face, maturity and state.",
    lambda: Bill.objects.select_related("creditor", "debtor", "holder", "parent").order_by("-created_at", "pk"),
    (col("ID", "pk", csv_only=True), bill_col("Number", ""), col("State", "state"), Column("Creditor", lambda b: org(b.creditor)),
     Column("Debtor", lambda b: org(b.debtor)), Column("Holder", lambda b: org(b.holder)),
     Column("Face", _money("face"), css="num"), col("Issue date", "issue_date"), col("Maturity date", "maturity_date"),
     col("Asking rate", "asking_rate"), bill_col("Parent", "parent"), col("Reference", "reference", csv_only=True),
     col("Created at", "created_at"), col("Updated at", "updated_at", csv_only=True)),
    (choice("state", "State", "state", BillState.choices), organization("creditor", "debtor", "holder"), currency()),
    ("number", "reference", "creditor__legal_name", "debtor__legal_name", "holder__legal_name"),
    "maturity_date", date_is_datetime=False, date_label="Maturity",
)

EVENTS = Dataset(
    "events", "Bill events", "Every transition of every bill, with its hash and its anchor.",
    lambda: BillEvent.objects.select_related("bill", "actor", "actor_user", "anchor").order_by("-occurred_at", "-pk"),
    (col("ID", "pk"), bill_col("Bill", "bill"), col("Seq", "seq"), col("Type", "type"),
     col("From", "from_state"), col("To", "to_state"), Column("Actor", lambda e: org(e.actor)),
     Column("Actor user", lambda e: user(e.actor_user)), col("Occurred at", "occurred_at"),
     col("Amounts", "amounts", csv_only=True), col("Details", "details", csv_only=True),
     col("Prev hash", "prev_hash", csv_only=True), col("Hash", "hash")),
    (choice("type", "Type", "type", EventType.choices), organization("actor", "bill__debtor")),
    ("bill__number", "hash"), "occurred_at", date_label="Occurred",
)

PURCHASES = Dataset(
    "purchases", "Purchases", "Every claim bought: seller, buyer, rate, interest and price.",
    lambda: BillPurchase.objects.select_related("bill", "seller", "buyer").order_by("-purchased_at", "-pk"),
    (col("ID", "pk"), bill_col("Bill", "bill"), Column("Seller", lambda p: org(p.seller)),
     Column("Buyer", lambda p: org(p.buyer)), Column("Face", _money("face"), css="num"), col("Rate", "rate"),
     Column("Interest", _money("interest"), css="num"), Column("Price", _money("price"), css="num"),
     col("Purchased at", "purchased_at"), col("Offer", "offer_id"), col("Journal entry", "entry_id")),
    (organization("seller", "buyer"), currency()),
    ("bill__number", "seller__legal_name", "buyer__legal_name"), "purchased_at", date_label="Purchased",
)

OFFERS = Dataset(
    "offers", "Offers", "Every financier's offer on a listed bill and what became of it.",
    lambda: BillOffer.objects.select_related("bill", "financier").order_by("-created_at", "-pk"),
    (col("ID", "pk"), bill_col("Bill", "bill"), Column("Financier", lambda o: org(o.financier)),
     col("Rate", "rate"), Column("Bill face", lambda o: money(o.bill.face, o.bill.currency), css="num"),
     col("Status", "status"), col("Created at", "created_at"), col("Expires at", "expires_at"),
     col("Closed at", "closed_at")),
    (choice("status", "Status", "status", OfferStatus.choices), organization("financier", "bill__holder"),
     currency("bill__currency")),
    ("bill__number", "financier__legal_name"), "created_at", date_label="Made",
)

SETTLEMENTS = Dataset(
    "settlements", "Settlements", "Every bill paid: payer, payee, face, kind and days late.",
    lambda: BillSettlement.objects.select_related("bill", "payer", "payee").order_by("-settled_at", "-pk"),
    (col("ID", "pk"), bill_col("Bill", "bill"), Column("Payer", lambda s: org(s.payer)),
     Column("Payee", lambda s: org(s.payee)), Column("Face", _money("face"), css="num"), col("Kind", "kind"),
     col("Days late", "days_late"), col("Settled at", "settled_at"), col("Journal entry", "entry_id")),
    (choice("kind", "Kind", "kind", SettlementKind.choices), organization("payer", "payee"), currency()),
    ("bill__number", "payer__legal_name", "payee__legal_name"), "settled_at", date_label="Settled",
)

LEDGER_ENTRIES = Dataset(
    "ledger-entries", "Ledger entries", "Every journal entry of the cash ledger, with the money it moved.",
    lambda: (JournalEntry.objects.select_related("organization", "created_by", "reverses")
             .annotate(total=Sum("postings__amount", filter=Q(postings__amount__gt=0),
                                 output_field=DecimalField(max_digits=20, decimal_places=2)))
             .order_by("-created_at", "-pk")),
    (col("ID", "pk"), col("Kind", "kind"), Column("Amount moved", _entry_total, css="num"), col("Memo", "memo"),
     col("Reference", "reference"), Column("Organization", lambda e: org(e.organization)),
     col("Reverses", "reverses_id"), col("Created at", "created_at"), Column("Created by", lambda e: user(e.created_by))),
    (choice("kind", "Kind", "kind", EntryKind.choices), Filter("org", organization().make_field, _entry_org),
     currency()),
    ("memo", "reference"), "created_at", date_label="Posted",
)

POSTINGS = Dataset(
    "postings", "Ledger postings", "Every line of every journal entry: the account and the signed amount.",
    lambda: (Posting.objects.select_related("entry", "account", "account__organization")
             .order_by("-entry__created_at", "-entry_id", "pk")),
    (col("ID", "pk"), col("Entry", "entry_id"), col("Entry kind", "entry.kind"), col("Account", "account_id"),
     col("Account kind", "account.kind"), Column("Account holder", lambda p: org(p.account.organization)),
     Column("Amount", _money("amount"), css="num"), Column("Posted at", lambda p: utc(p.entry.created_at))),
    (choice("entry_kind", "Entry kind", "entry__kind", EntryKind.choices),
     choice("account_kind", "Account kind", "account__kind", AccountKind.choices),
     organization("account__organization"), currency()),
    ("entry__memo", "entry__reference"), "entry__created_at", date_label="Posted",
)

CREDIT_PROFILES = Dataset(
    "credit-profiles", "Credit profiles", "Each organization's profile derived from its bill history.",
    lambda: CreditProfile.objects.select_related("organization", "largest_debtor").order_by("organization__legal_name"),
    (Column("Organization", lambda p: org(p.organization)), col("Bills", "bills_count"), col("Drawn", "bills_drawn"),
     col("Settled on time", "settled_on_time"), col("Settled late", "settled_late"),
     col("Days late (total)", "days_late_total"), col("Days late (max)", "days_late_max"), col("Overdue", "overdue"),
     col("Defaulted", "defaulted"), Column("Largest debtor", lambda p: org(p.largest_debtor)),
     col("Largest debtor share", "largest_debtor_share"), col("Age (days)", "age_days"),
     col("Volume by quarter", "volume_by_quarter", csv_only=True), col("Computed at", "computed_at")),
    (organization("organization"),), ("organization__legal_name",), "computed_at", date_label="Computed",
)

CREDIT_SCORES = Dataset(
    "credit-scores", "Credit scores", "Every score computed, with the factors that moved it.",
    lambda: CreditScore.objects.select_related("organization").order_by("-computed_at", "-pk"),
    (col("ID", "pk"), Column("Organization", lambda s: org(s.organization)), col("Score", "score"),
     col("Formula", "formula"), col("Computed at", "computed_at"), col("Factors", "factors", csv_only=True)),
    (organization("organization"),), ("organization__legal_name",), "computed_at", date_label="Computed",
)

CREDIT_LIMITS = Dataset(
    "credit-limits", "Credit limits", "Limits financiers granted per debtor (or per debtor and supplier).",
    lambda: (CreditLimit.objects.select_related("financier", "debtor", "supplier", "granted_by", "revoked_by")
             .order_by("-granted_at", "-pk")),
    (col("ID", "pk"), Column("Financier", lambda c: org(c.financier)), Column("Debtor", lambda c: org(c.debtor)),
     Column("Supplier", lambda c: org(c.supplier)), Column("Amount", _money("amount"), css="num"),
     col("Granted at", "granted_at"), Column("Granted by", lambda c: user(c.granted_by)),
     col("Revoked at", "revoked_at"), Column("Revoked by", lambda c: user(c.revoked_by))),
    (flag("live", "Live", Q(revoked_at__isnull=True)), organization("financier", "debtor", "supplier"), currency()),
    ("financier__legal_name", "debtor__legal_name"), "granted_at", date_label="Granted",
)

FREEZE_REQUESTS = Dataset(
    "freeze-requests", "Freeze requests", "Regulators' requests to freeze a bill, and the platform's decisions.",
    lambda: (FreezeRequest.objects.select_related("bill", "requested_by", "organization", "decided_by")
             .order_by("-requested_at", "-pk")),
    (col("ID", "pk"), bill_col("Bill", "bill"), Column("Requested by", lambda r: user(r.requested_by)),
     Column("Organization", lambda r: org(r.organization)), col("Reason", "reason"), col("Requested at", "requested_at"),
     col("Status", "status"), Column("Decided by", lambda r: user(r.decided_by)), col("Decided at", "decided_at"),
     col("Decision note", "decision_note")),
    (choice("status", "Status", "status", FreezeStatus.choices), organization("organization", "bill__holder")),
    ("bill__number", "reason"), "requested_at", date_label="Requested",
)

FLAGS = Dataset(
    "flags", "Oversight flags", "Every flag the anomaly rules raised, with its evidence and acknowledgement.",
    lambda: (OversightFlag.objects.select_related("bill", "organization", "acknowledged_by")
             .order_by("-last_seen", "-pk")),
    (col("ID", "pk"), col("Rule", "rule"), col("Severity", "severity"), col("Subject", "subject", csv_only=True),
     bill_col("Bill", "bill"), Column("Organization", lambda f: org(f.organization)),
     col("Explanation", "explanation"), col("Evidence", "evidence", csv_only=True), col("First seen", "first_seen"),
     col("Last seen", "last_seen"), Column("Acknowledged by", lambda f: user(f.acknowledged_by)),
     col("Acknowledged at", "acknowledged_at"), col("Note", "acknowledgement_note")),
    (choice("rule", "Rule", "rule", Rule.choices), choice("severity", "Severity", "severity", Severity.choices),
     flag("acknowledged", "Acknowledged", Q(acknowledged_at__isnull=False)), organization("organization")),
    ("subject", "explanation", "bill__number"), "last_seen", date_label="Last seen",
)

DATASETS: dict[str, Dataset] = {d.key: d for d in (
    ORGANIZATIONS, INVOICES, BILLS, EVENTS, PURCHASES, OFFERS, SETTLEMENTS, LEDGER_ENTRIES, POSTINGS,
    CREDIT_PROFILES, CREDIT_SCORES, CREDIT_LIMITS, FREEZE_REQUESTS, FLAGS,
)}
