"""Bulk-import pages: the upload form with the column layout, the job page whose progress bar follows the
worker (an htmx partial polled every second until the job ends), the error report as CSV, and the template
CSV. A job is seen by its own organization only: anyone else gets 404, oversight included.
"""

from __future__ import annotations

import csv
import datetime

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from finance_portal.errors import DomainError, NotFound
from finance_portal.users import signed_in_user
from invoices.forms import InvoiceImportForm
from invoices.import_services import import_job_create
from invoices.imports import COLUMNS, import_max_rows, template_csv
from invoices.models import ImportJob, ImportStatus
from invoices.selectors import import_job_get_for, import_jobs_of
from invoices.services import invoice_check_can_register

RECENT_JOBS = 10
REQUEUE_AFTER = datetime.timedelta(seconds=30)  # a job still queued this long gets its doorbell rung again
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _job_or_404(request: HttpRequest, job_id: str) -> ImportJob:
    try:
        return import_job_get_for(user=request.user, job_id=job_id)
    except NotFound:
        raise Http404("No such import.") from None


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    refusal: DomainError | None = None
    try:
        invoice_check_can_register(actor=signed_in_user(request))
    except DomainError as err:
        refusal = err
    form = InvoiceImportForm(request.POST or None, request.FILES or None)
    context: dict[str, object] = {
        "title": _("Import invoices from a spreadsheet"),
        "refusal": refusal,
        "form": form,
        "columns": COLUMNS,
        "max_rows": import_max_rows(),
        "jobs": import_jobs_of(request.user).select_related("uploaded_by")[:RECENT_JOBS],
    }
    if refusal is not None:
        return render(request, "invoices/import.html", context, status=refusal.http_status)
    if request.method == "POST":
        if form.is_valid():
            try:
                job = import_job_create(actor=signed_in_user(request), file=form.cleaned_data["file"])
            except DomainError as err:
                form.add_domain_error(err)
                return render(request, "invoices/import.html", context, status=err.http_status)
            return redirect("invoices:import_job", job_id=job.pk)
        return render(request, "invoices/import.html", context, status=400)
    return render(request, "invoices/import.html", context)


@login_required
@require_GET
def import_job(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _job_or_404(request, job_id)
    _ring_again_if_forgotten(job)
    return render(request, "invoices/import_job.html", {"title": _("Invoice import"), "job": job})


@login_required
@require_GET
def import_job_progress(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _job_or_404(request, job_id)
    _ring_again_if_forgotten(job)
    return render(request, "invoices/_import_progress.html", {"job": job})


@login_required
@require_GET
def import_job_errors_csv(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _job_or_404(request, job_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    response.write("\ufeff")  # Excel reads the file as UTF-8 with the byte-order mark
    writer = csv.writer(response, lineterminator="\r\n")
    writer.writerow(["row", "field", "message"])
    for row_number, field, message in job.errors.values_list("row_number", "field", "message").iterator():
        writer.writerow([row_number, csv_safe(field), csv_safe(message)])
    return response


@login_required
@require_GET
def import_template_csv(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="invoice-import-template.csv"'
    return response


def csv_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula (= + - @, tab, CR) gets a quote first."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _ring_again_if_forgotten(job: ImportJob) -> None:
    """A job queued for long lost its message (Redis restarted?): queue it again, at most once a minute.
    Running it twice is harmless: the worker claims a job once."""
    if job.status != ImportStatus.QUEUED or timezone.now() - job.created_at < REQUEUE_AFTER:
        return
    if cache.add(f"invoices:import-requeue:{job.pk}", 1, timeout=60):
        from invoices.tasks import import_run

        import_run.delay(str(job.pk))
