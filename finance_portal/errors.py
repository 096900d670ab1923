"""The portal's domain errors. Services raise them; views turn them into form errors or 4xx JSON.

Each app derives its own base from ``DomainError``. ``http_status`` is what an API answer uses:
400 invalid input, 403 not allowed, 404 out of reach, 409 a refused transition. ``ERROR_SCHEMA`` describes the
one JSON shape every API error answers in (``finance_portal.portal.api_errors`` renders it), for the OpenAPI
descriptions of every app.
"""

from __future__ import annotations

ERROR_SCHEMA: dict[str, object] = {
    "type": "object",
    "description": "The project's one error shape: a message, a machine code and, when fields are at fault, "
    "the first one's name and a list of messages per field (nested fields as `parts[0].face`).",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, for a person."},
        "code": {"type": "string", "description": "Machine-readable code of the rule, e.g. `invalid`, `not_found`."},
        "field": {"type": "string", "description": "The first input field at fault, when there is one."},
    },
    "required": ["detail", "code"],
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


class DomainError(Exception):
    http_status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"detail": self.message, "code": self.code}
        if self.field:
            body["field"] = self.field
        return body


class InvalidInput(DomainError):
    http_status = 400
    code = "invalid"


class NotPermitted(DomainError):
    http_status = 403
    code = "not_permitted"


class NotFound(DomainError):
    http_status = 404
    code = "not_found"


class Conflict(DomainError):
    http_status = 409
    code = "conflict"
