"""REST API of bills (under /api/v1/, DESIGN §10): list, create, detail, one POST per transition, events,
the marketplace, and a core enterprise's direct issue.

Serializers shape input and output only: amounts and rates travel as decimal strings (a JSON float is
refused), and every rule is in ``bills.services``; what a user sees is decided in ``bills.selectors``. Domain
errors become 4xx JSON (``finance_portal.portal.api_errors``): 400 names the field, 403 a party that may not
act, 404 an object out of reach, 409 a refused transition with its rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from bills import rules, selectors, services
from bills.errors import BillNotFound
from bills.models import Bill, BillAllocation, BillEvent, BillPurchase, BillState

# ---------------------------------------------------------------------------------------------------------
# Fields and output serializers
# ---------------------------------------------------------------------------------------------------------


@extend_schema_field({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "example": "10000.00"})
class DecimalStringField(serializers.Field):
    """A decimal sent as a JSON string (or integer). Floats are refused: they have already lost the cents."""

    default_error_messages = {"float": "Send this as a decimal string such as \"10000.00\", not a JSON number "
                                       "with a fraction.", "type": "Send this as a decimal string."}

    def to_internal_value(self, data: object) -> str:
        if isinstance(data, bool) or isinstance(data, float):
            self.fail("float")
        if isinstance(data, int):
            return str(data)
        if not isinstance(data, str):
            self.fail("type")
        return data.strip()

    def to_representation(self, value: object) -> str:
        return str(value)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words a user can act on.")
    code = serializers.CharField(help_text="A stable code: invalid, not_found, wrong_state, matured, …")
    field = serializers.CharField(required=False, help_text="The input field at fault, for a 400.")


class BillPartySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    legal_name = serializers.CharField(read_only=True)
    credit_code = serializers.CharField(read_only=True)


class AnchoringSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["pending", "sent", "anchored", "failed"])
    block = serializers.IntegerField(allow_null=True)
    tx_hash = serializers.CharField(allow_null=True)
    log_index = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)


class BillEventSerializer(serializers.ModelSerializer):
    actor = BillPartySerializer(read_only=True)
    from_state = serializers.SerializerMethodField()
    anchoring = serializers.SerializerMethodField(help_text="Where this event's anchoring on chain stands.")

    class Meta:
        model = BillEvent
        fields = ["seq", "type", "from_state", "to_state", "actor", "occurred_at", "amounts", "details",
                  "prev_hash", "hash", "canonical", "anchoring"]

    def get_from_state(self, event: BillEvent) -> str | None:
        return event.from_state or None

    @extend_schema_field(AnchoringSerializer)
    def get_anchoring(self, event: BillEvent) -> dict[str, object]:
        return selectors.anchoring_status(event)


class BillSerializer(serializers.ModelSerializer):
    creditor = BillPartySerializer(read_only=True)
    debtor = BillPartySerializer(read_only=True)
    holder = BillPartySerializer(read_only=True)
    pending_holder = BillPartySerializer(read_only=True, allow_null=True)
    bill_key = serializers.CharField(read_only=True, help_text="keccak256 of the bill id: its key on chain.")

    class Meta:
        model = Bill
        fields = ["id", "number", "state", "face", "currency", "issue_date", "maturity_date", "creditor",
                  "debtor", "holder", "pending_holder", "asking_rate", "parent", "root", "reference", "bill_key",
                  "created_at", "updated_at"]


class AllocationSerializer(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.invoice_number", read_only=True)
    invoice_total = serializers.DecimalField(source="invoice.total_amount", max_digits=20, decimal_places=2,
                                             read_only=True)
    invoice_status = serializers.CharField(source="invoice.status", read_only=True)

    class Meta:
        model = BillAllocation
        fields = ["invoice", "invoice_number", "invoice_total", "invoice_status", "amount"]


class ChildSerializer(serializers.ModelSerializer):
    class Meta:
        model = Bill
        fields = ["id", "number", "state", "face"]


class PurchaseSerializer(serializers.ModelSerializer):
    buyer = BillPartySerializer(read_only=True)
    seller = BillPartySerializer(read_only=True)

    class Meta:
        model = BillPurchase
        fields = ["bill", "buyer", "seller", "face", "currency", "rate", "days", "basis", "interest", "price",
                  "purchased_at"]


class AnchoringSummarySerializer(serializers.Serializer):
    events = serializers.IntegerField()
    anchored = serializers.IntegerField()
    pending = serializers.IntegerField()
    failed = serializers.IntegerField()


class BillDetailSerializer(BillSerializer):
    allocations = serializers.SerializerMethodField(help_text="The invoices behind the bill (its root's, for a part).")
    children = ChildSerializer(many=True, read_only=True)
    purchases = PurchaseSerializer(many=True, read_only=True)
    anchoring = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField(help_text="The actions your organization may try now.")

    class Meta(BillSerializer.Meta):
        fields = [*BillSerializer.Meta.fields, "allocations", "children", "purchases", "anchoring", "actions"]

    @extend_schema_field(AllocationSerializer(many=True))
    def get_allocations(self, bill: Bill) -> list[dict[str, Any]]:
        return AllocationSerializer(selectors.bill_allocations(bill), many=True).data

    @extend_schema_field(AnchoringSummarySerializer)
    def get_anchoring(self, bill: Bill) -> dict[str, int]:
        return selectors.bill_anchoring_summary(bill)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, bill: Bill) -> list[str]:
        request = self.context.get("request")
        return selectors.bill_available_actions(bill=bill, user=request.user) if request else []


class BuyResultSerializer(BillDetailSerializer):
    purchase = serializers.SerializerMethodField()

    class Meta(BillDetailSerializer.Meta):
        fields = [*BillDetailSerializer.Meta.fields, "purchase"]

    @extend_schema_field(PurchaseSerializer)
    def get_purchase(self, bill: Bill) -> dict[str, Any]:
        return PurchaseSerializer(self.context["purchase"]).data


class InvoiceSummarySerializer(serializers.Serializer):
    count = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    verified = serializers.IntegerField(help_text="How many of them the debtor has verified.")


class ListingAnchoringSerializer(serializers.Serializer):
    events = serializers.IntegerField()
    unanchored = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["anchored", "pending"])


class QuoteSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    basis = serializers.IntegerField()
    interest = serializers.DecimalField(max_digits=20, decimal_places=2)
    price = serializers.DecimalField(max_digits=20, decimal_places=2)


class ListingSerializer(serializers.ModelSerializer):
    """What a financier needs to price a listed bill (DESIGN §8), and not more."""

    debtor = BillPartySerializer(read_only=True)
    invoices = serializers.SerializerMethodField()
    anchoring = serializers.SerializerMethodField()
    quote = serializers.SerializerMethodField(help_text="The price if bought today at the asking rate.")

    class Meta:
        model = Bill
        fields = ["id", "number", "debtor", "face", "currency", "issue_date", "maturity_date", "asking_rate",
                  "quote", "invoices", "anchoring"]

    @extend_schema_field(InvoiceSummarySerializer)
    def get_invoices(self, bill: Bill) -> dict[str, Any]:
        return InvoiceSummarySerializer(
            {"count": bill.invoice_count or 0, "total": bill.invoice_total, "verified": bill.invoices_verified or 0}
        ).data

    @extend_schema_field(ListingAnchoringSerializer)
    def get_anchoring(self, bill: Bill) -> dict[str, Any]:
        unanchored = bill.events_unanchored or 0
        return {"events": bill.events_total or 0, "unanchored": unanchored,
                "status": "anchored" if unanchored == 0 else "pending"}

    @extend_schema_field(QuoteSerializer(allow_null=True))
    def get_quote(self, bill: Bill) -> dict[str, Any] | None:
        quote = selectors.purchase_quote(bill=bill)
        return None if quote is None else QuoteSerializer(quote).data


# ---------------------------------------------------------------------------------------------------------
# Input serializers (structure only; the services check the rules)
# ---------------------------------------------------------------------------------------------------------


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500,
                                   help_text="Why: recorded in the bill's history.")


class RequiredReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why: recorded in the bill's history.")


class AllocationInput(serializers.Serializer):
    invoice = serializers.UUIDField(help_text="An invoice your organization registered.")
    amount = DecimalStringField(help_text="How much of the invoice backs this bill.")


class BillCreateInput(ReasonInput):
    invoice_allocations = serializers.ListField(child=AllocationInput(), allow_empty=False, max_length=50)
    maturity_date = serializers.DateField(help_text="After today, within BILL_MAX_TENOR_DAYS of today.")
    face = DecimalStringField(required=False, help_text="Optional: must equal the sum of the allocations.")
    currency = serializers.CharField(required=False, max_length=8, help_text="ISO 4217; the platform's default.")
    reference = serializers.CharField(required=False, allow_blank=True, max_length=64)


class BillIssueInput(ReasonInput):
    to = serializers.CharField(max_length=64, help_text="The supplier's unified social credit code.")
    face = DecimalStringField()
    maturity_date = serializers.DateField()
    currency = serializers.CharField(required=False, max_length=8)
    invoice_allocations = serializers.ListField(child=AllocationInput(), required=False, max_length=50)
    reference = serializers.CharField(required=False, allow_blank=True, max_length=64)


class TransferInput(ReasonInput):
    to = serializers.CharField(max_length=64, help_text="The receiver's unified social credit code.")


class SplitPartInput(serializers.Serializer):
    face = DecimalStringField()
    transfer_to = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                        help_text="Offer this part at once to this credit code (split-transfer).")


class SplitInput(ReasonInput):
    parts = serializers.ListField(child=SplitPartInput(), help_text="At least two parts summing to the face.")


class ListInput(ReasonInput):
    rate = DecimalStringField(help_text="Asking annual discount rate as a fraction: \"0.036\" is 3.6 %.")


class BuyInput(ReasonInput):
    rate = DecimalStringField(required=False, help_text="The asking rate you saw; refused (409) if it changed.")


# ---------------------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------------------


def _org_filter(field: str):  # type: ignore[no-untyped-def]
    def apply(queryset: QuerySet[Bill], name: str, value: str) -> QuerySet[Bill]:
        value = value.strip().upper()
        if value.isdigit() and len(value) < 18:
            return queryset.filter(**{f"{field}_id": int(value)})
        return queryset.filter(**{f"{field}__credit_code": value})

    return apply


class BillFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=BillState.choices, help_text="Repeat for several states.")
    debtor = django_filters.CharFilter(method=_org_filter("debtor"), help_text="Credit code or organization id.")
    holder = django_filters.CharFilter(method=_org_filter("holder"), help_text="Credit code or organization id.")
    maturity_after = django_filters.DateFilter(field_name="maturity_date", lookup_expr="gte")
    maturity_before = django_filters.DateFilter(field_name="maturity_date", lookup_expr="lte")

    class Meta:
        model = Bill
        fields = ["state", "debtor", "holder", "maturity_after", "maturity_before"]


class ListingFilter(django_filters.FilterSet):
    debtor = django_filters.CharFilter(method=_org_filter("debtor"), help_text="Credit code or organization id.")
    maturity_after = django_filters.DateFilter(field_name="maturity_date", lookup_expr="gte")
    maturity_before = django_filters.DateFilter(field_name="maturity_date", lookup_expr="lte")
    min_rate = django_filters.NumberFilter(field_name="asking_rate", lookup_expr="gte")

    class Meta:
        model = Bill
        fields = ["debtor", "maturity_after", "maturity_before", "min_rate"]


# ---------------------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------------------

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input; the body names the field."),
    403: OpenApiResponse(ErrorSerializer, description="Your organization may not do this (or is not KYC approved)."),
    404: OpenApiResponse(ErrorSerializer, description="No such bill, or not one you may see."),
    409: OpenApiResponse(ErrorSerializer, description="The bill's state or a rule refuses it; the body says which."),
}
ID_PARAM = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The bill's id.")


def _action_schema(summary: str, request: type[serializers.Serializer], response: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
    return extend_schema(
        summary=summary,
        request=request,
        responses={200: response or BillDetailSerializer, **ERRORS},
        parameters=[ID_PARAM, *kw.pop("parameters", [])],
        tags=["bills"],
        **kw,
    )


@extend_schema_view(
    list=extend_schema(summary="The bills your organization takes part in (all, for oversight roles)", tags=["bills"]),
    retrieve=extend_schema(summary="One bill", parameters=[ID_PARAM], responses={200: BillDetailSerializer,
                                                                                   404: ERRORS[404]}, tags=["bills"]),
    create=extend_schema(
        summary="Draft a bill from your invoices (suppliers)",
        request=BillCreateInput,
        responses={201: BillDetailSerializer, **ERRORS},
        tags=["bills"],
    ),
)
class BillViewSet(viewsets.GenericViewSet):
    """Bills, filtered to what the user may see; one POST per transition of DESIGN §3."""

    serializer_class = BillSerializer
    filterset_class = BillFilter
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Bill]:
        return selectors.bills_visible_to(self.request.user).order_by("-created_at", "id")

    def _detail(self, bill: Bill, code: int = status.HTTP_200_OK) -> Response:
        """The bill after the user's own action. A receiver who refused a transfer no longer sees the bill;
        it gets the bill as its refusal left it, and nothing later."""
        try:
            bill = selectors.bill_get_visible(user=self.request.user, bill_id=bill.pk)
        except BillNotFound:
            pass
        return Response(BillDetailSerializer(bill, context={"request": self.request}).data, status=code)

    @staticmethod
    def _raw_inputs(rule: rules.Transition, request: Request) -> dict[str, Any]:
        """The rule's inputs from the request, unvalidated: the service parses them after its guard, so a bad
        body never hides a 403, 404 or 409 (the input serializers document the body for the schema only)."""
        body = request.data if isinstance(request.data, Mapping) else {}
        kwargs = {name: body.get(name) for name in (*rule.inputs, "reason") if name != "idempotency_key"}
        if "idempotency_key" in rule.inputs:
            kwargs["idempotency_key"] = request.headers.get("Idempotency-Key")
        return kwargs

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(BillSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        bill = selectors.bill_get_visible(user=request.user, bill_id=pk)
        return Response(BillDetailSerializer(bill, context={"request": request}).data)

    def create(self, request: Request) -> Response:
        bill = services.bill_create(actor=request.user, **self._raw_inputs(rules.rule("create"), request))
        return self._detail(bill, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Issue a bill you owe directly to a supplier (core enterprises)",
        request=BillIssueInput,
        responses={201: BillDetailSerializer, **ERRORS},
        tags=["bills"],
    )
    @action(detail=False, methods=["post"], url_path="issue", filter_backends=[], pagination_class=None)
    def issue(self, request: Request) -> Response:
        bill = services.bill_issue(actor=request.user, **self._raw_inputs(rules.rule("issue"), request))
        return self._detail(bill, status.HTTP_201_CREATED)

    @extend_schema(
        summary="The bill's events in sequence order, with their anchoring",
        parameters=[ID_PARAM],
        responses={200: BillEventSerializer(many=True), 404: ERRORS[404]},
        tags=["bills"],
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def events(self, request: Request, pk: str) -> Response:
        bill = selectors.bill_get_visible(user=request.user, bill_id=pk)
        return Response(BillEventSerializer(selectors.bill_events(bill), many=True).data)

    def _act(self, rule: rules.Transition, request: Request, pk: str) -> Response:
        """Run one rule-book action. The body is not validated here: the service runs the guard first (404,
        403, 409 whatever the body says) and parses its own inputs after it (400 naming the field)."""
        result = services.SERVICES[rule.action](bill_id=pk, actor=request.user, **self._raw_inputs(rule, request))
        if isinstance(result, BillPurchase):
            bill = selectors.bill_get_visible(user=request.user, bill_id=result.bill_id)
            return Response(BuyResultSerializer(bill, context={"request": request, "purchase": result}).data)
        if not isinstance(result, Bill):  # a record of its own (an early-settlement request): the bill as it is
            result = selectors.bill_get_visible(user=request.user, bill_id=pk)
        return self._detail(result)


# The request body each action documents (structure only; the services check the rules).
ACTION_INPUTS: dict[str, type[serializers.Serializer]] = {
    "transfer": TransferInput,
    "split": SplitInput,
    "list": ListInput,
    "buy": BuyInput,
}
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Up to 128 printable characters; a retry with the same key has no second effect.",
)


def _action_view(rule: rules.Transition) -> Any:
    def view(self: BillViewSet, request: Request, pk: str) -> Response:
        return self._act(rule, request, pk)

    view.__name__ = view.__qualname__ = f"action_{rule.action}"
    view.__doc__ = rule.summary
    body = ACTION_INPUTS.get(rule.action) or (RequiredReasonInput if rule.reason_required else ReasonInput)
    schema = _action_schema(
        rule.summary,
        body,
        BuyResultSerializer if rule.action == "buy" else None,
        parameters=[IDEMPOTENCY_HEADER] if "idempotency_key" in rule.inputs else [],
    )
    return schema(action(detail=True, methods=["post"], url_path=rule.url, url_name=f"action-{rule.url}",
                         filter_backends=[])(view))


# One POST per user-facing row of the rule book: /api/v1/bills/{id}/{action}/.
for _action in rules.ROUTED_ACTIONS:
    setattr(BillViewSet, f"action_{_action}", _action_view(rules.rule(_action)))


@extend_schema(
    summary="Listed bills, with what a financier needs to price them (financiers, regulators, platform staff)",
    responses={200: ListingSerializer(many=True), 403: ERRORS[403]},
    tags=["marketplace"],
)
class MarketplaceListView(generics.ListAPIView):
    serializer_class = ListingSerializer
    filterset_class = ListingFilter

    def get_queryset(self) -> QuerySet[Bill]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user to ask
            return Bill.objects.none()
        return selectors.marketplace_listings(self.request.user)


@extend_schema(
    summary="One listing",
    parameters=[ID_PARAM],
    responses={200: ListingSerializer, 403: ERRORS[403], 404: ERRORS[404]},
    tags=["marketplace"],
)
class MarketplaceDetailView(generics.GenericAPIView):
    serializer_class = ListingSerializer
    filter_backends: list[type] = []

    def get(self, request: Request, pk: str) -> Response:
        return Response(ListingSerializer(selectors.marketplace_get(user=request.user, bill_id=pk)).data)

