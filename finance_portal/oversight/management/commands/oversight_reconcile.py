"""``manage.py oversight_reconcile``: reconcile bills with the chain now and store the run (trigger ``manual``).

Exit code 0 when everything agrees, 1 when a bill differs (each raises its ``chain_mismatch`` flag), 2 when
the chain cannot be read (the run is stored with its error).
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from finance_portal.oversight.models import ReconciliationTrigger
from finance_portal.oversight.services import reconciliation_run


class Command(BaseCommand):
    help = "Reconcile every bill (or the bills given) with the chain and store the run for the oversight pages."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("bill_ids", nargs="*", help="only these bills (UUIDs)")

    def handle(self, *args: object, **options: object) -> None:
        run = reconciliation_run(trigger=ReconciliationTrigger.MANUAL,
                                 bill_ids=options["bill_ids"] or None)  # type: ignore[arg-type]
        if run.error:
            self.stderr.write(f"oversight_reconcile: run {run.pk}: {run.error}")
            sys.exit(2)
        for d in run.details:
            self.stdout.write(f"MISMATCH {d['number']} ({d['bill']}): " + "; ".join(d["problems"]))
        self.stdout.write(f"oversight_reconcile: run {run.pk}: {run.bills_checked} bills, {run.events_checked} "
                          f"events, {run.mismatches} mismatch(es)")
        if run.mismatches:
            sys.exit(1)
