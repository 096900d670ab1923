"""Load the demo platform (idempotent). Refused outside development: demo passwords are public."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from finance_portal.portal import demo


class Command(BaseCommand):
    help = "Load the demo organizations, users and data (development only, idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        if not getattr(settings, "DEVELOPMENT_MODE", False):
            raise CommandError("Demo data has public passwords: it is refused outside development settings.")
        orgs = demo.load_demo_organizations()
        extra = getattr(demo, "load_demo_business", None)
        if extra is not None:
            extra(orgs)
        demo.load_demo_limits(orgs)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {len(orgs)} organizations."))
