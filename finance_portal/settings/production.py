"""Production settings: no secret has a default, HTTPS everywhere, admin behind two-factor login.

Required: SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL, ETH_RPC_URL, CHAIN_ID, ANCHOR_PRIVATE_KEY.
"""

from finance_portal.env import SettingError, env_bool, env_int
from finance_portal.settings.base import *  # noqa: F403
from finance_portal.settings.base import build

globals().update(build(dev=False))
if DEBUG:  # noqa: F405
    # The debug page shows settings, the environment and source code to anyone who makes an error happen.
    raise SettingError("DEBUG is on: production refuses to start with DEBUG=1 (unset DEBUG or set it to 0).")
CELERY_BROKER_URL = REDIS_URL  # noqa: F405
CELERY_RESULT_BACKEND = REDIS_URL  # noqa: F405

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
