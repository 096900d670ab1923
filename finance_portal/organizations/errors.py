"""Errors of organizations and memberships."""

from finance_portal.errors import DomainError, InvalidInput, NotPermitted


class OrganizationError(DomainError):
    pass


class KycNotApproved(NotPermitted, OrganizationError):
    code = "kyc_not_approved"


class InvalidOrganization(InvalidInput, OrganizationError):
    pass


class NoMembership(NotPermitted, OrganizationError):
    code = "no_membership"
