"""Errors of the credit app. Every one is a ``finance_portal.errors`` domain error, so the API maps it to 4xx."""

from __future__ import annotations

from finance_portal.errors import Conflict, DomainError, InvalidInput, NotFound, NotPermitted


class CreditError(DomainError):
    """Base of every sme_credit error."""


class CreditInvalid(InvalidInput, CreditError):
    """400: a malformed input (amount, currency, organization code)."""


class CreditNotFound(NotFound, CreditError):
    """404: no such organization or limit, or one outside the user's reach (the two are not told apart)."""

    code = "credit_not_found"


class CreditNotPermitted(NotPermitted, CreditError):
    """403: only financiers grant and revoke credit limits."""

    code = "credit_not_permitted"


class CreditLimitRevoked(Conflict, CreditError):
    """409: the limit was already revoked."""

    code = "credit_limit_revoked"


class CreditLimitExceeded(Conflict, CreditError):
    """409: a purchase would take the financier's exposure to a debtor over its live limit."""

    code = "credit_limit_exceeded"


class IssuingLimitExceeded(Conflict, CreditError):
    """409: issuing or accepting a bill would take what a core enterprise owes over a live issuing limit."""

    code = "issuing_limit_exceeded"
