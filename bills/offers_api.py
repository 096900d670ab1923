"""REST API of offers (DESIGN §10): ``GET/POST /api/v1/bills/{id}/offers/`` (a financier offers its own rate on a
listed bill; the holder and the financier read the offers), ``POST /api/v1/offers/{id}/accept/`` (the holder
sells at the offered rate) and ``POST /api/v1/offers/{id}/withdraw/`` (the financier takes its offer back).

The body is passed unvalidated to the services, which run the rule book's guard first (404/403/409) and parse
their inputs after it (400 naming the field); the input serializers document the body for the schema only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bills import selectors, services
from bills.api import ERRORS
from bills.models_money import BillOffer
from bills.serializers import BuyResultSerializer, DecimalStringField, QuoteSerializer, ReasonInput
from bills.services.inputs import NOT_AN_OBJECT
from finance_portal.users import signed_in_user


class OfferSerializer(serializers.ModelSerializer):
    financier = serializers.SerializerMethodField()
    quote = serializers.SerializerMethodField(help_text="What the offer pays if accepted today.")

    class Meta:
        model = BillOffer
        fields = ["id", "bill", "financier", "rate", "expires_at", "status", "created_at", "closed_at", "quote"]

    @extend_schema_field({"type": "object", "properties": {"legal_name": {"type": "string"},
                                                           "credit_code": {"type": "string"}}})
    def get_financier(self, offer: BillOffer) -> dict[str, str]:
        return {"legal_name": offer.financier.legal_name, "credit_code": offer.financier.credit_code}

    @extend_schema_field(QuoteSerializer(allow_null=True))
    def get_quote(self, offer: BillOffer) -> dict[str, Any] | None:
        quote = selectors.offer_quote(offer) if offer.status == "open" else None
        return None if quote is None else QuoteSerializer(quote).data


class OfferInput(ReasonInput):
    rate = DecimalStringField(help_text="Your annual discount rate as a fraction: \"0.035\" is 3.5 %.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True,
                                           help_text="When the offer lapses (default 72 hours, "
                                                     "at most 30 days, never past maturity).")


BILL_ID = OpenApiParameter("bill_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The bill's id.")
OFFER_ID = OpenApiParameter("offer_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The offer's id.")


def _body(request: Request, *names: str) -> dict[str, Any]:
    """The named fields, unvalidated; a body that is not a JSON object is refused when the service parses an
    input, after its guard."""
    if not isinstance(request.data, Mapping):
        return dict.fromkeys(names, NOT_AN_OBJECT)
    return {name: request.data.get(name) for name in names}


class BillOffersView(APIView):
    """Offers on one bill: the holder sees them all with today's price; a financier sees its own."""

    @extend_schema(summary="Offers on a bill you hold, or your own offers on it", parameters=[BILL_ID],
                   responses={200: OfferSerializer(many=True), 404: ERRORS[404]}, tags=["offers"])
    def get(self, request: Request, bill_id: str) -> Response:
        bill = selectors.bill_for_offers(user=request.user, bill_id=bill_id)
        return Response(OfferSerializer(selectors.offers_visible_to(request.user, bill=bill), many=True).data)

    @extend_schema(summary="Offer your own rate on a listed bill (financiers)", parameters=[BILL_ID],
                   request=OfferInput, responses={201: OfferSerializer, **ERRORS}, tags=["offers"])
    def post(self, request: Request, bill_id: str) -> Response:
        offer = services.offer_make(bill_id=bill_id, actor=signed_in_user(request),
                                    **_body(request, "rate", "expires_at", "reason"))
        return Response(OfferSerializer(offer).data, status=status.HTTP_201_CREATED)


class OfferAcceptView(APIView):
    @extend_schema(summary="Accept an offer: the financier buys the bill at the offered rate (holder)",
                   parameters=[OFFER_ID], request=ReasonInput, responses={200: BuyResultSerializer, **ERRORS},
                   tags=["offers"])
    def post(self, request: Request, offer_id: str) -> Response:
        purchase = services.offer_accept(offer_id=offer_id, actor=signed_in_user(request), **_body(request, "reason"))
        bill = selectors.bill_get_visible(user=request.user, bill_id=purchase.bill_id)
        return Response(BuyResultSerializer(bill, context={"request": request, "purchase": purchase}).data)


class OfferWithdrawView(APIView):
    @extend_schema(summary="Withdraw your open offer (financiers)", parameters=[OFFER_ID], request=None,
                   responses={200: OfferSerializer, 403: ERRORS[403], 404: ERRORS[404], 409: ERRORS[409]},
                   tags=["offers"])
    def post(self, request: Request, offer_id: str) -> Response:
        return Response(OfferSerializer(services.offer_withdraw(offer_id=offer_id, actor=signed_in_user(request))).data)
