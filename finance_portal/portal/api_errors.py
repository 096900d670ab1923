"""One DRF exception handler for the whole API: domain errors become 4xx JSON that names the rule or field.

Services raise ``finance_portal.errors.DomainError`` subclasses; views need not catch them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from finance_portal.errors import DomainError


def api_exception_handler(exc: Exception, context: dict[str, object]) -> Response | None:
    if isinstance(exc, DomainError):
        body = exc.as_dict()
        if exc.field:
            body[exc.field] = [exc.message]
        return Response(body, status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
