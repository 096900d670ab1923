"""Errors of the bills app. Every one is a ``finance_portal.errors`` domain error, so the API maps it to 4xx."""

from __future__ import annotations

from finance_portal.errors import Conflict, DomainError, InvalidInput, NotFound, NotPermitted


class BillError(DomainError):
    """Base of every bills error."""


class BillInvalid(InvalidInput, BillError):
    """400: an input is malformed or breaks a rule about inputs (amounts, dates, parties)."""


class BillNotFound(NotFound, BillError):
    """404: no such bill, or one outside the user's reach (the two are not told apart)."""

    code = "bill_not_found"


class BillActionNotPermitted(NotPermitted, BillError):
    """403: the user's organization has no right to this action on this bill (wrong party, oversight role)."""

    code = "bill_action_not_permitted"


class BillTransitionRefused(Conflict, BillError):
    """409: the bill's state or a rule refuses the transition; the message names the rule."""

    code = "bill_transition_refused"


class InvoiceOverAllocated(Conflict, BillError):
    """409: the invoices behind a bill do not have that much left unallocated."""

    code = "invoice_over_allocated"
