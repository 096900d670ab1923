"""REST API of invoices (under /api/v1/): list and upload, detail, permission-checked download, buyer verdict.

Serializers only shape input and output; every rule is in ``invoices.services`` and every visibility
decision in ``invoices.selectors``. Domain errors become 4xx JSON in the project's exception handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, pagination, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from finance_portal.errors import ERROR_SCHEMA
from finance_portal.filters import AsciiDateFilter
from finance_portal.users import signed_in_user
from invoices.files import ACCEPTED, accepted_labels, file_response
from invoices.models import Invoice, InvoiceStatus
from invoices.selectors import invoice_get_for, invoices_visible_to
from invoices.services import VERDICTS, invoice_register, invoice_verify

# ---------------------------------------------------------------------------------------------------------
# Serializers
# ---------------------------------------------------------------------------------------------------------


class OrganizationBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    legal_name = serializers.CharField(read_only=True)
    credit_code = serializers.CharField(read_only=True)


class InvoiceSerializer(serializers.ModelSerializer):
    seller = OrganizationBriefSerializer(read_only=True)
    buyer = OrganizationBriefSerializer(read_only=True)
    file_url = serializers.SerializerMethodField(help_text="Permission-checked download of the file.")

    class Meta:
        model = Invoice
        fields = [
            "id",
            "invoice_code",
            "invoice_number",
            "seller",
            "buyer",
            "issue_date",
            "amount_excl_tax",
            "tax_amount",
            "total_amount",
            "currency",
            "status",
            "verified_at",
            "verification_note",
            "file_sha256",
            "file_size",
            "content_type",
            "original_filename",
            "file_url",
            "created_at",
        ]
        read_only_fields = fields

    def get_file_url(self, obj: Invoice) -> str:
        return reverse("api-invoice-file", kwargs={"pk": obj.pk})


@extend_schema_field({"type": "string", "format": "binary"})
class UploadedFileField(serializers.FileField):
    """A file part of a multipart body (described as binary even without split request components)."""


class InvoiceUploadSerializer(serializers.Serializer):
    """Shape only: the service checks amounts, dates, buyer, file type and duplicates."""

    file = UploadedFileField(
        allow_empty_file=False,
        help_text="The e-invoice: PDF, OFD, XML, PNG or JPEG, recognised by content; at most INVOICE_MAX_BYTES "
        "(10 MiB by default).",
    )
    invoice_code = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="10 or 12 digits; empty for a fully digital invoice."
    )
    invoice_number = serializers.CharField(
        help_text="8 ASCII digits with a 10- or 12-digit invoice code; 20 digits and no code for a 数电票."
    )
    buyer_credit_code = serializers.CharField(
        help_text="Unified social credit code of the buyer: a KYC-approved core enterprise on the platform."
    )
    issue_date = serializers.DateField(help_text="YYYY-MM-DD, not in the future.")
    amount_excl_tax = serializers.CharField(help_text="Decimal string, > 0, at most the currency's decimals.")
    tax_amount = serializers.CharField(help_text="Decimal string, >= 0.")
    total_amount = serializers.CharField(help_text="Decimal string: amount_excl_tax + tax_amount exactly.")
    currency = serializers.CharField(required=False, help_text="ISO 4217 code; CNY by default.")


class InvoiceVerifySerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=list(VERDICTS))
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required when disputing; at most 500 characters."
    )


INVOICE_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The invoice's id.")


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented 4xx answers of an operation, all in the project's one error shape."""
    text = {
        400: "Invalid input: `field` names the first field at fault, `detail` the rule; every field's messages "
        "are listed under its name.",
        403: "Not logged in (`not_authenticated`), or the organization may not do this (KYC, role, not the buyer).",
        404: "No such invoice within the caller's reach; in a list, no such page (`not_found`).",
        409: "Duplicate invoice or file (`duplicate_invoice`), a 数电票 number already registered under another "
        "code (`invoice_number_taken`), or a verdict that does not follow the status (`invoice_state`).",
        415: "The upload is not multipart/form-data.",
    }
    return {code: OpenApiResponse(ERROR_SCHEMA, description=text[code]) for code in codes}


# ---------------------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------------------


_MAX_ID = 2**63 - 1  # BigAutoField


class _AsciiIdField(forms.IntegerField):
    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value and not (value.isascii() and value.isdigit()):
            raise DjangoValidationError("An organization id is a whole number in ASCII digits.", code="invalid")
        return super().to_python(value)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": _MAX_ID})
class OrganizationIdFilter(django_filters.NumberFilter):
    """An organization's id: a whole number in ASCII digits within the id column's range, else a 400."""

    field_class = _AsciiIdField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, min_value=1, max_value=_MAX_ID, **kwargs)


class InvoiceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices)
    currency = django_filters.CharFilter(lookup_expr="iexact")
    buyer = OrganizationIdFilter(field_name="buyer_id", help_text="Buyer organization id.")
    seller = OrganizationIdFilter(field_name="seller_id", help_text="Seller organization id.")
    buyer_credit_code = django_filters.CharFilter(field_name="buyer__credit_code", lookup_expr="iexact")
    seller_credit_code = django_filters.CharFilter(field_name="seller__credit_code", lookup_expr="iexact")
    issued_after = AsciiDateFilter(field_name="issue_date", lookup_expr="gte")
    issued_before = AsciiDateFilter(field_name="issue_date", lookup_expr="lte")

    class Meta:
        model = Invoice
        fields: list[str] = []


class InvoicePagination(pagination.PageNumberPagination):
    """``page_size`` from 1 to 200 (larger asks get 200); anything else is a 400, not silently the default."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: [
                f"A whole number of invoices per page, from 1 to {self.max_page_size}, in ASCII digits."]})
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters


class InvoiceListCreateView(generics.ListAPIView):
    """Invoices the caller may see (seller's and buyer's members; regulators and platform staff: all)."""

    serializer_class = InvoiceSerializer
    pagination_class = InvoicePagination
    filterset_class = InvoiceFilter
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return invoices_visible_to(self.request.user)

    @extend_schema(
        summary="List the invoices the caller may see",
        responses={200: InvoiceSerializer(many=True), **_errors(400, 403, 404)},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Upload and register an e-invoice (supplier)",
        description=f"Multipart upload of the file plus its fields. Accepted: {accepted_labels()}, by content. "
        "The same invoice is registered once on the platform: an old-format invoice by its code + 8-digit number "
        "(numbers restart under each code), a fully digitalised invoice (数电票) by its 20-digit number alone, "
        "with no code; the same file (SHA-256) once too. Amounts are decimal strings in ASCII digits.",
        request={"multipart/form-data": InvoiceUploadSerializer},
        responses={201: InvoiceSerializer, **_errors(400, 403, 409, 415)},
    )
    def post(self, request: Request) -> Response:
        data = InvoiceUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        invoice = invoice_register(
            actor=signed_in_user(request),
            file=fields["file"],
            invoice_code=fields["invoice_code"],
            invoice_number=fields["invoice_number"],
            buyer_credit_code=fields["buyer_credit_code"],
            issue_date=fields["issue_date"],
            amount_excl_tax=fields["amount_excl_tax"],
            tax_amount=fields["tax_amount"],
            total_amount=fields["total_amount"],
            currency=fields.get("currency") or settings.DEFAULT_CURRENCY,
        )
        return Response(InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)


class InvoiceDetailView(generics.RetrieveAPIView):
    serializer_class = InvoiceSerializer

    def get_object(self) -> Invoice:
        return invoice_get_for(user=self.request.user, invoice_id=self.kwargs["pk"])

    @extend_schema(summary="One invoice", parameters=[INVOICE_ID], responses={200: InvoiceSerializer, **_errors(403, 404)})
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class InvoiceFileView(APIView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        # A download answers whatever the client accepts; only an error body falls back to JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Download the invoice file (attachment)",
        parameters=[INVOICE_ID],
        description="The stored file as an attachment, with the type detected at upload.",
        responses={**{(200, kind.content_type): OpenApiTypes.BINARY for kind in ACCEPTED}, **_errors(403, 404)},
    )
    def get(self, request: Request, pk: str) -> FileResponse:
        return file_response(invoice_get_for(user=request.user, invoice_id=pk))


class InvoiceVerifyView(APIView):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        summary="The buyer verifies or disputes the invoice",
        parameters=[INVOICE_ID],
        request=InvoiceVerifySerializer,
        responses={200: InvoiceSerializer, **_errors(400, 403, 404, 409)},
    )
    def post(self, request: Request, pk: str) -> Response:
        # The raw body goes to the service, which checks reach and role before the inputs: someone else's
        # invoice answers 404 and a seller 403, whatever the body (a 400 first would confirm the invoice exists).
        body = request.data if isinstance(request.data, Mapping) else {}
        verdict, note = body.get("verdict"), body.get("note")
        invoice = invoice_verify(
            invoice_id=pk, actor=signed_in_user(request),
            verdict="" if verdict is None else str(verdict), note="" if note is None else str(note),
        )
        return Response(InvoiceSerializer(invoice).data)
