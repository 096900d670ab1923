"""Reading settings from the environment, in one place.

Every setting the portal takes from outside goes through these helpers, so a missing or malformed value
stops start-up with one line that names the variable (``ImproperlyConfigured``), never a traceback deep in
a library. ``.run/local.env``, written by ``python -m finance_portal.bootstrap`` when it had to start
private PostgreSQL or Redis instances, supplies defaults for variables the real environment leaves unset.
"""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_ENV_FILE = BASE_DIR / ".run" / "local.env"



class SettingError(ImproperlyConfigured):
    """A missing or malformed environment variable. ``manage.py`` prints its one line and exits 2."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_MISSING = object()


def _read_local_env() -> dict[str, str]:
    values: dict[str, str] = {}
    if not LOCAL_ENV_FILE.exists():
        return values
    for line in LOCAL_ENV_FILE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


_LOCAL = _read_local_env()


def raw(name: str, default: object = _MISSING) -> str:
    """The variable's text; ``default`` when unset; refuses start-up when unset and no default."""
    if name in os.environ:
        return os.environ[name]
    if name in _LOCAL:
        return _LOCAL[name]
    if default is _MISSING:
        raise SettingError(f"Set the environment variable {name}: it is required and has no default here.")
    return default  # type: ignore[return-value]


def env_str(name: str, default: str | object = _MISSING) -> str:
    return raw(name, default)


def env_bool(name: str, default: bool | object = _MISSING) -> bool:
    value = raw(name, default)
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingError(f"{name}={value!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")


def env_int(name: str, default: int | object = _MISSING, *, minimum: int | None = None) -> int:
    value = raw(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SettingError(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise SettingError(f"{name}={number} is below its minimum of {minimum}.")
    return number


def env_decimal(name: str, default: str | object = _MISSING) -> Decimal:
    value = raw(name, default)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise SettingError(f"{name}={value!r} is not a decimal number.") from None


def env_list(name: str, default: str | object = _MISSING) -> list[str]:
    value = raw(name, default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str | object = _MISSING, *, schemes: tuple[str, ...]) -> str:
    value = raw(name, default)
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.hostname or parsed.path):
        raise SettingError(
            f"{name}={value!r} is not a valid URL: expected a {' or '.join(schemes)} URL."
        )
    return value
