"""``manage.py ledger_check``: prove the ledger from its rows (DESIGN §5).

Prints the totals per currency, then every problem found; exits 1 when there is any: an entry that does not
sum to zero (or has fewer than two postings, or mixes currencies), a negative cash balance, or money held on
the platform that differs from deposits minus withdrawals. The checks trust no trigger, so they also catch
edits made with triggers disabled.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from finance_portal.ledger.models import AccountKind, JournalEntry
from finance_portal.ledger.selectors import ZERO, ledger_problems, totals_by_currency


class Command(BaseCommand):
    help = "Check that every entry balances, no cash balance is negative, and money held equals money banked."

    def handle(self, *args: Any, **options: Any) -> None:
        totals = totals_by_currency()
        self.stdout.write(f"{JournalEntry.objects.count()} journal entries")
        for currency, kinds in sorted(totals.items()):
            cash = kinds.get(AccountKind.CASH, ZERO)
            fees = kinds.get(AccountKind.FEE_INCOME, ZERO)
            banked = -kinds.get(AccountKind.BANK_CLEARING, ZERO)
            self.stdout.write(
                f"{currency}: organizations' cash {cash}, fee income {fees}, deposits minus withdrawals {banked}"
            )
        problems = ledger_problems()
        if not problems:
            self.stdout.write("ledger sound: every entry balances, no negative balance, money held equals money banked")
            return
        for problem in problems:
            self.stderr.write(f"PROBLEM: {problem}")
        raise CommandError(f"ledger_check found {len(problems)} problem(s)")
