"""REST API of issuing limits: ``GET/POST /api/v1/issuing-limits/`` (read the limits you may see; grant one,
platform staff and financiers) and ``POST /api/v1/issuing-limits/{id}/revoke/`` (the grantor). Views hold no
rule: the services answer 400/403/404/409 with the one error shape."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from finance_portal.users import signed_in_user
from sme_credit import issuing
from sme_credit.api import ERRORS, LIMIT_ID, OrgRefSerializer, _body
from sme_credit.models import IssuingLimit


class IssuingLimitSerializer(serializers.ModelSerializer):
    debtor = OrgRefSerializer()
    grantor = OrgRefSerializer()
    live = serializers.BooleanField(source="is_live")
    owed = serializers.SerializerMethodField(help_text="What the core enterprise owes now in this currency.")
    available = serializers.SerializerMethodField(help_text="The limit less what is owed, never below 0.")

    class Meta:
        model = IssuingLimit
        fields = ["id", "debtor", "grantor", "amount", "currency", "granted_at", "revoked_at", "live", "owed",
                  "available"]

    def get_owed(self, obj: IssuingLimit) -> str:
        return f"{issuing.issuing_headroom(obj)['owed']:.2f}"

    def get_available(self, obj: IssuingLimit) -> str:
        return f"{issuing.issuing_headroom(obj)['available']:.2f}"


class IssuingLimitInput(serializers.Serializer):
    debtor = serializers.CharField(help_text="The core enterprise's unified social credit code.")
    amount = serializers.CharField(help_text="The most it may owe on the platform, as a decimal string.")
    currency = serializers.CharField(required=False, allow_null=True, help_text="Default: the platform's currency.")


class IssuingLimitsView(APIView):
    @extend_schema(summary="Issuing limits you may read (grantors, the core enterprise itself, regulators)",
                   responses={200: IssuingLimitSerializer(many=True), 403: ERRORS[403]}, tags=["credit"])
    def get(self, request: Request) -> Response:
        limits = issuing.issuing_limits_visible(signed_in_user(request))[:500]
        return Response(IssuingLimitSerializer(limits, many=True).data)

    @extend_schema(summary="Grant a core enterprise an issuing limit (platform staff, financiers)",
                   request=IssuingLimitInput, responses={201: IssuingLimitSerializer, **ERRORS}, tags=["credit"])
    def post(self, request: Request) -> Response:
        limit = issuing.issuing_limit_grant(actor=signed_in_user(request), **_body(request, "debtor", "amount",
                                                                                   "currency"))
        return Response(IssuingLimitSerializer(limit).data, status=status.HTTP_201_CREATED)


class IssuingLimitRevokeView(APIView):
    @extend_schema(summary="Revoke an issuing limit you granted", parameters=[LIMIT_ID], request=None,
                   responses={200: IssuingLimitSerializer, 403: ERRORS[403], 404: ERRORS[404], 409: ERRORS[409]},
                   tags=["credit"])
    def post(self, request: Request, limit_id: str) -> Response:
        limit = issuing.issuing_limit_revoke(limit_id=limit_id, actor=signed_in_user(request))
        return Response(IssuingLimitSerializer(limit).data)
