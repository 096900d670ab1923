"""Row helpers for ``bench_generate`` (a module of its own so the command stays short; the leading underscore
keeps Django from taking it for a command): PostgreSQL COPY of dict rows, ids reserved from a table's
sequence, and the fixed patterns that give each generated bill its final state and maturity."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model

from bills.models import BillState


def kind_of(i: int) -> str:
    """The i-th bill's final state, by a fixed pattern of 20 (10 % draft, 10 % submitted, 40 % accepted,
    25 % listed, 15 % financed)."""
    slot = i % 20
    if slot < 2:
        return BillState.DRAFT
    if slot < 4:
        return BillState.SUBMITTED
    if slot < 12:
        return BillState.ACCEPTED
    if slot < 17:
        return BillState.LISTED
    return BillState.FINANCED


DEMO_BUYER_EVERY, DEMO_BUYER_AT = 25, 3  # the demo buyer is the debtor of bill i when i % 25 == 3
SETTLEABLE = (BillState.ACCEPTED, BillState.LISTED, BillState.FINANCED)


def matures_on_generation_day(i: int) -> bool:
    """Whether the i-th bill matures on the day it is generated, so its debtor can ``settle`` it at once.

    The demo buyer's accepted, listed and financed bills in every 16th hundred (bills 28, 53 and 78 of
    0-99, 1,628, 1,653 and 1,678 of 1,600-1,699, …): 3 of its 64 bills in each 1,600, about 4.7 % of the
    demo buyer's bills (3 at 200 bills, 6 at 2,000, 39 at 20,000). Their events all lie days before that
    maturity (nothing but settlement moves on or after it), so the services could have written them.
    """
    return (i % DEMO_BUYER_EVERY == DEMO_BUYER_AT and (i // 100) % 16 == 0 and kind_of(i) in SETTLEABLE)


def copy_rows(model: type[Model], rows: Sequence[dict[str, Any]]) -> None:
    """COPY ``rows`` (dicts keyed by column name) into ``model``'s table; None is NULL, dicts are JSON."""
    if not rows:
        return
    columns = list(rows[0])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in columns])
    buffer.seek(0)
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.copy_expert(  # type: ignore[attr-defined]  # psycopg2's, through Django's cursor wrapper
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)


def _cell(value: Any) -> Any:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def reserve_ids(model: type[Model], count: int) -> list[int]:
    """``count`` ids from the table's sequence, so rows written by COPY can be referred to before they exist."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [model._meta.db_table, count])
        return [row[0] for row in cursor.fetchall()]
