"""Reads on invoices: who may see which invoice (DESIGN §8). Pages, the API and other apps use these.

The seller's and the buyer's members see an invoice; regulators and platform staff see all of them;
anyone else (financiers included) sees none here. Anything out of reach is "not found", never "forbidden",
so the answer does not tell whether it exists.
"""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from finance_portal.organizations.models import Organization
from finance_portal.organizations.selectors import membership_of, organizations_active
from finance_portal.users import Viewer
from invoices.errors import InvoiceNotFound
from invoices.models import ImportJob, Invoice


def _base() -> QuerySet[Invoice]:
    return Invoice.objects.select_related("seller", "buyer")


def sees_all_invoices(user: Viewer) -> bool:
    """Regulators and platform staff read every invoice."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    membership = membership_of(user)
    return membership is not None and (membership.organization.is_regulator or membership.organization.is_platform)


def invoices_visible_to(user: Viewer) -> QuerySet[Invoice]:
    """Invoices ``user`` may read: as a member of the seller or the buyer, or all for oversight."""
    if sees_all_invoices(user):
        return _base()
    membership = membership_of(user)
    if membership is None:
        return Invoice.objects.none()
    org_id = membership.organization_id
    return _base().filter(Q(seller_id=org_id) | Q(buyer_id=org_id))


def invoice_get_for(*, user: Viewer, invoice_id: object) -> Invoice:
    """The invoice if ``user`` may read it; ``NotFound`` otherwise, also for a malformed id."""
    try:
        pk = invoice_id if isinstance(invoice_id, uuid.UUID) else uuid.UUID(str(invoice_id))
    except (TypeError, ValueError, AttributeError):
        raise InvoiceNotFound(gettext("No such invoice.")) from None
    invoice = invoices_visible_to(user).filter(pk=pk).first()
    if invoice is None:
        raise InvoiceNotFound(gettext("No such invoice."))
    return invoice


def invoice_role_of(invoice: Invoice, organization: Organization | None) -> str | None:
    """``"seller"``, ``"buyer"`` or None: which side of ``invoice`` the organization is on."""
    if organization is None:
        return None
    if invoice.seller_id == organization.pk:
        return "seller"
    if invoice.buyer_id == organization.pk:
        return "buyer"
    return None


def invoice_buyer_candidates(seller: Organization | None) -> QuerySet[Organization]:
    """Core enterprises an invoice may name as buyer (KYC approved, not the seller), for pick lists."""
    qs = organizations_active().filter(is_core_enterprise=True)
    if seller is not None:
        qs = qs.exclude(pk=seller.pk)
    return qs.order_by("legal_name")


def import_jobs_of(user: Viewer) -> QuerySet[ImportJob]:
    """The bulk-import jobs of the user's organization, newest first; no one else's, oversight included."""
    membership = membership_of(user)
    if membership is None:
        return ImportJob.objects.none()
    return ImportJob.objects.filter(organization_id=membership.organization_id).defer("rows")


def import_job_get_for(*, user: Viewer, job_id: object) -> ImportJob:
    """The job if it belongs to the user's organization; ``NotFound`` otherwise, also for a malformed id."""
    try:
        pk = job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(str(job_id))
    except (TypeError, ValueError, AttributeError):
        raise InvoiceNotFound(gettext("No such import.")) from None
    job = import_jobs_of(user).filter(pk=pk).first()
    if job is None:
        raise InvoiceNotFound(gettext("No such import."))
    return job
