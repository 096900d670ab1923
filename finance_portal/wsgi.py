"""WSGI entry point (gunicorn in ``make run`` and in docker/).

After loading the application it loads every URL pattern (so every view module) and freezes the garbage
collector's view of what exists by then (``gc.freeze``): the ~200,000 long-lived objects of Django, DRF and the
apps are no longer scanned by each full collection. Measured in one process serving 630 portal requests: three
full collections of about 200 ms each without it, eight of about 24 ms with it.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finance_portal.settings.dev")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - imports every view module now, before the freeze
gc.freeze()
