"""PostgreSQL advisory locks held for a while on a connection of their own.

The broadcaster lock makes one process the only sender of an account on a chain: the transaction manager,
the replacement of a stuck transaction and the contract deployment all take it. It is a session-level lock
on a connection opened for it alone, so it outlives the short database transactions of its holder and is
released when that connection closes, including when the process is killed (PostgreSQL ends the session).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections
from eth_hash.auto import keccak

WAIT_POLL_SECONDS = 0.1


def lock_id(name: str) -> int:
    """The advisory lock id of ``name`` (a signed 64-bit integer)."""
    return int.from_bytes(keccak(name.encode())[:8], "big", signed=True)


def broadcaster_lock_name(chain_id: int, sender: str) -> str:
    return f"chain_adapter.broadcaster:{chain_id}:{sender.lower()}"


def deploy_lock_name(chain_id: int) -> str:
    return f"chain_adapter.deploy:{chain_id}"


@contextmanager
def advisory_locks(names: Sequence[str], *, wait_seconds: float = 0.0) -> Iterator[bool]:
    """Try to take every lock of ``names``, in order, waiting up to ``wait_seconds`` in all; yields whether
    all were taken (when not, none is held). Released when the block ends."""
    conn = connections.create_connection(DEFAULT_DB_ALIAS)
    deadline = time.monotonic() + wait_seconds
    try:
        acquired = True
        with conn.cursor() as cursor:
            for name in names:
                while True:
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id(name)])
                    row = cursor.fetchone()
                    if row is not None and row[0]:
                        break
                    if time.monotonic() >= deadline:
                        acquired = False
                        break
                    time.sleep(WAIT_POLL_SECONDS)
                if not acquired:
                    break
        yield acquired
    finally:
        conn.close()  # ends the session: every lock taken on it is released


@contextmanager
def broadcaster_lock(chain_id: int, sender: str, *, wait_seconds: float = 0.0) -> Iterator[bool]:
    """Try to become the broadcaster of ``sender`` on ``chain_id``; yields whether the lock was taken."""
    with advisory_locks([broadcaster_lock_name(chain_id, sender)], wait_seconds=wait_seconds) as acquired:
        yield acquired
