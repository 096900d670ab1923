"""Test settings: development defaults, a fast password hasher, and a Celery queue of this run's own.

The queue name is unique per test session so a worker started by ``make run`` on the same Redis never
takes a test's task, and two test runs on one machine never take each other's.
"""

import os
import uuid

from finance_portal.settings.base import *  # noqa: F403
from finance_portal.settings.base import build

os.environ.setdefault("FP_TEST_RUN_ID", uuid.uuid4().hex[:12])

DEVELOPMENT_MODE = True
globals().update(build(dev=True))
CELERY_BROKER_URL = REDIS_URL  # noqa: F405
CELERY_RESULT_BACKEND = REDIS_URL  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = "test-" + os.environ["FP_TEST_RUN_ID"]
CACHES["default"]["KEY_PREFIX"] = "test-" + os.environ["FP_TEST_RUN_ID"]  # noqa: F405
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
