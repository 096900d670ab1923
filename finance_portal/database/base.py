"""PostgreSQL through psycopg2, with the statements a connection runs often prepared on it once.

PostgreSQL parses, analyses and plans every statement it is sent. For the short reads and writes of a bill
transition that was most of the database's work: planning alone took 2.9 ms of each transition's 5 ms of
PostgreSQL CPU (pg_stat_statements, 839 transitions through the API; the bill detail's joined read 1.7 ms to
plan, 0.25 ms to run). psycopg2 never prepares a statement; this backend does what psycopg 3 does by itself:

- a statement with parameters (SELECT, INSERT, UPDATE, DELETE, WITH; at most ``MOST_PARAMETERS``) run
  ``DATABASE_PREPARE_THRESHOLD`` times on one connection is prepared there, ``PREPARE fp_N AS …`` with ``$n`` for
  psycopg2's placeholders, and from then on sent as ``EXECUTE fp_N(…)`` with the same values (PostgreSQL
  plans it for the values, and after five runs keeps a generic plan when that costs no more: then nothing is
  planned at all);
- at most ``DATABASE_PREPARED_MAX`` statements per connection, the least recently used deallocated;
- a statement PostgreSQL refuses to prepare (a parameter whose type it cannot infer) is run as written and not
  tried again on that connection; the attempt sits in a savepoint inside a transaction, so it costs nothing else.

Everything above the DB-API cursor sees the statement as written: Django's query log, the queries tests
capture and count (``last_executed_query`` renders the original), ``rowcount`` and ``description``. Server-side
cursors (``iterator()``) are left alone. Prepared statements live as long as the connection
(``DB_CONN_MAX_AGE``) and survive a rolled-back transaction; a migration that changes a table re-plans them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import psycopg2
import psycopg2.extensions
from django.conf import settings
from django.db.backends.postgresql import base, operations

from finance_portal.settings.database import PREPARE_THRESHOLD, PREPARED_MAX

PREPARABLE = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
COUNTED_MAX = 2000  # distinct statements counted per connection before the counts start over
# A statement with more parameters (a batch's IN list, a bulk insert) is never prepared: its planning is a small
# share of its cost, each count of values is a statement of its own, and the anchoring worker, whose batches of
# 200 records are such statements, anchored 5 % less with them prepared (2,079 / 2,055 against 2,178 / 2,174
# events/s, alternating runs of 40,000 events; the same with the limit: 2,203 / 2,153 against 2,170 / 2,153).
MOST_PARAMETERS = 32


def dollar_sql(sql: str, count: int) -> str | None:
    """``sql`` with psycopg2's ``count`` positional placeholders as ``$1…$n`` and ``%%`` as ``%``; None when
    it has any other ``%`` sequence (named placeholders), a ``$`` of its own, or another number of ``%s``."""
    if "$" in sql:
        return None
    out: list[str] = []
    n, i, size = 0, 0, len(sql)
    while i < size:
        c = sql[i]
        if c == "%":
            nxt = sql[i + 1] if i + 1 < size else ""
            if nxt == "s":
                n += 1
                out.append(f"${n}")
            elif nxt == "%":
                out.append("%")
            else:
                return None
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out) if n == count else None


class Prepared:
    """What one connection has prepared; reset with the connection."""

    def __init__(self, threshold: int, most: int) -> None:
        self.threshold, self.most = threshold, most
        self.seen: dict[str, int] = {}
        self.names: OrderedDict[str, str] = OrderedDict()  # statement → name, least recently used first
        self.refused: set[str] = set()
        self.next = 1


class PreparingCursor(psycopg2.extensions.cursor):
    """A psycopg2 cursor that runs a statement seen often as ``EXECUTE`` of its prepared form."""

    prepared: Prepared | None = None
    original: tuple[str, Sequence[Any]] | None = None  # the statement last run as EXECUTE, for the query log

    def execute(self, query: Any, vars: Any = None) -> Any:  # noqa: A002 - psycopg2's own name
        self.original = None
        state = self.prepared
        if state is None or not isinstance(query, str) or not isinstance(vars, list | tuple):
            return super().execute(query, vars)
        name = state.names.get(query)
        if name is None and len(vars) > MOST_PARAMETERS:
            return super().execute(query, vars)
        if name is None:
            name = self._maybe_prepare(state, query, vars)
            if name is None:
                return super().execute(query, vars)
        else:
            state.names.move_to_end(query)
        self.original = (query, vars)
        if vars:
            return super().execute(f"EXECUTE {name}({', '.join(['%s'] * len(vars))})", vars)
        return super().execute(f"EXECUTE {name}")

    def _maybe_prepare(self, state: Prepared, query: str, vars: Sequence[Any]) -> str | None:  # noqa: A002
        if query in state.refused:
            return None
        if len(state.refused) >= COUNTED_MAX:
            state.refused.clear()
        seen = state.seen.get(query, 0) + 1
        if seen < state.threshold:
            if len(state.seen) >= COUNTED_MAX:
                state.seen.clear()
            state.seen[query] = seen
            return None
        state.seen.pop(query, None)
        head = query.lstrip()[:6].upper()
        text = dollar_sql(query, len(vars)) if head.startswith(PREPARABLE) else None
        connection = self.connection
        if text is None or connection.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INERROR:
            state.refused.add(query)
            return None
        name = f"fp_{state.next}"
        state.next += 1
        in_transaction = not connection.autocommit
        if in_transaction:
            super().execute("SAVEPOINT fp_prepare")
        try:
            if len(state.names) >= state.most:
                _old, evicted = state.names.popitem(last=False)
                super().execute(f"DEALLOCATE {evicted}")
            super().execute(f"PREPARE {name} AS {text}")
        except psycopg2.Error:
            if not in_transaction:
                state.refused.add(query)
                return None
            super().execute("ROLLBACK TO SAVEPOINT fp_prepare")
            super().execute("RELEASE SAVEPOINT fp_prepare")
            state.refused.add(query)
            return None
        if in_transaction:
            super().execute("RELEASE SAVEPOINT fp_prepare")
        state.names[query] = name
        return name


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str:
        original = getattr(cursor, "original", None)
        if original is not None:  # the statement as written, not its EXECUTE
            return cursor.mogrify(*original).decode()
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        threshold = int(getattr(settings, "DATABASE_PREPARE_THRESHOLD", PREPARE_THRESHOLD))
        self.prepared_statements = (Prepared(threshold, int(getattr(settings, "DATABASE_PREPARED_MAX", PREPARED_MAX)))
                                    if threshold > 0 else None)
        return connection

    def create_cursor(self, name: str | None = None) -> Any:
        if name:  # a server-side cursor declares its statement itself
            return super().create_cursor(name)
        cursor = self.connection.cursor(cursor_factory=PreparingCursor)
        cursor.tzinfo_factory = self.tzinfo_factory if settings.USE_TZ else None
        cursor.prepared = getattr(self, "prepared_statements", None)
        return cursor
