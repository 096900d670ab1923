"""Domain errors of oversight: 400 naming the field, 403 for a role that may not act, 404 out of reach."""

from __future__ import annotations

from finance_portal.errors import DomainError


class OversightError(DomainError):
    http_status = 400
    code = "invalid"


class NotOversight(OversightError):
    http_status = 403
    code = "not_oversight"


class OversightNotFound(OversightError):
    http_status = 404
    code = "not_found"


class AlreadyDecided(OversightError):
    http_status = 409
    code = "already_decided"
