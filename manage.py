#!/usr/bin/env python
"""Django's command-line utility for the finance portal."""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finance_portal.settings.dev")
    from django.core.management import execute_from_command_line

    from finance_portal.env import SettingError

    try:
        execute_from_command_line(sys.argv)
    except SettingError as err:
        # A missing or malformed variable: one line that names it, not a traceback.
        print(f"Configuration error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
