"""``manage.py bills_mark_overdue``: run the overdue and default sweep now (Celery beat runs it daily)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from bills.services import bills_mark_overdue_and_default


class Command(BaseCommand):
    help = "Mark overdue the bills unpaid past maturity, and defaulted those past the grace period."

    def handle(self, *args: object, **options: object) -> None:
        counts = bills_mark_overdue_and_default()
        self.stdout.write(f"{counts['overdue']} bill(s) marked overdue, {counts['defaulted']} defaulted.")
