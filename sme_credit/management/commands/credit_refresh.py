"""``manage.py credit_refresh``: recompute credit profiles and scores now (Celery beat runs it every few minutes).

Without options: the organizations named in bill events since the last run, as the beat task does.
``--org CODE`` (repeatable): those organizations. ``--all``: every organization that takes part in trade.
"""

from __future__ import annotations

from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from finance_portal.organizations.models import Organization
from finance_portal.organizations.selectors import organization_by_credit_code
from sme_credit.services import credit_profiles_refresh_from_events, credit_refresh


class Command(BaseCommand):
    help = "Recompute credit profiles and scores (default: organizations in bill events since the last run)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--org", action="append", default=[], metavar="CODE",
                            help="An organization's unified social credit code (repeatable).")
        parser.add_argument("--all", action="store_true", help="Every supplier, core enterprise and financier.")

    def handle(self, *args: object, **options: object) -> None:
        codes: list[str] = options["org"]  # type: ignore[assignment]
        if options["all"]:
            orgs = list(Organization.objects.filter(
                Q(is_supplier=True) | Q(is_core_enterprise=True) | Q(is_financier=True)).order_by("pk"))
        elif codes:
            orgs = []
            for code in codes:
                org = organization_by_credit_code(code)
                if org is None:
                    raise CommandError(f"No organization has the credit code {code!r}.")
                orgs.append(org)
        else:
            result = credit_profiles_refresh_from_events()
            if result["skipped"]:
                self.stdout.write("Another refresh is running; nothing done.")
            else:
                self.stdout.write(f"{result['organizations']} organization(s) refreshed up to bill event "
                                  f"{result['last_event_id']}.")
            return
        for org in orgs:
            score = credit_refresh(organization=org)
            self.stdout.write(f"{org.credit_code} {org.legal_name}: {score.score}")
