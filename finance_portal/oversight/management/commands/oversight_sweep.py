"""``manage.py oversight_sweep``: run every oversight rule now and store the flags (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from finance_portal.oversight.services import oversight_sweep


class Command(BaseCommand):
    help = "Run the oversight rules over every bill and store what they find as flags."

    def handle(self, *args: object, **options: object) -> None:
        result = oversight_sweep()
        for rule, n in sorted(result.by_rule.items()):
            self.stdout.write(f"{rule}: {n}")
        self.stdout.write(f"oversight_sweep: {result.created} new flag(s), {result.updated} updated")
