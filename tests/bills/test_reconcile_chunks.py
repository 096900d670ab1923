"""``reconcile`` reads each chunk of bills as rows (two queries) and hands them to the same check as a bill read
alone (``bill_chain_verify``): what it reports does not depend on the chunk a bill falls in. And the fast JCS
writer of ``bills.jcs`` writes what ``rfc8785`` writes, or fails where it fails."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from bills import services
from bills.events import bill_chain_verify
from bills.jcs import canonical_json
from bills.models import Bill, BillEvent
from bills.verification import reconcile
from chain_adapter import tasks as anchoring
from chain_adapter.models import AnchorRecord, AnchorStatus
from tests.bills.factories import accepted, draft
from tests.oversight.conftest import sql

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**60), max_value=2**60) | st.text()
    | st.floats(allow_nan=True, allow_infinity=True) | st.decimals(allow_nan=False, places=2).map(str),
    lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(st.text(max_size=6) | st.sampled_from(["amounts", "face", "a\"b", "\x00", "é", "\U0001f600",
                                                                "\ufb01"]), inner, max_size=5),
    max_leaves=14,
)


def _outcome(write, value):  # type: ignore[no-untyped-def]
    try:
        return write(value)
    except ValueError as err:  # rfc8785's errors and UnicodeEncodeError are ValueErrors
        return type(err)


@settings(max_examples=600, deadline=None)
@given(json_values)
def test_canonical_json_is_rfc8785(value):
    assert _outcome(canonical_json, value) == _outcome(lambda v: rfc8785.dumps(v).decode("utf-8"), value)


@pytest.mark.parametrize("value", ["\ud800", {"k": "a\udfffb"}, 2**53, [-(2**53)], {1: "a"}, 1.5, (1, "x"),
                                   {"\U0001f600": 1, "\uffff": 2}, "\x1f\x7f\u2028\"\\\b\f\n\r\t"])
def test_canonical_json_on_the_edges(value):
    assert _outcome(canonical_json, value) == _outcome(lambda v: rfc8785.dumps(v).decode("utf-8"), value)


@pytest.mark.chain
def test_reconcile_in_chunks_names_the_same_problems_as_each_bill_checked_alone(world, anchor_contract, settings):
    settings.ANCHOR_MAX_WAIT_SECONDS = 0
    bills = [accepted(world) if i % 2 else draft(world) for i in range(7)]
    ahead = draft(world)
    anchoring.anchor_pending.apply().get()
    assert not AnchorRecord.objects.exclude(status=AnchorStatus.CONFIRMED).exists()
    # After anchoring: ``ahead`` moves on, and its new event is called anchored by the database only.
    services.bill_submit(bill_id=ahead.pk, actor=world.user("supplier"))
    sql("UPDATE chain_adapter_anchorrecord SET status = %s, block_number = 1 WHERE id = %s",
        [AnchorStatus.CONFIRMED, ahead.events.get(seq=2).anchor_id])
    ordered = sorted([*bills, ahead], key=lambda b: str(b.pk))
    # In the middle of the second chunk of three (indexes 3 to 5), and never ``ahead`` itself (ids are random:
    # one run in eight put it at index 4, and a bill with both problems named both; CI, 2026-12-07).
    tampered = ordered[4] if ordered[4].pk != ahead.pk else ordered[3]
    sql("UPDATE bills_billevent SET hash = %s WHERE bill_id = %s AND seq = 1", ["0x" + "ab" * 32, tampered.pk])

    whole, chunked = reconcile(), reconcile(chunk_size=3)
    assert (whole.checked, whole.events, whole.pending, whole.by_format) == \
           (chunked.checked, chunked.events, chunked.pending, chunked.by_format)
    assert [(d.bill_id, d.number, d.problems) for d in whole.discrepancies] == \
           [(d.bill_id, d.number, d.problems) for d in chunked.discrepancies]
    found = {d.bill_id: d.problems for d in chunked.discrepancies}
    assert set(found) == {str(tampered.pk), str(ahead.pk)}
    alone = bill_chain_verify(tampered)  # the bill read alone, as model instances
    assert found[str(tampered.pk)][:len(alone)] == alone
    assert any("the stored hash is not keccak256" in p for p in alone)
    assert found[str(ahead.pk)] == [f"bill {ahead.pk} event #2: the database says it is anchored, the chain's head "
                                    "is event #1"]
    assert chunked.checked == Bill.objects.count() == 8 and chunked.pending == 0
    assert chunked.events == BillEvent.objects.count()
    assert [d.bill_id for d in reconcile(bill_ids=[ahead.pk, tampered.pk], chunk_size=1).discrepancies] == \
           [str(ahead.pk), str(tampered.pk)]  # in the order asked
