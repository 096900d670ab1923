"""``manage.py reconcile``: does every bill's history in the database agree with the chain?

Events of both canonical formats are rebuilt from their columns (format 2 with its stored salts) and
checked; the summary counts them by format.

Exit code 0 when everything agrees, 1 when any bill differs (each is printed with what differs, by event),
2 when the chain cannot be read.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from bills.verification import reconcile
from chain_adapter.errors import ChainError


class Command(BaseCommand):
    help = "Recompute every bill's event hashes from the database and compare them with the on-chain heads."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("bill_ids", nargs="*", help="only these bills (UUIDs)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: object, **options: object) -> None:
        bill_ids = options["bill_ids"] or None
        try:
            result = reconcile(bill_ids=bill_ids)  # type: ignore[arg-type]
        except ChainError as err:
            self.stderr.write(f"reconcile: cannot read the chain: {err}")
            sys.exit(2)
        if options["json"]:
            self.stdout.write(json.dumps({
                "ok": result.ok, "bills": result.checked, "events": result.events, "pending": result.pending,
                "events_by_format": {str(k): v for k, v in sorted(result.by_format.items())},
                "discrepancies": [d.__dict__ for d in result.discrepancies],
            }, indent=2))
        else:
            for d in result.discrepancies:
                self.stdout.write(f"MISMATCH {d.number} ({d.bill_id})")
                for problem in d.problems:
                    self.stdout.write(f"  - {problem}")
            verdict = "database and chain agree" if result.ok else f"{len(result.discrepancies)} bill(s) differ"
            formats = ", ".join(f"{n} in format {k}" for k, n in sorted(result.by_format.items())) or "none"
            self.stdout.write(
                f"reconcile: {result.checked} bills, {result.events} events ({formats}; {result.pending} not "
                f"anchored yet): {verdict}"
            )
        if not result.ok:
            sys.exit(1)
