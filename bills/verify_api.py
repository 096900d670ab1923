"""API access to a bill's verification bundle: ``GET /api/v1/bills/{id}/bundle/`` (DESIGN §10)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bills.errors import BillNotFound
from bills.selectors import bills_visible_to, marketplace_allowed, marketplace_listings
from bills.verification import bill_bundle


class BillBundleView(APIView):
    """The verification bundle of a bill the user may see (or a listing, for a financier)."""

    @extend_schema(
        operation_id="bills_bundle",
        responses={200: OpenApiResponse(description="The verification bundle (version 1), see DESIGN §10."),
                   404: OpenApiResponse(description="No such bill within your reach.")},
        tags=["bills"],
    )
    def get(self, request: Request, bill_id: uuid.UUID) -> Response:
        # A financier pricing a listing needs the bundle before it buys: listings count as within reach.
        bill = bills_visible_to(request.user).filter(pk=bill_id).first()
        if bill is None and marketplace_allowed(request.user):
            bill = marketplace_listings(request.user).filter(pk=bill_id).first()
        if bill is None:
            raise BillNotFound("No such bill within your reach.")
        return Response(bill_bundle(bill=bill))
