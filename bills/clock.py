"""The bills' clock: every service reads "now" (an instant, UTC) and "today" (a date of the platform's calendar)
here, never from ``timezone.now()`` directly.

One rule for calendar dates across the platform: a date (an invoice's or a bill's issue date, a maturity, the
day a payment falls due or a tenor is counted) is a date in the platform's time zone, ``settings.TIME_ZONE``
(Asia/Shanghai by default), which is where the parties do business; instants are stored in UTC. Invoices
check their issue dates with ``django.utils.timezone.localdate()``, the same calendar.

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
    """Today in the platform's calendar (``settings.TIME_ZONE``): maturities and tenors are counted in its days."""
    return timezone.localdate(now())


def day_of(moment: dt.datetime) -> dt.date:
    """The platform's calendar date of an instant."""
    return timezone.localdate(moment)


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
