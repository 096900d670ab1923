"""REST API of bills (under /api/v1/, DESIGN §10): list, create, detail, one POST per transition, events,
the marketplace, and a core enterprise's direct issue.

Serializers (``bills.serializers``) shape output and document the bodies; every rule is in ``bills.services``
(the rule book's guard runs before any input is parsed); what a user sees is decided in ``bills.selectors``. Domain
errors become 4xx JSON (``finance_portal.portal.api_errors``): 400 names the field, 403 a party that may not
act, 404 an object out of reach, 409 a refused transition with its rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from bills import listings, rules, selectors, services
from bills.errors import BillNotFound
from bills.models import Bill, BillPurchase
from bills.serializers import (
    BillCreateInput,
    BillDetailSerializer,
    BillEventSerializer,
    BillFilter,
    BillIssueInput,
    BillSerializer,
    BuyInput,
    BuyResultSerializer,
    ListingFilter,
    ListingSerializer,
    ListInput,
    ReasonInput,
    RequiredReasonInput,
    SplitInput,
    TransferInput,
)
from bills.services.inputs import NOT_AN_OBJECT
from finance_portal.errors import ERROR_SCHEMA
from finance_portal.users import signed_in_user

# ---------------------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------------------

ERRORS = {
    400: OpenApiResponse(ERROR_SCHEMA, description="Bad input; the body names the field."),
    403: OpenApiResponse(ERROR_SCHEMA, description="Your organization may not do this (or is not KYC approved)."),
    404: OpenApiResponse(ERROR_SCHEMA, description="No such bill, or not one you may see."),
    409: OpenApiResponse(ERROR_SCHEMA, description="The bill's state or a rule refuses it; the body says which."),
}
# The answers of a list besides its page: a filter value it cannot read, a page past the last.
LIST_ERRORS = {
    400: OpenApiResponse(ERROR_SCHEMA, description="A filter's value is not valid; the body names the filter."),
    404: OpenApiResponse(ERROR_SCHEMA, description="No such page (`not_found`)."),
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
    list=extend_schema(summary="The bills your organization takes part in (all, for oversight roles)",
                       responses={200: BillSerializer(many=True), **LIST_ERRORS}, tags=["bills"]),
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
            bill = selectors.bill_get_detail(user=self.request.user, bill_id=bill.pk)
        except BillNotFound:
            pass
        return Response(BillDetailSerializer(bill, context={"request": self.request}).data, status=code)

    @staticmethod
    def _raw_inputs(rule: rules.Transition, request: Request) -> dict[str, Any]:
        """The rule's inputs from the request, unvalidated: the service parses them after its guard, so a bad
        body never hides a 403, 404 or 409 (the input serializers document the body for the schema only)."""
        names = [name for name in (*rule.inputs, "reason") if name != "idempotency_key"]
        if isinstance(request.data, Mapping):
            kwargs = {name: request.data.get(name) for name in names}
        else:  # null, a list, a number: refused when the service parses an input, after its guard
            kwargs = dict.fromkeys(names, NOT_AN_OBJECT)
        if "idempotency_key" in rule.inputs:
            kwargs["idempotency_key"] = request.headers.get("Idempotency-Key")
        return kwargs

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(BillSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        bill = selectors.bill_get_detail(user=request.user, bill_id=pk)
        return Response(BillDetailSerializer(bill, context={"request": request}).data)

    def create(self, request: Request) -> Response:
        bill = services.bill_create(actor=signed_in_user(request), **self._raw_inputs(rules.rule("create"), request))
        return self._detail(bill, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Issue a bill you owe directly to a supplier (core enterprises)",
        request=BillIssueInput,
        responses={201: BillDetailSerializer, **ERRORS},
        tags=["bills"],
    )
    @action(detail=False, methods=["post"], url_path="issue", filter_backends=[], pagination_class=None)
    def issue(self, request: Request) -> Response:
        bill = services.bill_issue(actor=signed_in_user(request), **self._raw_inputs(rules.rule("issue"), request))
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
        result = services.SERVICES[rule.action](bill_id=pk, actor=signed_in_user(request),
                                                **self._raw_inputs(rule, request))
        if isinstance(result, BillPurchase):
            bill = selectors.bill_get_detail(user=request.user, bill_id=result.bill_id)
            return Response(BuyResultSerializer(bill, context={"request": request, "purchase": result}).data)
        if not isinstance(result, Bill):  # a record of its own (an early-settlement request): the bill as it is
            result = selectors.bill_get_detail(user=request.user, bill_id=pk)
            return Response(BillDetailSerializer(result, context={"request": request}).data)
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
    responses={200: ListingSerializer(many=True), 403: ERRORS[403], **LIST_ERRORS},
    tags=["marketplace"],
)
class MarketplaceListView(generics.ListAPIView):
    serializer_class = ListingSerializer
    filterset_class = ListingFilter

    def get_queryset(self) -> QuerySet[Bill]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user to ask
            return Bill.objects.none()
        return listings.marketplace_listings(self.request.user)


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
        return Response(ListingSerializer(listings.marketplace_get(user=request.user, bill_id=pk)).data)

