"""One DRF exception handler for the whole API: every 4xx answers in one JSON shape that names the rule or field.

The shape (``finance_portal.errors.ERROR_SCHEMA``, for OpenAPI descriptions)::

    {"detail": "<the first message, for a person>", "code": "<machine code>", "field": "<first field at fault>",
     "<field>": ["<message>", ...], ...}

``field`` and the per-field lists appear only when fields are at fault. Services raise
``finance_portal.errors.DomainError`` subclasses (their ``code``, e.g. ``invoice_number_taken``); DRF's own
serializer and filter validation and Django's ``ValidationError`` answer ``code: "invalid"`` with every field
error, nested fields flattened as ``parts[0].face``; DRF's other exceptions keep their status and headers and
carry their own code (``not_authenticated``, ``permission_denied``, ``not_found``, ``method_not_allowed``,
``unsupported_media_type``, ``throttled``, ``parse_error``...). Views need not catch anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from finance_portal.errors import ERROR_SCHEMA, DomainError

__all__ = ["ERROR_SCHEMA", "api_exception_handler", "error_body"]

_RESERVED = frozenset({"detail", "code", "field"})  # the keys of ERROR_SCHEMA["properties"]
_NON_FIELD_KEYS = frozenset({api_settings.NON_FIELD_ERRORS_KEY, "__all__"})


def api_exception_handler(exc: Exception, context: Mapping[str, object]) -> Response | None:
    if isinstance(exc, DomainError):
        body = exc.as_dict()
        if exc.field and exc.field not in _RESERVED:
            body[exc.field] = [exc.message]
        return Response(body, status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    response = drf_exception_handler(exc, context)  # type: ignore[arg-type]
    if response is None:
        return None  # not an API error: Django answers 500 and logs it
    response.data = error_body(exc, response.data)
    return response


def error_body(exc: Exception, data: object) -> dict[str, object]:
    """``data`` (DRF's ``exc.detail`` as rendered) in the project's shape."""
    if isinstance(data, Mapping) and set(data) == {"detail"} and not isinstance(data["detail"], Mapping | list):
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        return {"detail": str(data["detail"]), "code": code if isinstance(code, str) else "error"}
    errors = _flatten(data, None)
    if not errors:
        return {"detail": "Invalid input.", "code": "invalid"}
    # Errors about the request as a whole come first in ``detail``; fields after, in declaration order.
    errors.sort(key=lambda item: item[0] is not None)
    body: dict[str, object] = {"detail": errors[0][1], "code": "invalid"}
    fields: dict[str, list[str]] = {}
    for path, message in errors:
        if path is not None:
            fields.setdefault(path, []).append(message)
    if fields:
        body["field"] = next(iter(fields))
    for path, messages in fields.items():
        if path not in _RESERVED:
            body[path] = messages
    return body


def _flatten(data: object, prefix: str | None) -> list[tuple[str | None, str]]:
    """(field path or None, message) for every message in DRF's nested error structure."""
    if isinstance(data, Mapping):
        found: list[tuple[str | None, str]] = []
        for key, value in data.items():
            if str(key) in _NON_FIELD_KEYS:
                path = prefix
            elif isinstance(key, int):
                path = f"{prefix or ''}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            found += _flatten(value, path)
        return found
    if isinstance(data, Sequence) and not isinstance(data, str):
        found = []
        for index, item in enumerate(data):
            if isinstance(item, Mapping | list):
                found += _flatten(item, f"{prefix or ''}[{index}]")
            else:
                found.append((prefix, str(item)))
        return found
    return [(prefix, str(data))]
