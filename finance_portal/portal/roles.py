"""Which landing page a user gets, from the kinds of the organization they belong to."""

from __future__ import annotations

from finance_portal.organizations.models import Membership
from finance_portal.organizations.selectors import membership_of
from finance_portal.users import Viewer

# Order matters: an organization that is both supplier and core enterprise lands as a core enterprise,
# whose page also links to the supplier's work.
ROLE_PAGES = (
    ("platform", "is_platform"),
    ("regulator", "is_regulator"),
    ("financier", "is_financier"),
    ("core_enterprise", "is_core_enterprise"),
    ("supplier", "is_supplier"),
)


def role_of(user: Viewer, membership: Membership | None | object = ...) -> str | None:
    """The user's role; pass ``membership`` when it was already read, to save the query."""
    if user.is_authenticated and user.is_superuser:
        return "platform"
    m = membership_of(user) if membership is ... else membership
    if not isinstance(m, Membership):
        return None
    for role, field in ROLE_PAGES:
        if getattr(m.organization, field):
            return role
    return None
