"""Pages of the regulator's data explorer: ``/oversight/data/`` lists the datasets, ``/oversight/data/<key>/``
shows one as a paginated table with its filter form and search box; ``?format=csv`` streams the whole
filtered list. Regulators and platform staff only (others 403, signed-out users to the login page).

Every input goes through the dataset's form: a bad value (a Unicode digit, a NUL byte, an impossible date)
answers 400 with the form's error, an unknown dataset 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from finance_portal.oversight import selectors
from finance_portal.oversight.explorer import DATASETS
from finance_portal.oversight.explorer_base import Dataset, csv_lines, export_rows

PAGE_SIZE = 50


def oversight_only(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not selectors.is_oversight_user(request.user):
            raise PermissionDenied("This is for regulators and platform staff.")
        return view(request, *args, **kwargs)

    return wrapped


def csv_response(header: list[str], rows: Any, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def page_number(request: HttpRequest) -> int | None:
    """The ``page`` parameter as a positive integer in ASCII digits; None when it is anything else."""
    raw = request.GET.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        return None
    return max(int(raw), 1)


def query_without(request: HttpRequest, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def bad_request(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, context, status=400)


@oversight_only
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "oversight/explorer_index.html", {"title": _("Data explorer"), "datasets": DATASETS.values()})


@oversight_only
def dataset_page(request: HttpRequest, key: str) -> HttpResponseBase:
    dataset: Dataset | None = DATASETS.get(key)
    if dataset is None:
        raise Http404("No such dataset.")
    return dataset_response(request, dataset, "oversight/explorer_dataset.html", {"datasets": DATASETS.values()})


def dataset_response(request: HttpRequest, dataset: Dataset, template: str,
                     extra: dict[str, Any] | None = None) -> HttpResponseBase:
    """A dataset as a page of ``template`` (with its filter form) or, with ``?format=csv``, a streamed CSV."""
    fmt = request.GET.get("format", "html")
    form = dataset.form(request.GET)
    context: dict[str, Any] = {
        "title": dataset.title, "dataset": dataset, "form": form, "headers": dataset.headers(),
        "query": query_without(request, "page", "format"), **(extra or {}),
    }
    if fmt not in ("html", "csv"):
        context["problem"] = _("The format is html or csv.")
        return bad_request(request, template, context)
    if not form.is_valid():
        if fmt == "csv":
            return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain; charset=utf-8")
        return bad_request(request, template, context)
    qs = dataset.filtered(form.cleaned_data)
    if fmt == "csv":
        return csv_response(dataset.headers(csv=True), export_rows(dataset, qs), f"{dataset.key}.csv")
    number = page_number(request)
    if number is None:
        context["problem"] = _("The page is a number written with the digits 0-9.")
        return bad_request(request, template, context)
    page = Paginator(qs, PAGE_SIZE).get_page(number)
    context.update(page=page, rows=[dataset.cells(obj) for obj in page.object_list])
    return render(request, template, context)
