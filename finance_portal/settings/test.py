"""Test settings: development defaults, a fast password hasher, and a Celery queue of this run's own.

The queue name is unique per test session so a worker started by ``make run`` on the same Redis never
takes a test's task, and two test runs on one machine (or two xdist workers of one run) never take each other's.
"""

import os
import uuid

from finance_portal.settings.base import *  # noqa: F403
from finance_portal.settings.base import build

os.environ.setdefault("FP_TEST_RUN_ID", uuid.uuid4().hex[:12])
# Under pytest-xdist each worker process is a session of its own (its own test database, Anvil and Celery
# worker): its queue and cache keys carry the worker's name, and the processes it starts inherit both.
_RUN = os.environ["FP_TEST_RUN_ID"] + (f"-{os.environ['PYTEST_XDIST_WORKER']}"
                                       if os.environ.get("PYTEST_XDIST_WORKER") else "")

DEVELOPMENT_MODE = True
globals().update(build(dev=True))
CELERY_BROKER_URL = REDIS_URL  # noqa: F405
CELERY_RESULT_BACKEND = REDIS_URL  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = "test-" + _RUN
CACHES["default"]["KEY_PREFIX"] = "test-" + _RUN  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {  # noqa: F405
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AXES_ENABLED = True
WHITENOISE_USE_FINDERS = True
os.makedirs(STATIC_ROOT, exist_ok=True)  # noqa: F405
# Every compiled read is compiled afresh and compared on every call (finance_portal/compiled.py); the benchmarks'
# own gunicorn turns it off, as production has it.
COMPILED_READS_CHECK = os.environ.get("COMPILED_READS_CHECK", "1") == "1"
# Every statement with parameters is prepared the first time a connection runs it (production: the fifth time),
# so the suite runs the platform's queries as PREPARE/EXECUTE (finance_portal/database/base.py); the
# benchmarks' own gunicorn uses production's threshold.
DATABASE_PREPARE_THRESHOLD = int(os.environ.get("DATABASE_PREPARE_THRESHOLD", "1"))
