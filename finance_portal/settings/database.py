"""The database part of ``build()``: the connection from ``DATABASE_URL`` and how often a statement is run
before it is prepared (``finance_portal.database``)."""

from __future__ import annotations

import dj_database_url

from finance_portal.env import env_int, env_str

PREPARE_THRESHOLD = 5  # DATABASE_PREPARE_THRESHOLD's default, as psycopg 3's
PREPARED_MAX = 100  # DATABASE_PREPARED_MAX's default


def database_settings(database_url: str) -> dict[str, object]:
    db = dj_database_url.parse(database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", default=60, minimum=0))
    db["ENGINE"] = "finance_portal.database"  # Django's PostgreSQL backend, preparing frequent statements
    db["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", default="test_finance_portal")}
    db.setdefault("OPTIONS", {})["connect_timeout"] = 5
    return {
        "DATABASES": {"default": db},
        # A statement run this often on one connection is prepared there (0: never); at most this many each.
        "DATABASE_PREPARE_THRESHOLD": env_int("DATABASE_PREPARE_THRESHOLD", default=PREPARE_THRESHOLD, minimum=0),
        "DATABASE_PREPARED_MAX": env_int("DATABASE_PREPARED_MAX", default=PREPARED_MAX, minimum=1),
    }
