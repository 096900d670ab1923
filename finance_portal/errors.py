"""The portal's domain errors. Services raise them; views turn them into form errors or 4xx JSON.

Each app derives its own base from ``DomainError``. ``http_status`` is what an API answer uses:
400 invalid input, 403 not allowed, 404 out of reach, 409 a refused transition.
"""

from __future__ import annotations


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
