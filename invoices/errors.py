"""Errors of the invoices app. Each maps to a 4xx through ``finance_portal.errors``."""

from finance_portal.errors import Conflict, DomainError, InvalidInput, NotFound, NotPermitted


class InvoiceError(DomainError):
    """Base of every invoice error."""


class InvoiceInvalid(InvalidInput, InvoiceError):
    pass


class InvoiceNotPermitted(NotPermitted, InvoiceError):
    pass


class InvoiceNotFound(NotFound, InvoiceError):
    pass


class InvoiceDuplicate(Conflict, InvoiceError):
    code = "duplicate_invoice"


class InvoiceStateConflict(Conflict, InvoiceError):
    code = "invoice_state"


class InvoiceNumberTaken(InvoiceDuplicate):
    """A fully digitalised invoice's 20-digit number is already registered, sent now under another code."""

    code = "invoice_number_taken"
