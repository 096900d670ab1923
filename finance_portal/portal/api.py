"""API endpoints of the portal shell: token login and who-am-I."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from finance_portal.errors import ERROR_SCHEMA
from finance_portal.organizations.selectors import membership_of
from finance_portal.portal.roles import role_of


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class ObtainTokenView(APIView):
    """POST username and password, get ``{"token": ...}`` for ``Authorization: Token <token>``."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_token"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: OpenApiResponse(ERROR_SCHEMA, description="A field is missing or too long (`invalid`), or the "
                                 "username or password is not right (`invalid_credentials`)."),
            429: OpenApiResponse(ERROR_SCHEMA, description="Too many attempts: the endpoint's rate (`throttled`) or "
                                 "failed log-ins for this account (`locked_out`); `Retry-After` says when to retry."),
        },
    )
    def post(self, request: Request) -> Response:
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request._request, **data.validated_data)
        if user is None:
            return Response(
                {"detail": "The username or password is not right.", "code": "invalid_credentials"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            200: inline_serializer(
                "Me",
                {
                    "username": serializers.CharField(),
                    "role": serializers.CharField(allow_null=True),
                    "organization": serializers.DictField(allow_null=True),
                },
            )
        }
    )
    def get(self, request: Request) -> Response:
        m = membership_of(request.user)
        org = m.organization if m else None
        return Response(
            {
                "username": request.user.get_username(),
                "role": role_of(request.user),
                "organization": None
                if org is None
                else {
                    "id": org.pk,
                    "legal_name": org.legal_name,
                    "credit_code": org.credit_code,
                    "kinds": org.kinds,
                    "kyc_status": org.kyc_status,
                    "member_role": m.role if m else None,
                },
            }
        )
