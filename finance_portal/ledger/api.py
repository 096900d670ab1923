"""REST API of the ledger (under /api/v1/, DESIGN §10 "Money").

- ``GET accounts/``: the caller's organization's accounts with balances (platform members also see the
  platform's bank-clearing and fee accounts).
- ``GET accounts/{id}/statement/``: postings with running balance, ``?from=&to=`` (UTC dates, inclusive),
  paginated JSON or the whole statement as a CSV attachment with ``?format=csv``. A foreign account is 404.
- ``POST admin/deposits/`` and ``admin/withdrawals/``: platform staff only (403 for everyone else).

Serializers shape input and output only; rules live in ``finance_portal.ledger.services``. Amounts travel as
decimal strings both ways. Every 4xx body has the project's shape: ``detail``, ``code`` and, for a 400, the
``field`` at fault (``finance_portal.portal.api_errors``).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from finance_portal.errors import ERROR_SCHEMA
from finance_portal.ledger import selectors, services
from finance_portal.ledger.errors import LedgerInvalid, NotPlatformStaff
from finance_portal.ledger.models import JournalEntry, Posting

# ---------------------------------------------------------------------------------------------------------
# Serializers
# ---------------------------------------------------------------------------------------------------------


@extend_schema_field({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "example": "10000.00"})
class AmountField(serializers.Field):
    """A decimal sent as a JSON string (or integer), handed to the service as it came; floats are refused."""

    default_error_messages = {"float": "Send amounts as decimal strings such as \"100.00\", not JSON numbers "
                                       "with a fraction.", "type": "Send the amount as a decimal string."}

    def to_internal_value(self, data: object) -> str:
        if isinstance(data, bool | float):
            self.fail("float")
        if isinstance(data, int):
            return str(data)
        if not isinstance(data, str):
            self.fail("type")
        return data

    def to_representation(self, value: object) -> str:
        return str(value)


class AccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    currency = serializers.CharField()
    balance = serializers.DecimalField(max_digits=20, decimal_places=2, help_text="The sum of its postings.")


class PostingSerializer(serializers.ModelSerializer):
    account_kind = serializers.CharField(source="account.kind")
    organization = serializers.CharField(source="account.organization.credit_code", allow_null=True, default=None,
                                         help_text="The account owner's credit code; null for the platform's.")

    class Meta:
        model = Posting
        fields = ["account", "account_kind", "organization", "amount", "currency"]


class EntrySerializer(serializers.ModelSerializer):
    organization = serializers.CharField(source="organization.credit_code", allow_null=True, default=None)
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField(default_timezone=dt.UTC)
    postings = PostingSerializer(many=True)

    class Meta:
        model = JournalEntry
        fields = ["id", "kind", "currency", "memo", "reference", "organization", "reverses", "created_at",
                  "created_by", "postings"]


class BankMovementInput(serializers.Serializer):
    organization = serializers.CharField(max_length=32, help_text="The organization's unified social credit code.")
    amount = AmountField(help_text="A decimal string, greater than zero, at most the currency's minor unit.")
    currency = serializers.CharField(max_length=8, help_text="ISO 4217: CNY, USD, EUR, HKD or JPY.")
    reference = serializers.CharField(max_length=64, help_text="The bank's reference: used once per organization.")
    reason = serializers.CharField(max_length=500, help_text="Why: recorded with the entry.")


class StatementLineSerializer(serializers.Serializer):
    entry = serializers.IntegerField(source="entry_id")
    created_at = serializers.DateTimeField(source="entry.created_at", default_timezone=dt.UTC)
    kind = serializers.CharField(source="entry.kind")
    memo = serializers.CharField(source="entry.memo")
    reference = serializers.CharField(source="entry.reference")
    amount = serializers.DecimalField(max_digits=20, decimal_places=2, help_text="+ in, − out.")
    balance = serializers.DecimalField(max_digits=20, decimal_places=2, help_text="The balance after this line.")


@functools.cache
def _line_fields() -> list[tuple[str, serializers.Field]]:
    """The bound fields of ``StatementLineSerializer``, built once (they keep no per-call state)."""
    return [(name, field) for name, field in StatementLineSerializer().fields.items() if not field.write_only]


def statement_lines_data(lines: Iterable[Posting]) -> list[dict[str, Any]]:
    """``StatementLineSerializer(lines, many=True).data`` as plain dicts, each value from the serializer's own
    field: the same JSON without the serializer's per-row machinery (a page has 50 lines)."""
    fields = _line_fields()
    out = []
    for line in lines:
        row: dict[str, Any] = {}
        for name, field in fields:
            value = field.get_attribute(line)
            row[name] = None if value is None else field.to_representation(value)
        out.append(row)
    return out


class StatementSerializer(serializers.Serializer):
    account = AccountSerializer()
    date_from = serializers.DateField(allow_null=True)
    date_to = serializers.DateField(allow_null=True)
    opening_balance = serializers.DecimalField(max_digits=20, decimal_places=2)
    closing_balance = serializers.DecimalField(max_digits=20, decimal_places=2)
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = StatementLineSerializer(many=True)


# ---------------------------------------------------------------------------------------------------------
# Plumbing
# ---------------------------------------------------------------------------------------------------------


class IsPlatformStaff(BasePermission):
    """Signed-in platform staff pass; anyone else signed in gets the project's 403 body."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user.is_authenticated:
            return False
        if not selectors.is_platform_staff(request.user):
            raise NotPlatformStaff("Only staff of the platform operator may move money in or out of the platform.")
        return True


class FormatAsQueryParameter(DefaultContentNegotiation):
    """Always JSON: the statement reads ``?format=csv`` itself instead of DRF choosing a renderer by it."""

    def select_renderer(self, request: Request, renderers: Iterable[BaseRenderer],
                        format_suffix: str | None = None) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


def _valid(serializer: serializers.Serializer) -> dict[str, Any]:
    """The validated data, or the first field error in the project's error shape."""
    if not serializer.is_valid():
        field, messages = next(iter(serializer.errors.items()))
        message = messages[0] if isinstance(messages, list) and messages else str(messages)
        raise LedgerInvalid(str(message), field=None if field == "non_field_errors" else field)
    return dict(serializer.validated_data)


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _date(request: Request, name: str) -> dt.date | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise LedgerInvalid("Give a date as YYYY-MM-DD.", field=name) from None


def _csv_cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(statement: selectors.Statement) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(["date_utc", "entry", "kind", "reference", "memo", "amount", "balance", "currency"])
    currency = statement.account.currency
    for line in statement.lines.iterator(chunk_size=2000):
        entry = line.entry
        yield writer.writerow([
            entry.created_at.astimezone(dt.UTC).isoformat(), entry.pk, entry.kind, _csv_cell(entry.reference),
            _csv_cell(entry.memo), line.amount, line.balance, currency,  # type: ignore[attr-defined]
        ])


ERRORS = {
    400: OpenApiResponse(ERROR_SCHEMA, description="Bad input; the body names the field."),
    403: OpenApiResponse(ERROR_SCHEMA, description="Not signed in, or not platform staff."),
    404: OpenApiResponse(ERROR_SCHEMA, description="No such account among your organization's."),
    409: OpenApiResponse(ERROR_SCHEMA, description="Insufficient funds, or the bank reference was used."),
}


# ---------------------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------------------


class AccountListView(APIView):
    @extend_schema(summary="Your organization's accounts with their balances", tags=["money"],
                   responses={200: AccountSerializer(many=True), 403: ERRORS[403]})
    def get(self, request: Request) -> Response:
        accounts = selectors.with_balances(selectors.accounts_visible_to(request.user))
        return Response(AccountSerializer(accounts, many=True).data)


class _StatementPagination(PageNumberPagination):
    """Pages of a statement whose number of lines is known (``Statement.count``): no COUNT query."""

    def __init__(self, count: int) -> None:
        self.count = count

    def django_paginator_class(self, object_list: Any, per_page: int) -> selectors.CountedPaginator:  # type: ignore[override]
        return selectors.CountedPaginator(object_list, per_page, count=self.count)


class AccountStatementView(APIView):
    content_negotiation_class = FormatAsQueryParameter

    @extend_schema(
        summary="An account's statement: entries with running balance (JSON, or CSV with ?format=csv)",
        tags=["money"],
        parameters=[
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The account's id."),
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day (UTC), inclusive."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (UTC), inclusive."),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"],
                             description="csv: the whole statement as an attachment."),
            OpenApiParameter("page", OpenApiTypes.INT, description="JSON pages of 50 lines."),
        ],
        responses={
            (200, "application/json"): StatementSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
            400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404],
        },
    )
    def get(self, request: Request, pk: int) -> Response | StreamingHttpResponse:
        account = selectors.account_get_visible(user=request.user, account_id=pk)
        date_from, date_to = _date(request, "from"), _date(request, "to")
        if date_from and date_to and date_from > date_to:
            raise LedgerInvalid("The statement ends before it starts.", field="to")
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "csv"):
            raise LedgerInvalid("The format is json or csv.", field="format")
        statement = selectors.account_statement(account=account, date_from=date_from, date_to=date_to)
        if fmt == "csv":
            name = f"statement-{account.pk}-{date_from or 'start'}-{date_to or 'now'}.csv"
            response = StreamingHttpResponse(_csv_rows(statement), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        paginator = _StatementPagination(statement.count)
        page = paginator.paginate_queryset(statement.lines, request, view=self) or []
        current = {"id": account.pk, "kind": account.kind, "currency": account.currency,
                   "balance": statement.balance_now}
        return Response({
            "account": AccountSerializer(current).data,
            "date_from": date_from,
            "date_to": date_to,
            "opening_balance": str(statement.opening_balance),
            "closing_balance": str(statement.closing_balance),
            "count": paginator.page.paginator.count if paginator.page else 0,
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": statement_lines_data(page),
        })


def _record(request: Request, service: Any) -> Response:
    data = _valid(BankMovementInput(data=request.data))
    entry = service(actor=request.user, **data)
    entry = JournalEntry.objects.select_related("organization", "created_by").prefetch_related(
        "postings__account__organization").get(pk=entry.pk)
    return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)


_MOVEMENT_SCHEMA: dict[str, Any] = {"tags": ["money"], "request": BankMovementInput,
                                    "responses": {201: EntrySerializer, **ERRORS}}


class DepositView(APIView):
    permission_classes = [IsPlatformStaff]

    @extend_schema(summary="Record money received from the bank for an organization (platform staff)",
                   **_MOVEMENT_SCHEMA)
    def post(self, request: Request) -> Response:
        return _record(request, services.deposit_record)


class WithdrawalView(APIView):
    permission_classes = [IsPlatformStaff]

    @extend_schema(summary="Record money paid out to an organization's bank account (platform staff)",
                   **_MOVEMENT_SCHEMA)
    def post(self, request: Request) -> Response:
        return _record(request, services.withdrawal_record)
