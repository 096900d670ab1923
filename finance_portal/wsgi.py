"""WSGI entry point (gunicorn in ``make run`` and in docker/)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finance_portal.settings.dev")
application = get_wsgi_application()
