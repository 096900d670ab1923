"""The Celery application. Redis is the broker; tasks take ids, are idempotent and acknowledge late."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finance_portal.settings.dev")

app = Celery("finance_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
