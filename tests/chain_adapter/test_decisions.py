"""The transaction manager's pure decisions, without a node or a database: what goes into a batch, what a
receipt means, what recovery decides, when and how a fee is bumped, what a node's refusal means."""

from datetime import UTC, datetime, timedelta

import pytest

from chain_adapter.contract import AnchoredLog
from chain_adapter.decisions import (
    BatchPlan,
    Fees,
    Link,
    Refusal,
    Verdict,
    admit_checked,
    batch_cap,
    batch_wait_until,
    bumped_fees,
    classify_refusal,
    decide_recovery,
    deep_enough,
    fee_bump_due,
    next_nonce,
    plan_batch,
    predecessor_on_chain,
    read_receipt,
    replacement_carries_records,
)
from chain_adapter.hashing import ZERO_HASH, keccak256_hex

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def h(name: str) -> str:
    return keccak256_hex(name)


def chain(key: str, n: int, *, first_id: int = 1, start: str = ZERO_HASH) -> list[Link]:
    links, prev = [], start
    for i in range(n):
        event = h(f"{key}-{i}")
        links.append(Link(id=first_id + i, key=h(key), prev_hash=prev, event_hash=event))
        prev = event
    return links


def log_of(link: Link, *, tx: str = "0x" + "aa" * 32, index: int = 0, block: int = 10) -> AnchoredLog:
    return AnchoredLog(key=link.key, prev_hash=link.prev_hash, event_hash=link.event_hash, tx_hash=tx,
                       block_number=block, block_hash="0x" + "bb" * 32, log_index=index)


# --- what to batch --------------------------------------------------------------------------------------


def test_a_keys_whole_chain_goes_into_one_batch_in_order():
    links = chain("a", 3)
    plan = plan_batch(links, cap=10, on_chain=set(), predecessors={})
    assert plan.batch == tuple(links) and plan.unknown == ()


def test_the_batch_stops_at_the_cap():
    plan = plan_batch(chain("a", 3) + chain("b", 3, first_id=10), cap=4, on_chain=set(), predecessors={})
    assert [link.id for link in plan.batch] == [1, 2, 3, 10]


def test_a_record_waits_while_its_predecessor_is_not_on_chain_and_so_do_its_successors():
    first, second, third = chain("a", 3)
    plan = plan_batch([second, third], cap=10, on_chain=set(), predecessors={first.event_hash: False})
    assert plan.batch == () and plan.blocked == {first.key}


def test_a_predecessor_on_chain_lets_the_record_in():
    first, second, third = chain("a", 3)
    by_db = plan_batch([second, third], cap=10, on_chain=set(), predecessors={first.event_hash: True})
    seen = plan_batch([second, third], cap=10, on_chain={first.event_hash}, predecessors={})
    assert by_db.batch == seen.batch == (second, third)


def test_a_predecessor_unknown_to_the_database_is_checked_on_chain_and_its_key_stops():
    first, second, third = chain("a", 3)
    other = chain("b", 1, first_id=20)
    plan = plan_batch([second, third, *other], cap=10, on_chain=set(), predecessors={})
    assert plan.unknown == (second,) and plan.batch == tuple(other)
    admitted, unresolved = admit_checked(plan, {first.key: first.event_hash}, cap=10)
    assert admitted == [second] and unresolved == []
    admitted, unresolved = admit_checked(plan, {first.key: h("something else")}, cap=10)
    assert admitted == [] and unresolved == [second]


def test_checked_records_are_admitted_only_while_the_batch_has_room():
    a, b = chain("a", 2, start=h("x")), chain("b", 1, first_id=10, start=h("y"))
    plan = BatchPlan(batch=(chain("c", 1, first_id=30)[0],), unknown=(a[0], b[0]))
    admitted, unresolved = admit_checked(plan, {a[0].key: h("x"), b[0].key: h("y")}, cap=2)
    assert admitted == [a[0]] and unresolved == []


def test_planning_in_chunks_gives_the_same_batch_as_at_once():
    links = [link for pair in zip(chain("a", 4), chain("b", 4, first_id=10), strict=True) for link in pair]
    whole = plan_batch(links, cap=6, on_chain=set(), predecessors={})
    chunked = plan_batch(links[3:], cap=6, on_chain=set(), predecessors={},
                         plan=plan_batch(links[:3], cap=6, on_chain=set(), predecessors={}))
    assert chunked.batch == whole.batch


def test_predecessor_on_chain_means_confirmed_or_carried_by_a_mined_transaction():
    assert predecessor_on_chain("confirmed", None)
    assert predecessor_on_chain("sent", "mined")
    assert not predecessor_on_chain("sent", "sent")
    assert not predecessor_on_chain("pending", None)
    assert not predecessor_on_chain("failed", None)


def test_a_partial_batch_waits_until_its_oldest_record_is_old_enough():
    wait = timedelta(seconds=2)
    assert batch_wait_until([NOW], cap=5, max_wait=wait, now=NOW) == NOW + wait
    assert batch_wait_until([NOW - wait, NOW], cap=5, max_wait=wait, now=NOW) is None
    assert batch_wait_until([NOW] * 5, cap=5, max_wait=wait, now=NOW) is None  # full
    assert batch_wait_until([NOW], cap=5, max_wait=wait, now=NOW, idle=True) is None  # nothing unmined: go now
    assert batch_wait_until([NOW], cap=5, max_wait=wait, now=NOW, idle=False) == NOW + wait
    assert batch_wait_until([NOW], cap=5, max_wait=timedelta(0), now=NOW) is None


def test_the_batch_cap_keeps_a_batch_within_half_a_block():
    assert batch_cap(batch_size=200, block_gas_limit=30_000_000) == 200
    assert batch_cap(batch_size=5000, block_gas_limit=30_000_000) == 498
    assert batch_cap(batch_size=200, block_gas_limit=100_000) == 1


def test_the_next_nonce_follows_the_stored_ones_unless_the_chain_is_ahead():
    assert next_nonce(stored_max=None, chain_pending=7) == 7
    assert next_nonce(stored_max=9, chain_pending=7) == 10  # signed but not broadcast yet
    assert next_nonce(stored_max=3, chain_pending=7) == 7  # the account was used elsewhere


# --- what a receipt means -------------------------------------------------------------------------------


def test_a_receipt_places_each_record_at_its_log():
    links = chain("a", 2)
    reading = read_receipt(links, status=1, logs=[log_of(links[0], index=3), log_of(links[1], index=4)])
    assert not reading.reverted and reading.unexplained == ()
    assert {pk: log.log_index for pk, log in reading.placed.items()} == {1: 3, 2: 4}


def test_a_record_without_its_log_or_with_another_predecessor_is_unexplained():
    first, second = chain("a", 2)
    forged = AnchoredLog(key=second.key, prev_hash=h("other"), event_hash=second.event_hash, tx_hash="0x",
                         block_number=1, block_hash="0x", log_index=0)
    reading = read_receipt([first, second], status=1, logs=[forged])
    assert reading.placed == {} and reading.unexplained == (first, second)


def test_a_reverted_receipt_explains_nothing():
    links = chain("a", 2)
    reading = read_receipt(links, status=0, logs=[log_of(links[0])])
    assert reading.reverted and reading.placed == {} and reading.unexplained == tuple(links)


def test_confirmations_count_the_block_itself():
    assert deep_enough(block_number=10, tip=10, confirmations=1)
    assert not deep_enough(block_number=10, tip=11, confirmations=3)
    assert deep_enough(block_number=10, tip=12, confirmations=3)


# --- what recovery decides ------------------------------------------------------------------------------


def test_recovery_finds_a_record_anchored_after_its_predecessor():
    [link] = chain("a", 1)
    [decision] = decide_recovery([link], heads={link.key: link.event_hash},
                                 logs={(link.key, link.event_hash): log_of(link)}, waiting=set())
    assert decision.verdict == Verdict.ANCHORED and decision.log == log_of(link)


def test_recovery_sends_again_a_record_whose_predecessor_is_the_head_and_its_successors():
    first, second, third = chain("a", 3)
    decisions = decide_recovery([third, second], heads={first.key: first.event_hash}, logs={}, waiting=set())
    assert [(d.record, d.verdict) for d in decisions] == [(second, Verdict.PENDING), (third, Verdict.PENDING)]


def test_recovery_keeps_pending_a_record_whose_predecessor_waits_in_the_outbox():
    first, second = chain("a", 2)
    [decision] = decide_recovery([second], heads={first.key: ZERO_HASH}, logs={}, waiting={first.event_hash})
    assert decision.verdict == Verdict.PENDING


def test_recovery_reports_another_history_on_chain_as_a_conflict_naming_the_head():
    [link] = chain("a", 1)
    forged = h("someone else's history")
    [decision] = decide_recovery([link], heads={link.key: forged}, logs={}, waiting=set())
    assert decision.verdict == Verdict.CONFLICT and decision.head == forged


def test_a_log_with_another_predecessor_is_not_this_records_anchor():
    [link] = chain("a", 1)
    other = AnchoredLog(key=link.key, prev_hash=h("x"), event_hash=link.event_hash, tx_hash="0x",
                        block_number=1, block_hash="0x", log_index=0)
    [decision] = decide_recovery([link], heads={link.key: link.event_hash},
                                 logs={(link.key, link.event_hash): other}, waiting=set())
    assert decision.verdict == Verdict.CONFLICT


# --- fees and replacements ------------------------------------------------------------------------------


def test_a_fee_bump_is_due_only_below_the_base_fee_and_after_the_timeout():
    since = NOW - timedelta(seconds=30)
    assert fee_bump_due(max_fee_per_gas=10, base_fee=11, waiting_since=since, now=NOW, after_seconds=30)
    assert not fee_bump_due(max_fee_per_gas=10, base_fee=11, waiting_since=since, now=NOW, after_seconds=31)
    assert not fee_bump_due(max_fee_per_gas=11, base_fee=11, waiting_since=since, now=NOW, after_seconds=0)


@pytest.mark.parametrize(("old", "base", "tip"), [
    (Fees(3_000_000_000, 1_000_000_000), 10_000_000_000, 1_000_000_000),  # the base fee rose: pay twice it
    (Fees(30_000_000_000, 2_000_000_000), 1, 1),  # the market fell: still +12.5 % on both caps
    (Fees(7, 1), 0, 0),  # rounding up keeps small fees rising
])
def test_bumped_fees_outbid_the_old_ones_by_more_than_ten_percent_and_pay_todays_price(old, base, tip):
    new = bumped_fees(old, base_fee=base, tip=tip)
    assert new.max_fee_per_gas * 10 >= old.max_fee_per_gas * 11 and new.max_fee_per_gas > old.max_fee_per_gas
    assert new.max_priority_fee_per_gas * 10 >= old.max_priority_fee_per_gas * 11
    assert new.max_priority_fee_per_gas > old.max_priority_fee_per_gas
    assert new.max_fee_per_gas >= 2 * base + new.max_priority_fee_per_gas
    assert new.max_priority_fee_per_gas >= tip


def test_a_stuck_transaction_is_replaced_by_its_records_only_when_they_are_anchorable_and_fit():
    assert replacement_carries_records(record_count=4, estimate_ok=True, gas=100_000, block_gas_limit=30_000_000)
    assert not replacement_carries_records(record_count=4, estimate_ok=False, gas=0, block_gas_limit=30_000_000)
    assert not replacement_carries_records(record_count=4, estimate_ok=True, gas=200_000, block_gas_limit=150_000)
    assert not replacement_carries_records(record_count=0, estimate_ok=True, gas=21_000, block_gas_limit=30_000_000)


# --- what a node's refusal means ------------------------------------------------------------------------


@pytest.mark.parametrize(("message", "refusal"), [
    ("already known", Refusal.KNOWN),
    ("nonce too low", Refusal.NONCE_USED),
    ("replacement transaction underpriced", Refusal.NONCE_USED),
    ("max fee per gas less than block base fee", Refusal.UNDERPRICED),
    ("transaction underpriced", Refusal.UNDERPRICED),
    ("insufficient funds for gas * price + value", Refusal.NO_FUNDS),
    ("request timed out", Refusal.TRANSIENT),
    ("intrinsic gas too high -- tx.gas_limit > env.block.gas_limit", Refusal.PERMANENT),
    ("execution reverted: HeadMismatch", Refusal.PERMANENT),
])
def test_node_refusals_are_classified(message, refusal):
    assert classify_refusal(message) == refusal
