"""REST API of credit (DESIGN §10): ``GET /api/v1/organizations/{id}/credit/`` (profile, latest score with its
factors, score history), ``GET/POST /api/v1/credit-limits/`` (a financier's limits; grant one) and
``POST /api/v1/credit-limits/{id}/revoke/``; credit reports: ``POST /api/v1/credit-reports/`` (issue one to a
recipient) and ``GET /api/v1/credit-reports/{id}/bundle/`` (the report bundle, sme_credit/README.md).

Views hold no rule: the body goes to the services, which answer 400/403/404/409 with the one error shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from finance_portal.errors import ERROR_SCHEMA
from finance_portal.organizations.services import require_acting_organization
from finance_portal.users import signed_in_user
from sme_credit import reports, selectors, services
from sme_credit.errors import CreditInvalid, CreditNotPermitted
from sme_credit.models import CreditLimit, CreditProfile, CreditReport, CreditScore

ERRORS = {
    400: OpenApiResponse(ERROR_SCHEMA, description="Bad input; the body names the field."),
    403: OpenApiResponse(ERROR_SCHEMA, description="Only financiers may do this."),
    404: OpenApiResponse(ERROR_SCHEMA, description="No such organization or limit, or not one you may see."),
    409: OpenApiResponse(ERROR_SCHEMA, description="Refused by a rule; the body says which."),
}


class OrgRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    legal_name = serializers.CharField()
    credit_code = serializers.CharField()


class CreditProfileSerializer(serializers.ModelSerializer):
    largest_debtor = OrgRefSerializer(allow_null=True)

    class Meta:
        model = CreditProfile
        fields = ["settled_on_time", "settled_late", "days_late_total", "days_late_max", "overdue", "defaulted",
                  "bills_count", "bills_drawn", "volume_by_quarter", "largest_debtor", "largest_debtor_share",
                  "age_days", "invoices_disputed", "computed_at"]


class FactorSerializer(serializers.Serializer):
    factor = serializers.CharField()
    value = serializers.JSONField()
    points = serializers.IntegerField()
    reason = serializers.CharField()


class CreditScoreSerializer(serializers.ModelSerializer):
    factors = FactorSerializer(many=True)

    class Meta:
        model = CreditScore
        fields = ["score", "computed_at", "formula", "factors"]


class ScorePointSerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditScore
        fields = ["score", "computed_at"]


class OrganizationCreditSerializer(serializers.Serializer):
    organization = OrgRefSerializer()
    profile = CreditProfileSerializer(allow_null=True)
    score = CreditScoreSerializer(allow_null=True, help_text="The latest score, with the reasons that made it.")
    history = ScorePointSerializer(many=True, help_text="Every score, newest first.")


class CreditLimitSerializer(serializers.ModelSerializer):
    debtor = OrgRefSerializer()
    supplier = OrgRefSerializer(allow_null=True)
    live = serializers.BooleanField(source="is_live")

    class Meta:
        model = CreditLimit
        fields = ["id", "debtor", "supplier", "amount", "currency", "granted_at", "revoked_at", "live"]


class CreditLimitInput(serializers.Serializer):
    debtor = serializers.CharField(help_text="The debtor's unified social credit code.")
    supplier = serializers.CharField(required=False, allow_null=True,
                                     help_text="Narrow the limit to bills this supplier drew.")
    amount = serializers.CharField(help_text="The most face you will hold, as a decimal string.")
    currency = serializers.CharField(required=False, allow_null=True, help_text="Default: the platform's currency.")


ORG_ID = OpenApiParameter("organization_id", OpenApiTypes.INT, OpenApiParameter.PATH,
                          description="The organization's id.")
LIMIT_ID = OpenApiParameter("limit_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The limit's id.")


def _body(request: Request, *names: str) -> dict[str, Any]:
    """The named fields of the body, unvalidated but for a NUL byte, which PostgreSQL cannot compare or store."""
    body = request.data if isinstance(request.data, Mapping) else {}
    values = {name: body.get(name) for name in names}
    for name, value in values.items():
        if isinstance(value, str) and "\x00" in value:
            raise CreditInvalid(gettext("The %(field)s contains a NUL byte.") % {"field": name}, field=name)
    return values


class OrganizationCreditView(APIView):
    @extend_schema(summary="An organization's credit profile, score with its reasons, and score history",
                   description="Readable by the organization itself, financiers, regulators and platform staff.",
                   parameters=[ORG_ID], responses={200: OrganizationCreditSerializer, 404: ERRORS[404]},
                   tags=["credit"])
    def get(self, request: Request, organization_id: str) -> Response:
        org = selectors.credit_organization_get(user=request.user, organization_id=organization_id)
        history = list(selectors.credit_scores_of(org))
        return Response(OrganizationCreditSerializer({
            "organization": org,
            "profile": selectors.credit_profile_of(org),
            "score": history[0] if history else None,
            "history": history,
        }).data)


class CreditLimitsView(APIView):
    @extend_schema(summary="Your credit limits, live and revoked (financiers)",
                   responses={200: CreditLimitSerializer(many=True), 403: ERRORS[403]}, tags=["credit"])
    def get(self, request: Request) -> Response:
        org = require_acting_organization(signed_in_user(request))
        if not org.is_financier:
            raise CreditNotPermitted(gettext("Only financiers hold credit limits."))
        return Response(CreditLimitSerializer(selectors.credit_limits_of(org), many=True).data)

    @extend_schema(summary="Grant a credit limit on a debtor, optionally for one supplier (financiers)",
                   request=CreditLimitInput, responses={201: CreditLimitSerializer, **ERRORS}, tags=["credit"])
    def post(self, request: Request) -> Response:
        limit = services.credit_limit_grant(actor=signed_in_user(request),
                                            **_body(request, "debtor", "supplier", "amount", "currency"))
        return Response(CreditLimitSerializer(limit).data, status=status.HTTP_201_CREATED)


class CreditLimitRevokeView(APIView):
    @extend_schema(summary="Revoke one of your credit limits (financiers)", parameters=[LIMIT_ID], request=None,
                   responses={200: CreditLimitSerializer, 403: ERRORS[403], 404: ERRORS[404], 409: ERRORS[409]},
                   tags=["credit"])
    def post(self, request: Request, limit_id: str) -> Response:
        return Response(CreditLimitSerializer(services.credit_limit_revoke(limit_id=limit_id,
                                                                           actor=signed_in_user(request))).data)


class CreditReportInput(serializers.Serializer):
    recipient = serializers.CharField(help_text="The recipient organization's unified social credit code.")


class CreditReportSerializer(serializers.ModelSerializer):
    organization = OrgRefSerializer()
    recipient = OrgRefSerializer()
    bundle_url = serializers.SerializerMethodField()
    verify_url = serializers.SerializerMethodField()

    class Meta:
        model = CreditReport
        fields = ["id", "organization", "recipient", "created_at", "format", "report_key", "hash", "canonical",
                  "bundle_url", "verify_url"]

    def get_bundle_url(self, obj: CreditReport) -> str:
        return f"/api/v1/credit-reports/{obj.pk}/bundle/"

    def get_verify_url(self, obj: CreditReport) -> str:
        return f"/verify/credit/{obj.pk}/"


class CreditReportBundleSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text='Always "credit_report".')
    version = serializers.IntegerField()
    report_id = serializers.IntegerField()
    report_key = serializers.CharField(help_text='keccak256 of the UTF-8 bytes of "report:" + report_id.')
    chain_id = serializers.IntegerField()
    contract = serializers.CharField(allow_null=True)
    canonical = serializers.CharField(help_text="The report's RFC 8785 text, as anchored.")
    hash = serializers.CharField(help_text="keccak256 of the UTF-8 bytes of canonical.")
    tx_hash = serializers.CharField(allow_null=True)
    block = serializers.IntegerField(allow_null=True)
    report = serializers.JSONField(help_text="The canonical text's members, parsed, for reading.")


REPORT_ID = OpenApiParameter("report_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The report's id.")


class CreditReportsView(APIView):
    @extend_schema(summary="Issue a credit report of your organization to a recipient organization",
                   description="The report's canonical text is hashed and anchored on chain under its own key.",
                   request=CreditReportInput, responses={201: CreditReportSerializer, **ERRORS}, tags=["credit"])
    def post(self, request: Request) -> Response:
        report = services.credit_report_issue(actor=signed_in_user(request), **_body(request, "recipient"))
        return Response(CreditReportSerializer(report).data, status=status.HTTP_201_CREATED)


class CreditReportBundleView(APIView):
    @extend_schema(summary="A credit report's bundle, for the standalone verifier",
                   description="Readable by the issuing organization, the recipient, regulators and platform staff.",
                   parameters=[REPORT_ID], responses={200: CreditReportBundleSerializer, 404: ERRORS[404]},
                   tags=["credit"])
    def get(self, request: Request, report_id: str) -> Response:
        report = selectors.credit_report_get(user=request.user, report_id=report_id)
        response = Response(reports.report_bundle(report))
        response["Content-Disposition"] = f'inline; filename="credit-report-{report.pk}.json"'
        return response
