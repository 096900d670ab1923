"""The Celery application. Redis is the broker; tasks take ids, are idempotent and acknowledge late.

A task queued while a web request runs carries the request's id in its message headers, and log lines the
worker writes while running it show that id (``finance_portal.portal.requestid``). The worker logs through
Django's ``LOGGING`` (text or JSON lines, with the request id), not through a root logger of Celery's own.
"""

import os

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from finance_portal.portal import requestid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finance_portal.settings.dev")

app = Celery("finance_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

before_task_publish.connect(requestid.on_before_task_publish, weak=False)
task_prerun.connect(requestid.on_task_prerun, weak=False)
task_postrun.connect(requestid.on_task_postrun, weak=False)


@setup_logging.connect(weak=False)
def _django_logging(**_: object) -> None:
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
