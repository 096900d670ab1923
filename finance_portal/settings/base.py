"""Settings shared by every environment; each value comes from the environment through ``finance_portal.env``.

Development defaults live in ``dev.py``; ``production.py`` requires every secret and hardens the transport.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chain_adapter.devnet import DEV_ACCOUNTS
from finance_portal.env import (
    _MISSING,
    BASE_DIR,
    SettingError,
    env_bool,
    env_decimal,
    env_int,
    env_list,
    env_str,
    env_url,
)
from finance_portal.settings.anchor_keys import check_anchor_key, extra_sender_keys
from finance_portal.settings.database import database_settings

DEVELOPMENT_MODE: bool = False  # dev.py and test.py set it before importing the rest

# Anvil's first development account (the development default). Public knowledge: every Anvil dev key is
# refused on any chain that is not a devnet. One list of keys and chain ids, in chain_adapter.devnet.
ANVIL_DEV_PRIVATE_KEY = DEV_ACCOUNTS[0][1]

# The settings ``build()`` returns, which dev.py, test.py and production.py put in their module with
# ``globals().update(build(...))``: declared here with their types (annotations only, no values), so that type
# checkers (django-stubs reads ``settings.X`` from the settings module) see them. Keep in step with build():
# tests/foundation/test_settings.py compares the two.
DEBUG: bool
SECRET_KEY: str
ALLOWED_HOSTS: list[str]
CSRF_TRUSTED_ORIGINS: list[str]
DATABASES: dict[str, dict[str, Any]]
REDIS_URL: str
CACHES: dict[str, dict[str, Any]]
DATABASE_PREPARE_THRESHOLD: int
DATABASE_PREPARED_MAX: int
ETH_RPC_URL: str
CHAIN_ID: int
ANCHOR_PRIVATE_KEY: str
ANCHOR_EXTRA_PRIVATE_KEYS: list[str]
ANVIL_STATE_FILE: str
CELERY_TASK_DEFAULT_QUEUE: str
ANCHOR_BATCH_SIZE: int
ANCHOR_MAX_WAIT_SECONDS: float
ANCHOR_CONFIRMATIONS: int
ANCHOR_MAX_IN_FLIGHT: int
ANCHOR_FEE_BUMP_AFTER_SECONDS: int
BILL_MAX_TENOR_DAYS: int
BILL_GRACE_DAYS: int
DEFAULT_CURRENCY: str
BILL_MAX_FACE: Decimal
BILL_MIN_FACE: Decimal
BILL_EVENT_FORMAT: int
VERIFY_RATE_LIMIT: int
VERIFY_RATE_WINDOW_SECONDS: int
VERIFY_CLIENT_ADDRESS_HEADER: str
VERIFY_CHAIN_CACHE_SECONDS: int
VERIFY_CHAIN_ERROR_CACHE_SECONDS: int
VERIFY_PENDING_CACHE_SECONDS: int
VERIFY_LOG_BLOCK_RANGE: int
BILL_OFFER_DEFAULT_HOURS: int
BILL_OFFER_MAX_DAYS: int
PLATFORM_FEE_RATE: Decimal
MEDIA_ROOT: str
INVOICE_MAX_BYTES: int
INVOICE_ZIP_MAX_TOTAL: int
INVOICE_ZIP_MAX_RATIO: int
INVOICE_ZIP_MAX_MEMBERS: int
STATIC_ROOT: str
ADMIN_REQUIRE_2FA: bool
AUDIT_TRUSTED_PROXIES: list[str]
AXES_FAILURE_LIMIT: int
OVERSIGHT_QUICK_FINANCING_MINUTES: int
OVERSIGHT_QUICK_FINANCING_COUNT: int
OVERSIGHT_OUTLIER_FACTOR: Decimal
OVERSIGHT_OUTLIER_MIN_HISTORY: int
OVERSIGHT_OUTLIER_HISTORY: int
OVERSIGHT_OUTLIER_Z: Decimal
OVERSIGHT_NO_INVOICE_THRESHOLD: Decimal
OVERSIGHT_CIRCULAR_WINDOW_DAYS: int
OVERSIGHT_RECONCILE_SECONDS: int
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]]
MONEY_REQUIRES_2FA: bool
SESSION_COOKIE_AGE: int
LOG_FORMAT: str
LOGGING: dict[str, Any]
METRICS_TOKEN: str
READYZ_MAX_ANCHOR_LAG_SECONDS: int
HEALTH_RPC_TIMEOUT_MS: int
EMAIL_BACKEND: str
EMAIL_HOST: str
EMAIL_PORT: int
DEFAULT_FROM_EMAIL: str
PORTAL_BASE_URL: str


def build(dev: bool) -> dict[str, object]:
    """Return the settings dict for ``dev`` (development defaults) or production (no secret defaults)."""
    s: dict[str, object] = {}

    def dflt(value: object) -> object:
        # Development gets a working default; production must set the variable.
        return value if dev else _MISSING

    debug = env_bool("DEBUG", default=dev)
    secret = env_str("SECRET_KEY", default=dflt("dev-insecure-secret-key-change-me-0123456789abcdefghijklmnop"))
    if not dev and (len(secret) < 50 or secret.startswith("dev-insecure") or len(set(secret)) < 5):
        raise SettingError(
            "SECRET_KEY is missing or weak: production needs a random value of at least 50 characters."
        )
    s["DEBUG"] = debug
    s["SECRET_KEY"] = secret
    s["ALLOWED_HOSTS"] = env_list("ALLOWED_HOSTS", default=dflt("127.0.0.1,localhost,[::1],testserver"))
    if not dev and "*" in s["ALLOWED_HOSTS"]:  # type: ignore[operator]
        raise SettingError("ALLOWED_HOSTS must name the portal's hosts in production, not '*'.")
    s["CSRF_TRUSTED_ORIGINS"] = env_list("CSRF_TRUSTED_ORIGINS", default="")

    database_url = env_url(
        "DATABASE_URL",
        default=dflt("postgres://postgres@127.0.0.1:5432/finance_portal"),
        schemes=("postgres", "postgresql", "pgsql"),
    )
    s.update(database_settings(database_url))

    redis_url = env_url("REDIS_URL", default=dflt("redis://127.0.0.1:6379/0"), schemes=("redis", "rediss"))
    s["REDIS_URL"] = redis_url
    s["CACHES"] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", default="fp"),
        }
    }

    # Ethereum
    s["ETH_RPC_URL"] = env_url("ETH_RPC_URL", default=dflt("http://127.0.0.1:8545"), schemes=("http", "https", "ws", "wss"))
    chain_id = env_int("CHAIN_ID", default=dflt(31337), minimum=1)
    s["CHAIN_ID"] = chain_id
    anchor_key = env_str("ANCHOR_PRIVATE_KEY", default=dflt(ANVIL_DEV_PRIVATE_KEY))
    check_anchor_key(anchor_key, chain_id)
    s["ANCHOR_PRIVATE_KEY"] = anchor_key
    s["ANCHOR_EXTRA_PRIVATE_KEYS"] = extra_sender_keys(
        main_key=anchor_key, extra=env_list("ANCHOR_EXTRA_PRIVATE_KEYS", default=""), chain_id=chain_id, dev=dev,
        senders=env_int("ANCHOR_SENDERS", default=1 + len(env_list("ANCHOR_EXTRA_PRIVATE_KEYS", default=""))))
    s["ANVIL_STATE_FILE"] = env_str("ANVIL_STATE_FILE", default=str(BASE_DIR / ".run" / "anvil" / "state.json"))
    s["CELERY_TASK_DEFAULT_QUEUE"] = env_str("CELERY_QUEUE", default="finance_portal")
    s["ANCHOR_BATCH_SIZE"] = env_int("ANCHOR_BATCH_SIZE", default=50, minimum=1)
    max_wait = env_decimal("ANCHOR_MAX_WAIT_SECONDS", default="2")  # fractions allowed: 0.5
    if not (max_wait.is_finite() and 0 <= max_wait <= 3600):
        raise SettingError(f"ANCHOR_MAX_WAIT_SECONDS={max_wait} must be between 0 and 3600 seconds.")
    s["ANCHOR_MAX_WAIT_SECONDS"] = float(max_wait)
    s["ANCHOR_CONFIRMATIONS"] = env_int("ANCHOR_CONFIRMATIONS", default=1, minimum=1)
    s["ANCHOR_MAX_IN_FLIGHT"] = env_int("ANCHOR_MAX_IN_FLIGHT", default=8, minimum=1)
    s["ANCHOR_FEE_BUMP_AFTER_SECONDS"] = env_int("ANCHOR_FEE_BUMP_AFTER_SECONDS", default=60, minimum=1)

    # Business rules
    s["BILL_MAX_TENOR_DAYS"] = env_int("BILL_MAX_TENOR_DAYS", default=365, minimum=1)
    s["BILL_GRACE_DAYS"] = env_int("BILL_GRACE_DAYS", default=30, minimum=0)
    s["DEFAULT_CURRENCY"] = env_str("DEFAULT_CURRENCY", default="CNY")
    # The face of a bill (and of each part of a split) lies between these, in the bill's currency.
    s["BILL_MAX_FACE"] = env_decimal("BILL_MAX_FACE", default="100000000.00")
    s["BILL_MIN_FACE"] = env_decimal("BILL_MIN_FACE", default="100.00")
    # Canonical format of new bill events (2: salted field commitments, docs/bundle-v2.md; 1: the first format).
    s["BILL_EVENT_FORMAT"] = env_int("BILL_EVENT_FORMAT", default=2, minimum=1)
    if s["BILL_EVENT_FORMAT"] not in (1, 2):
        raise SettingError("BILL_EVENT_FORMAT must be 1 or 2.")
    # Public verification pages: a rate limit per client address (0 turns it off), the header a reverse proxy
    # puts the client's address in (empty: REMOTE_ADDR), how long the chain's view of a bill is cached, and
    # how many blocks one log query may span.
    s["VERIFY_RATE_LIMIT"] = env_int("VERIFY_RATE_LIMIT", default=60, minimum=0)
    s["VERIFY_RATE_WINDOW_SECONDS"] = env_int("VERIFY_RATE_WINDOW_SECONDS", default=60, minimum=1)
    s["VERIFY_CLIENT_ADDRESS_HEADER"] = env_str("VERIFY_CLIENT_ADDRESS_HEADER", default="")
    s["VERIFY_CHAIN_CACHE_SECONDS"] = env_int("VERIFY_CHAIN_CACHE_SECONDS", default=24 * 3600, minimum=1)
    s["VERIFY_CHAIN_ERROR_CACHE_SECONDS"] = env_int("VERIFY_CHAIN_ERROR_CACHE_SECONDS", default=10, minimum=1)
    s["VERIFY_PENDING_CACHE_SECONDS"] = env_int("VERIFY_PENDING_CACHE_SECONDS", default=5, minimum=1)
    s["VERIFY_LOG_BLOCK_RANGE"] = env_int("VERIFY_LOG_BLOCK_RANGE", default=10_000, minimum=1)
    # How long a financier's offer on a listed bill stands when it names no expiry, and at most.
    s["BILL_OFFER_DEFAULT_HOURS"] = env_int("BILL_OFFER_DEFAULT_HOURS", default=72, minimum=1)
    s["BILL_OFFER_MAX_DAYS"] = env_int("BILL_OFFER_MAX_DAYS", default=30, minimum=1)
    s["PLATFORM_FEE_RATE"] = env_decimal("PLATFORM_FEE_RATE", default="0")
    if s["PLATFORM_FEE_RATE"] < Decimal("0"):  # type: ignore[operator]
        raise SettingError("PLATFORM_FEE_RATE must not be negative.")

    s["MEDIA_ROOT"] = env_str("MEDIA_ROOT", default=str(BASE_DIR / ".run" / "media"))
    # Invoice uploads (invoices/files.py): the largest file, and what a ZIP container (an OFD) may expand to,
    # in total and per compressed byte (per member and overall), and how many entries it may hold.
    s["INVOICE_MAX_BYTES"] = env_int("INVOICE_MAX_BYTES", default=10 * 1024 * 1024, minimum=1)
    s["INVOICE_ZIP_MAX_TOTAL"] = env_int("INVOICE_ZIP_MAX_TOTAL", default=64 * 1024 * 1024, minimum=1)
    s["INVOICE_ZIP_MAX_RATIO"] = env_int("INVOICE_ZIP_MAX_RATIO", default=100, minimum=1)
    s["INVOICE_ZIP_MAX_MEMBERS"] = env_int("INVOICE_ZIP_MAX_MEMBERS", default=1000, minimum=1)
    s["STATIC_ROOT"] = env_str("STATIC_ROOT", default=str(BASE_DIR / ".run" / "staticfiles"))
    s["ADMIN_REQUIRE_2FA"] = env_bool("ADMIN_REQUIRE_2FA", default=not dev)
    # Financier users and platform staff enter a one-time code (TOTP) before money moves
    # (finance_portal/portal/second_factor.py); off by default in development so the demo runs without an app.
    s["MONEY_REQUIRES_2FA"] = env_bool("MONEY_REQUIRES_2FA", default=not dev)
    # A session ends after this many minutes without a request (sliding: every request renews it).
    s["SESSION_COOKIE_AGE"] = 60 * env_int("SESSION_IDLE_MINUTES", default=30, minimum=1)
    s["AXES_FAILURE_LIMIT"] = env_int("AXES_FAILURE_LIMIT", default=5, minimum=1)
    # The audit log (finance_portal/audit) takes the client's address from X-Forwarded-For only when the
    # request came from one of these proxy addresses (comma-separated); REMOTE_ADDR otherwise.
    s["AUDIT_TRUSTED_PROXIES"] = env_list("AUDIT_TRUSTED_PROXIES", default="")
    # Oversight rules (finance_portal/oversight/rules.py): a debtor is flagged on a day when this many of its bills
    # were bought within this many minutes of acceptance; a face whose robust z-score on log amounts against the
    # creditor's last HISTORY bills (given MIN_HISTORY of them) exceeds Z is flagged (when those bills mostly
    # share one face, a face more than FACTOR times off it); a root bill without invoices above NO_INVOICE_THRESHOLD
    # (in DEFAULT_CURRENCY); a cycle of holders closed within CIRCULAR_WINDOW_DAYS. Bills are reconciled with
    # the chain every RECONCILE_SECONDS (and after each anchoring batch).
    s["OVERSIGHT_QUICK_FINANCING_MINUTES"] = env_int("OVERSIGHT_QUICK_FINANCING_MINUTES", default=30, minimum=1)
    s["OVERSIGHT_QUICK_FINANCING_COUNT"] = env_int("OVERSIGHT_QUICK_FINANCING_COUNT", default=5, minimum=1)
    s["OVERSIGHT_OUTLIER_FACTOR"] = env_decimal("OVERSIGHT_OUTLIER_FACTOR", default="10")
    s["OVERSIGHT_OUTLIER_MIN_HISTORY"] = env_int("OVERSIGHT_OUTLIER_MIN_HISTORY", default=5, minimum=1)
    s["OVERSIGHT_OUTLIER_HISTORY"] = env_int("OVERSIGHT_OUTLIER_HISTORY", default=20, minimum=1)
    s["OVERSIGHT_OUTLIER_Z"] = env_decimal("OVERSIGHT_OUTLIER_Z", default="3.5")
    s["OVERSIGHT_NO_INVOICE_THRESHOLD"] = env_decimal("OVERSIGHT_NO_INVOICE_THRESHOLD", default="1000000.00")
    s["OVERSIGHT_CIRCULAR_WINDOW_DAYS"] = env_int("OVERSIGHT_CIRCULAR_WINDOW_DAYS", default=30, minimum=1)
    s["OVERSIGHT_RECONCILE_SECONDS"] = env_int("OVERSIGHT_RECONCILE_SECONDS", default=3600, minimum=60)
    s["CELERY_BEAT_SCHEDULE"] = {**BEAT_SCHEDULE_FIXED, "oversight-reconcile": {
        "task": "oversight.reconcile", "schedule": float(s["OVERSIGHT_RECONCILE_SECONDS"])}}  # type: ignore[arg-type]
    # Operations (finance_portal/portal/health.py, metrics.py, requestid.py): log lines as text or one JSON
    # object each; the bearer token that may read /metrics besides loopback and staff (empty: none); /readyz
    # fails when the oldest pending anchor record is older than this; how long it waits for the node.
    s["LOG_FORMAT"] = env_str("LOG_FORMAT", default="text" if dev else "json")
    if s["LOG_FORMAT"] not in ("text", "json"):
        raise SettingError("LOG_FORMAT must be text or json.")
    s["LOGGING"] = logging_config(str(s["LOG_FORMAT"]))
    s["METRICS_TOKEN"] = env_str("METRICS_TOKEN", default="")
    s["READYZ_MAX_ANCHOR_LAG_SECONDS"] = env_int("READYZ_MAX_ANCHOR_LAG_SECONDS", default=300, minimum=1)
    s["HEALTH_RPC_TIMEOUT_MS"] = env_int("HEALTH_RPC_TIMEOUT_MS", default=2000, minimum=1)
    # Notification emails (finance_portal/notifications/emails.py): printed to the console in development; the
    # SMTP server of EMAIL_HOST/EMAIL_PORT in production; links in them start with PORTAL_BASE_URL.
    s["EMAIL_BACKEND"] = env_str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend" if dev
                                 else "django.core.mail.backends.smtp.EmailBackend")
    s["EMAIL_HOST"], s["EMAIL_PORT"] = env_str("EMAIL_HOST", default="localhost"), env_int("EMAIL_PORT", default=25)
    s["DEFAULT_FROM_EMAIL"] = env_str("DEFAULT_FROM_EMAIL", default="portal@localhost")
    s["PORTAL_BASE_URL"] = env_str("PORTAL_BASE_URL", default="http://127.0.0.1:8000" if dev else "")
    return s


def logging_config(log_format: str) -> dict[str, Any]:
    """``LOGGING``: every record gets the request id (``finance_portal.portal.requestid``); text or JSON lines."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "finance_portal.portal.requestid.RequestIdFilter"}},
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
            "json": {"()": "finance_portal.logging_json.JsonFormatter"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["request_id"]}},
        "root": {"handlers": ["console"], "level": "INFO"},
        "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
    }


# ---------------------------------------------------------------------------------------------------------
# Static parts, identical everywhere
# ---------------------------------------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "finance_portal.organizations",
    "finance_portal.ledger",
    "finance_portal.portal",
    "finance_portal.oversight",
    "finance_portal.audit",
    "finance_portal.notifications",
    "chain_adapter",
    "invoices",
    "bills",
    "sme_credit",
]

MIDDLEWARE = [
    "finance_portal.portal.requestid.RequestIdMiddleware",  # first: every log line of the request has its id
    "finance_portal.portal.metrics.MetricsMiddleware",
    "finance_portal.portal.security.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "finance_portal.portal.sessions.SlidingSessionMiddleware",  # after it: renews the session once a minute
    "django.middleware.locale.LocaleMiddleware",  # the language: the switcher's cookie, else Accept-Language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Outside the audit log and every check below: the viewer's membership is read once per request.
    "finance_portal.organizations.middleware.MembershipCacheMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "finance_portal.audit.middleware.AuditMiddleware",
    # Inside the audit log, so a regulator's refused write is recorded too.
    "finance_portal.portal.middleware.RegulatorReadOnlyMiddleware",
    "finance_portal.portal.second_factor.MoneySecondFactorMiddleware",
]

# Sessions slide: a request renews them (at most once a minute, finance_portal/portal/sessions.py), so
# SESSION_COOKIE_AGE (build(), SESSION_IDLE_MINUTES) is the idle time after which the user signs in again.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_RENEW_SECONDS = 60

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "finance_portal.urls"
WSGI_APPLICATION = "finance_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "finance_portal.portal.context_processors.membership",
                "finance_portal.notifications.context_processors.unread_notifications",
            ],
        },
    },
]

# What else an organization gets when it is registered: dotted paths of callables taking ``organization=``,
# called in organization_create's transaction (the organizations app never imports the ledger).
ORGANIZATION_CREATED_HOOKS = ["finance_portal.ledger.services.account_open_default_cash"]

# What a bill purchase checks first (DESIGN §2): dotted paths of callables ``policy(*, bill, buyer, price)`` that
# refuse by raising a domain error, run under the bill's row lock (``bills`` never imports ``sme_credit``).
BILL_PURCHASE_POLICIES = ["sme_credit.policies.exposure_within_limit"]
# Checks run before a core enterprise comes to owe a bill (issuing it, accepting it), as dotted paths called
# with debtor, face, currency and number; each refuses by raising a domain error (DESIGN §2: bills never
# imports the app that provides them).
BILL_OBLIGATION_POLICIES = ["sme_credit.policies.issuing_within_limit"]
# Told of each bill event as it is appended: dotted paths of callables ``hook(*, bill_id, event_type)``, called
# inside the event's transaction (defer work with ``transaction.on_commit``); bills never imports oversight.
BILL_EVENT_HOOKS = ["finance_portal.oversight.hooks.bill_event_appended",
                    "finance_portal.notifications.hooks.bill_event_appended"]
# Told of what needs an answer on a bill without being a bill event (an offer made, an early settlement asked
# for): ``hook(*, bill_id, activity, params)``, inside the transaction (bills.services.core.tell_activity).
BILL_ACTIVITY_HOOKS = ["finance_portal.notifications.hooks.bill_activity"]
# Told of anchor records confirmed on chain: dotted paths of callables ``hook(*, keys)`` (the records' keys, e.g.
# bill keys), called inside the confirming transaction; chain_adapter never imports the apps behind them.
ANCHOR_CONFIRMED_HOOKS = ["finance_portal.oversight.hooks.anchors_confirmed"]
# Annotates a queryset with organizations' latest credit scores: ``annotate(qs, name="fk_path", ...)``; the
# marketplace sorts by it (bills never imports sme_credit).
ORGANIZATION_SCORE_ANNOTATION = "sme_credit.selectors.annotate_latest_scores"
# Builds each role's landing dashboard, ``dashboard(*, user, organization, role)`` (it sits above the portal).
PORTAL_DASHBOARD = "finance_portal.notifications.worklists.dashboard"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Asia/Shanghai"  # shown to users; everything is stored in UTC
USE_I18N = True
# The portal's languages; the catalogue is locale/zh_Hans/LC_MESSAGES/django.po, compiled by bootstrap
# (finance_portal.bootstrap.compile_messages); English is the source language and the default.
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

CSRF_FAILURE_VIEW = "finance_portal.portal.errors_views.csrf_failure"
STATIC_URL = "/static/"
# The project's own assets, then htmx and Chart.js copied from node_modules by bootstrap (VENDOR_ASSETS).
STATICFILES_DIRS = [BASE_DIR / "finance_portal" / "static", BASE_DIR / ".run" / "vendor"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

AXES_COOLOFF_TIME = 0.25  # hours locked out after too many failures
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_LOCKOUT_CALLABLE = "finance_portal.portal.security.lockout_response"  # JSON 429 for the API, the page otherwise

# The API's framework and schema settings live in their own module (finance_portal/settings/api.py).
from finance_portal.settings.api import REST_FRAMEWORK, SPECTACULAR_SETTINGS  # noqa: E402,F401

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Task names are a contract with the apps that define them. build() adds the entries whose period comes from
# the environment and returns the whole CELERY_BEAT_SCHEDULE.
BEAT_SCHEDULE_FIXED: dict[str, dict[str, object]] = {
    "anchoring-sweeper": {"task": "chain_adapter.sweep", "schedule": 15.0},
    "bills-overdue-and-default": {"task": "bills.mark_overdue", "schedule": 3600.0},
    "credit-refresh-profiles": {"task": "sme_credit.refresh_profiles", "schedule": 300.0},
    "oversight-sweep": {"task": "oversight.sweep", "schedule": 600.0},
}

# Browser hardening in every environment (HSTS in production.py only). Content-Security-Policy: no inline
# script or style anywhere (finance_portal/portal/security.py); the Swagger UI renders its start-up script
# inline and sets inline styles, so /api/docs/ alone gets them (nothing else is served under that prefix).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
CONTENT_SECURITY_POLICY_EXCEPTIONS = {
    "/api/docs/": CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
    .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
}
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# The debug page (DEBUG on) and error reports mask keys, mnemonics, RPC/broker URLs and URL passwords.
DEFAULT_EXCEPTION_REPORTER_FILTER = "finance_portal.portal.security.PortalExceptionReporterFilter"
