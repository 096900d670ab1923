"""The bills' clock: every service reads "now" and "today" (UTC) here, never from ``timezone.now()`` directly.

``travel_to`` moves this clock for the current thread or task only (a context variable). Tests use it to
reach a bill's maturity; the demo data uses it to lay down a believable past. Production code never calls it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from contextvars import ContextVar

from django.utils import timezone

_OFFSET: ContextVar[dt.timedelta] = ContextVar("bills_clock_offset", default=dt.timedelta(0))


def now() -> dt.datetime:
    """The current instant, aware, in UTC."""
    return timezone.now().astimezone(dt.UTC) + _OFFSET.get()


def today() -> dt.date:
    """The current UTC date: maturities and tenors are counted in UTC days."""
    return now().date()


@contextlib.contextmanager
def travel_to(moment: dt.datetime) -> Iterator[None]:
    """Run the block as if it were ``moment`` (aware). The clock keeps ticking from there."""
    if timezone.is_naive(moment):
        raise ValueError("travel_to needs an aware datetime")
    token = _OFFSET.set(moment - timezone.now())
    try:
        yield
    finally:
        _OFFSET.reset(token)
