"""REST API of oversight (DESIGN §10): flags, acknowledgement, reconciliation, and a regulator's freeze request.

Regulators and platform staff only: a signed-in user of any other role gets 403, anyone signed out 401/403.
A freeze request is for regulators; it freezes nothing (platform staff decide it in the admin).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from finance_portal.errors import ERROR_SCHEMA
from finance_portal.oversight import selectors, services
from finance_portal.oversight.errors import NotOversight, OversightError
from finance_portal.oversight.models import FreezeRequest, OversightFlag, ReconciliationRun, Rule
from finance_portal.users import signed_in_user

ERROR = OpenApiResponse(ERROR_SCHEMA, description="The body names the rule or the field.")


class IsOversight(BasePermission):
    """Regulators and platform staff pass; anyone else signed in gets the project's 403 body."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user.is_authenticated:
            return False
        if not selectors.is_oversight_user(request.user):
            raise NotOversight("Oversight is for regulators and platform staff.")
        return True


class FlagSerializer(serializers.ModelSerializer):
    bill_number = serializers.CharField(source="bill.number", default=None, read_only=True, allow_null=True)
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", default=None, read_only=True,
                                            allow_null=True)
    acknowledged = serializers.BooleanField(read_only=True)

    class Meta:
        model = OversightFlag
        fields = ["id", "rule", "subject", "severity", "explanation", "evidence", "bill", "bill_number",
                  "organization", "first_seen", "last_seen", "acknowledged", "acknowledged_by", "acknowledged_at",
                  "acknowledgement_note"]
        read_only_fields = fields


class AcknowledgeInput(serializers.Serializer):
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class FreezeReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class FreezeRequestSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True, allow_null=True)

    class Meta:
        model = FreezeRequest
        fields = ["id", "bill", "requested_by", "reason", "requested_at", "status", "decided_by", "decided_at",
                  "decision_note"]
        read_only_fields = fields


class ReconciliationRowSerializer(serializers.Serializer):
    bill = serializers.UUIDField(source="bill_id")
    number = serializers.CharField()
    state = serializers.CharField()
    status = serializers.ChoiceField(choices=["ok", "mismatch"])
    reasons = serializers.ListField(child=serializers.CharField())


class ReconciliationRunSerializer(serializers.ModelSerializer):
    """One stored reconciliation: when, why, how much was checked, and per differing bill what differs."""

    details = serializers.ListField(child=serializers.DictField(), read_only=True,
                                    help_text='[{"bill": "<uuid>", "number": "...", "problems": ["..."]}]')

    class Meta:
        model = ReconciliationRun
        fields = ["id", "started_at", "finished_at", "trigger", "bills_checked", "events_checked", "mismatches",
                  "details", "error"]
        read_only_fields = fields


class ReconciliationPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ReconciliationRowSerializer(many=True)
    last_run = ReconciliationRunSerializer(allow_null=True, help_text="The latest stored reconciliation run.")
    runs = ReconciliationRunSerializer(many=True, help_text="The latest stored runs (up to 10), newest first.")


def _acknowledged_param(value: str | None) -> bool | None:
    """``true``/``false`` (or 1/0, yes/no); absent or blank: no filter; anything else is a 400."""
    if value is None or value == "":
        return None
    text = value.strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise OversightError(f"acknowledged is true or false, not {value[:40]!r}.", field="acknowledged")


def _rule_param(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in Rule.values:
        raise OversightError(f"Unknown rule {value[:40]!r}: one of {', '.join(Rule.values)}.", field="rule")
    return value


@extend_schema(parameters=[
    OpenApiParameter("rule", OpenApiTypes.STR, enum=Rule.values, description="Only this rule's flags."),
    OpenApiParameter("acknowledged", OpenApiTypes.BOOL, description="true: acknowledged only; false: open only."),
], responses={200: FlagSerializer(many=True), 400: ERROR, 403: ERROR, 404: ERROR})
class FlagListView(generics.ListAPIView):
    """Every oversight flag, newest first within each rule."""

    permission_classes = [IsOversight]
    serializer_class = FlagSerializer
    filter_backends: list[Any] = []

    def get_queryset(self):  # type: ignore[no-untyped-def]
        params = self.request.query_params
        return selectors.flags(rule=_rule_param(params.get("rule")),
                               acknowledged=_acknowledged_param(params.get("acknowledged")))


class FlagAcknowledgeView(APIView):
    """Acknowledge a flag with a note (required). It changes no bill; who and when are recorded."""

    permission_classes = [IsOversight]

    @extend_schema(request=AcknowledgeInput, responses={200: FlagSerializer, 400: ERROR, 403: ERROR, 404: ERROR,
                                                 409: ERROR})
    def post(self, request: Request, flag_id: str) -> Response:
        data = AcknowledgeInput(data=request.data)
        data.is_valid(raise_exception=True)
        flag = services.flag_acknowledge(flag_id=flag_id, note=data.validated_data.get("note", ""),
                                         actor=signed_in_user(request))
        return Response(FlagSerializer(flag).data)


class ReconciliationView(generics.GenericAPIView):
    """Per bill, paginated: ``ok``, or ``mismatch`` with what ``bill_chain_verify`` finds (the database alone);
    and the stored runs against the chain (``last_run``, ``runs``: scheduled, after anchoring batches, manual)."""

    permission_classes = [IsOversight]
    serializer_class = ReconciliationRowSerializer
    filter_backends: list[Any] = []

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.reconciliation_bills()

    @extend_schema(responses={200: ReconciliationPageSerializer, 403: ERROR})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = selectors.reconciliation_rows(list(page or []))
        response = self.get_paginated_response(ReconciliationRowSerializer(rows, many=True).data)
        runs = selectors.reconciliation_runs()
        response.data["last_run"] = ReconciliationRunSerializer(runs[0]).data if runs else None
        response.data["runs"] = ReconciliationRunSerializer(runs, many=True).data
        return response


class FreezeRequestView(APIView):
    """A regulator asks platform staff to freeze a bill, with a reason. The bill is not frozen by this."""

    permission_classes = [IsOversight]

    @extend_schema(request=FreezeReasonInput, responses={201: FreezeRequestSerializer, 400: ERROR, 403: ERROR,
                                                   404: ERROR})
    def post(self, request: Request, bill_id: str) -> Response:
        data = FreezeReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        req = services.freeze_request_create(bill_id=bill_id, reason=data.validated_data.get("reason", ""),
                                             actor=signed_in_user(request))
        return Response(FreezeRequestSerializer(req).data, status=status.HTTP_201_CREATED)
