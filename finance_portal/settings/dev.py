"""Development settings: every variable has a default that works on a developer's machine."""

import os

from finance_portal.settings.base import *  # noqa: F403
from finance_portal.settings.base import build

DEVELOPMENT_MODE = True
globals().update(build(dev=True))
CELERY_BROKER_URL = REDIS_URL  # noqa: F405
CELERY_RESULT_BACKEND = REDIS_URL  # noqa: F405
WHITENOISE_USE_FINDERS = True
os.makedirs(STATIC_ROOT, exist_ok=True)  # noqa: F405
