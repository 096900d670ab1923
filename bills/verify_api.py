"""API access to a bill's verification bundle: ``GET /api/v1/bills/{id}/bundle/`` (DESIGN §10, docs/bundle-v2.md).

The bundle is version 2, disclosing the fields of the caller's profile (``bills.disclosure``): participants
see the events in their reach in full, a financier pricing a listing sees the financier profile, regulators
everything.
"""

from __future__ import annotations

import uuid

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bills.disclosure import bill_for_viewer, disclosure_for
from bills.errors import BillNotFound
from bills.verification import bill_bundle, bill_events_for_bundle


class BillBundleView(APIView):
    """The verification bundle of a bill the user may see (or a listing, for a financier)."""

    @extend_schema(
        operation_id="bills_bundle",
        responses={200: OpenApiResponse(description="The verification bundle (version 2, salted field commitments "
                                                    "disclosed by the caller's profile), see docs/bundle-v2.md."),
                   404: OpenApiResponse(description="No such bill within your reach.")},
        tags=["bills"],
    )
    def get(self, request: Request, bill_id: uuid.UUID) -> Response:
        # A financier pricing a listing needs the bundle before it buys: listings count as within reach.
        bill = bill_for_viewer(user=request.user, bill_id=bill_id)
        if bill is None:
            raise BillNotFound(gettext("No such bill within your reach."))
        events = bill_events_for_bundle(bill)
        disclosure = disclosure_for(user=request.user, bill=bill, events=events)
        return Response(bill_bundle(bill=bill, disclosure=disclosure, events=events))
