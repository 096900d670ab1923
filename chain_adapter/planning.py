"""Reading the outbox for the next batch: the pending records of one sender's lane, in id order, planned by
``decisions.plan_batch``. Used by the broadcaster (``txmanager.Broadcaster``), under its lock.

The pending records are read through the partial index of pending rows, as plain tuples (a model instance costs
more than the row's SQL), a chunk at a time; the lane is picked here, not in SQL, where an expression would
hide the index from the planner. Only the rows the plan names become model instances.
"""

from __future__ import annotations

from collections.abc import Set

from django.db import DEFAULT_DB_ALIAS

from chain_adapter.decisions import BatchPlan, Link, lane_of, plan_batch, predecessor_on_chain
from chain_adapter.hashing import ZERO_HASH
from chain_adapter.models import AnchorRecord, AnchorStatus

_FIELDS = [f.attname for f in AnchorRecord._meta.concrete_fields]
_ID, _KEY, _PREV, _HASH = (_FIELDS.index(name) for name in ("id", "key", "prev_hash", "event_hash"))


def plan_pending(*, cap: int, lane: int, lanes: int,
                 on_chain: Set[str]) -> tuple[BatchPlan, dict[int, AnchorRecord], int]:
    """Plan the next batch of sender ``lane`` of ``lanes`` (at most ``cap`` records; ``on_chain``: event hashes
    this run saw mined). Returns the plan, the rows it names (batch and unknown), and the highest id read."""
    plan = BatchPlan()
    rows: dict[int, AnchorRecord] = {}
    scan = max(cap * 2, 32) * lanes
    last_id = 0
    while len(plan.batch) < cap:
        read = list(AnchorRecord.objects.filter(status=AnchorStatus.PENDING, id__gt=last_id).order_by("id")
                    .values_list(*_FIELDS)[:scan])
        if not read:
            break
        last_id = read[-1][_ID]
        chunk = [r for r in read if lane_of(r[_KEY], lanes) == lane]
        wanted = {r[_PREV] for r in chunk
                  if r[_PREV] != ZERO_HASH and r[_KEY] not in plan.tails and r[_PREV] not in on_chain}
        predecessors = {
            p["event_hash"]: predecessor_on_chain(p["status"], p["anchor_tx__status"])
            for p in AnchorRecord.objects.filter(event_hash__in=wanted).values(
                "event_hash", "status", "anchor_tx__status")
        } if wanted else {}
        links = [Link(id=r[_ID], key=r[_KEY], prev_hash=r[_PREV], event_hash=r[_HASH]) for r in chunk]
        plan = plan_batch(links, cap=cap, on_chain=on_chain, predecessors=predecessors, plan=plan)
        named = {link.id for link in (*plan.batch, *plan.unknown)}
        rows.update({r[_ID]: AnchorRecord.from_db(DEFAULT_DB_ALIAS, _FIELDS, r) for r in chunk if r[_ID] in named})
        if len(read) < scan:
            break
    return plan, rows, last_id
