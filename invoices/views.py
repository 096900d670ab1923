"""Invoice pages: the organization's list, the supplier's upload form, the detail with the buyer's verdict,
and the permission-checked download. Every write goes through ``invoices.services``; every read through
``invoices.selectors``; anything out of reach is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from finance_portal.errors import DomainError, NotFound
from finance_portal.organizations.selectors import membership_of
from finance_portal.users import signed_in_user
from invoices.files import file_response
from invoices.forms import InvoiceUploadForm, InvoiceVerifyForm
from invoices.models import Invoice, InvoiceStatus
from invoices.selectors import (
    invoice_get_for,
    invoice_role_of,
    invoices_visible_to,
    sees_all_invoices,
)
from invoices.services import VERDICTS, invoice_check_can_register, invoice_register, invoice_verify

PAGE_SIZE = 50
# The fields each dropped file has of its own; the buyer and the currency come from the page's form.
DROP_FIELDS = ("invoice_code", "invoice_number", "issue_date", "amount_excl_tax", "tax_amount", "total_amount")


def _can_register(request: HttpRequest) -> DomainError | None:
    """None if the user may register invoices, else the service's refusal."""
    try:
        invoice_check_can_register(actor=signed_in_user(request))
    except DomainError as err:
        return err
    return None


def _get_or_404(request: HttpRequest, invoice_id: str) -> Invoice:
    try:
        return invoice_get_for(user=request.user, invoice_id=invoice_id)
    except NotFound:
        raise Http404("No such invoice.") from None


@login_required
@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    invoices = invoices_visible_to(request.user)
    status = request.GET.get("status", "")
    if status in InvoiceStatus.values:
        invoices = invoices.filter(status=status)
    else:
        status = ""
    page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
    membership = membership_of(request.user)
    return render(
        request,
        "invoices/list.html",
        {
            "title": _("Invoices"),
            "page": page,
            "status": status,
            "statuses": InvoiceStatus.choices,
            "can_upload": _can_register(request) is None,
            "sees_all": sees_all_invoices(request.user),
            "own_org_id": membership.organization_id if membership else None,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def invoice_upload(request: HttpRequest) -> HttpResponse:
    refusal = _can_register(request)
    context: dict[str, object] = {
        "title": _("Upload an invoice"),
        "refusal": refusal,
        "drop_fields": DROP_FIELDS,
    }
    as_json = request.method == "POST" and _wants_json(request)
    if refusal is not None:
        if as_json:
            return JsonResponse({"ok": False, "message": refusal.message, "errors": {}}, status=refusal.http_status)
        return render(request, "invoices/upload.html", context, status=refusal.http_status)
    form = InvoiceUploadForm(request.POST or None, request.FILES or None)
    context["form"] = form
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                invoice = invoice_register(actor=signed_in_user(request), **data)
            except DomainError as err:
                form.add_domain_error(err)
                if as_json:
                    return _form_errors_json(form, err.http_status)
                return render(request, "invoices/upload.html", context, status=err.http_status)
            registered = _("Invoice No. %(number)s is registered.") % {"number": invoice.invoice_number}
            if as_json:
                url = reverse("invoices:detail", kwargs={"invoice_id": invoice.pk})
                return JsonResponse({"ok": True, "message": registered, "url": url}, status=201)
            messages.success(request, registered)
            return redirect("invoices:detail", invoice_id=invoice.pk)
        if as_json:
            return _form_errors_json(form, 400)
        return render(request, "invoices/upload.html", context, status=400)
    return render(request, "invoices/upload.html", context)


def _wants_json(request: HttpRequest) -> bool:
    """The drop zone (static/js/invoice_drop.js) asks for JSON; the plain form gets the page."""
    return request.headers.get("Accept", "").split(",")[0].strip() == "application/json"


def _form_errors_json(form: InvoiceUploadForm, status: int) -> JsonResponse:
    errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
    first = next((msgs[0] for msgs in errors.values() if msgs), _("The invoice was refused."))
    return JsonResponse({"ok": False, "message": first, "errors": errors}, status=status)


@login_required
@require_GET
def invoice_detail(request: HttpRequest, invoice_id: str) -> HttpResponse:
    invoice = _get_or_404(request, invoice_id)
    membership = membership_of(request.user)
    role = invoice_role_of(invoice, membership.organization if membership else None)
    can_verify = role == "buyer" and any(invoice.status in allowed for allowed in VERDICTS.values())
    return render(
        request,
        "invoices/detail.html",
        {
            "title": _("Invoice No. %(number)s") % {"number": invoice.invoice_number},
            "invoice": invoice,
            "role": role,
            "events": invoice.events.select_related("actor", "organization"),
            "verify_form": InvoiceVerifyForm() if can_verify else None,
        },
    )


@login_required
@require_POST
def invoice_verify_view(request: HttpRequest, invoice_id: str) -> HttpResponse:
    invoice = _get_or_404(request, invoice_id)
    form = InvoiceVerifyForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("invoices:detail", invoice_id=invoice.pk)
    try:
        invoice = invoice_verify(
            invoice_id=invoice.pk,
            actor=signed_in_user(request),
            verdict=form.cleaned_data["verdict"],
            note=form.cleaned_data["note"],
        )
    except NotFound:
        raise Http404("No such invoice.") from None
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("Invoice No. %(number)s is now %(status)s.") % {
            "number": invoice.invoice_number, "status": invoice.get_status_display().lower()})
    return redirect("invoices:detail", invoice_id=invoice.pk)


@login_required
@require_GET
def invoice_file(request: HttpRequest, invoice_id: str) -> FileResponse:
    invoice = _get_or_404(request, invoice_id)
    try:
        return file_response(invoice)
    except NotFound:
        raise Http404("The file of this invoice is not available.") from None
