"""Development settings: every variable has a default that works on a developer's machine.

``DEBUG`` is off here too unless ``DEBUG=1``: ``make run`` shows people the portal's own error pages, never a
traceback or the URL conf. Static files are served by whitenoise straight from the apps' folders (finders),
unhashed, so a page renders whether or not ``collectstatic`` has run.
"""

import os

from finance_portal.env import env_bool, raw
from finance_portal.settings.anchor_keys import MAKE_RUN_ANCHORING
from finance_portal.settings.base import *  # noqa: F403
from finance_portal.settings.base import build

DEVELOPMENT_MODE = True
if not raw("ANCHOR_PRIVATE_KEY", default=""):  # Anvil's accounts: make run anchors with two of them
    for _name, _value in MAKE_RUN_ANCHORING.items():
        os.environ.setdefault(_name, _value)
globals().update(build(dev=True))
DEBUG = env_bool("DEBUG", default=False)
CELERY_BROKER_URL = REDIS_URL  # noqa: F405
CELERY_RESULT_BACKEND = REDIS_URL  # noqa: F405
WHITENOISE_USE_FINDERS = True
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
os.makedirs(STATIC_ROOT, exist_ok=True)  # noqa: F405
