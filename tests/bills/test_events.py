"""The canonical event forms (format 1 in clear, format 2 with salted field commitments), the per-bill hash
chain, tamper detection for both formats and the append-only event log."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import rfc8785
from django.db import IntegrityError, connection, transaction

from bills import services
from bills.events import (
    bill_chain_verify,
    canonical_of_event,
    event_format,
    event_hash,
    field_commitment,
    fields_of_event,
    writing_format,
)
from bills.models import AppendOnlyViolation, BillEvent
from chain_adapter.hashing import ZERO_HASH, keccak256_hex, record_key
from tests.bills.factories import accepted, financed, refresh

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[1, 2], ids=["format1", "format2"])
def fmt(request):
    """Run a test for bills written in each canonical format."""
    with writing_format(request.param):
        yield request.param


def test_new_events_are_written_in_format_2_by_default(world):
    bill = accepted(world)
    assert [event_format(e) for e in BillEvent.objects.filter(bill=bill)] == [2, 2, 2]
    with writing_format(1):
        old = accepted(world)
    assert [event_format(e) for e in BillEvent.objects.filter(bill=old)] == [1, 1, 1]
    services.bill_list(bill_id=old.pk, actor=world.user("supplier"), rate="0.04")  # an old bill moves on: format 2
    assert [event_format(e) for e in BillEvent.objects.filter(bill=old).order_by("seq")] == [1, 1, 1, 2]
    assert bill_chain_verify(refresh(old)) == []


def test_format_2_commits_to_every_field_and_shows_only_the_chain(world):
    bill = financed(world, "10000.00", days=90)
    events = list(BillEvent.objects.filter(bill=bill).select_related("actor").order_by("seq"))
    prev = ZERO_HASH
    for event in events:
        text = json.loads(event.canonical)
        assert set(text) == {"v", "key", "seq", "fields", "prev"}
        assert text["v"] == 2 and text["key"] == bill.bill_key and text["seq"] == event.seq and text["prev"] == prev
        fields = fields_of_event(event)
        assert set(text["fields"]) == set(fields) == set(event.salts)
        for name, value in fields.items():
            salt = event.salts[name]
            assert len(bytes.fromhex(salt[2:])) == 32
            assert text["fields"][name] == field_commitment(name, salt, value)
        assert str(bill.pk) not in event.canonical and world.org("supplier").credit_code not in event.canonical
        prev = event.hash
    assert len({salt for e in events for salt in e.salts.values()}) == sum(len(e.salts) for e in events)
    buy = fields_of_event(events[-1])
    assert {k: buy[k] for k in ("type", "from", "to", "amounts.price", "details.rate")} == {
        "type": "buy", "from": "listed", "to": "financed", "amounts.price": "9910.00", "details.rate": "0.036000"}


def test_the_canonical_form_has_exactly_the_design_fields(world):
    with writing_format(1):
        bill = financed(world, "10000.00", days=90)
    events = list(BillEvent.objects.filter(bill=bill).order_by("seq"))
    first = json.loads(events[0].canonical)
    assert set(first) == {"v", "bill", "seq", "type", "from", "to", "actor", "at", "amounts", "details", "prev"}
    assert first["v"] == 1 and first["bill"] == str(bill.pk) and first["seq"] == 1
    assert first["from"] is None and first["to"] == "draft" and first["prev"] == ZERO_HASH
    assert first["actor"] == world.org("supplier").credit_code
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", first["at"])
    assert first["amounts"] == {"face": "10000.00"}
    assert first["details"]["debtor"] == world.org("buyer").credit_code
    buy = json.loads(events[-1].canonical)
    assert buy["type"] == "buy" and buy["from"] == "listed" and buy["to"] == "financed"
    assert buy["amounts"] == {"face": "10000.00", "interest": "90.00", "price": "9910.00"}
    assert {k: buy["details"][k] for k in ("rate", "days", "basis")} == {"rate": "0.036000", "days": 90, "basis": 360}


def test_the_text_is_jcs_and_the_hash_is_keccak_of_its_bytes(world, fmt):
    bill = accepted(world)
    for event in BillEvent.objects.filter(bill=bill):
        assert event.canonical == rfc8785.dumps(json.loads(event.canonical)).decode()
        assert event.hash == keccak256_hex(event.canonical.encode("utf-8")) == event_hash(event.canonical)
        assert canonical_of_event(event) == event.canonical


def test_events_form_a_chain_anchored_under_the_bill_key(world, fmt):
    bill = financed(world)
    events = list(BillEvent.objects.filter(bill=bill).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    prev = ZERO_HASH
    for event in events:
        assert event.prev_hash == prev == json.loads(event.canonical)["prev"]
        assert (event.anchor.key, event.anchor.prev_hash, event.anchor.event_hash) == (
            record_key(str(bill.pk)), event.prev_hash, event.hash)
        prev = event.hash
    assert bill.bill_key == keccak256_hex(str(bill.pk).encode())
    assert bill_chain_verify(bill) == []


def sql(statement: str, params: list[object]) -> None:
    """An edit behind the application's back: a privileged session that skips triggers."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(statement, params)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.mark.parametrize(
    ("statement", "expect"),
    [
        ("UPDATE bills_billevent SET amounts = '{\"face\": \"99999.00\"}' WHERE bill_id = %s AND seq = 2",
         "differs from the one rebuilt"),
        ("UPDATE bills_billevent SET details = details || '{\"reason\": \"edited\"}' WHERE bill_id = %s AND seq = 3",
         "differs from the one rebuilt"),
        ("UPDATE bills_billevent SET occurred_at = occurred_at - interval '1 day' WHERE bill_id = %s AND seq = 1",
         "differs from the one rebuilt"),
        ("UPDATE bills_billevent SET to_state = 'settled' WHERE bill_id = %s AND seq = 3", "differs from the one rebuilt"),
        ("UPDATE bills_billevent SET actor_id = (SELECT id FROM organizations_organization WHERE is_regulator LIMIT 1) "
         "WHERE bill_id = %s AND seq = 2", "differs from the one rebuilt"),
        ("UPDATE bills_billevent SET hash = '0x' || repeat('ab', 32) WHERE bill_id = %s AND seq = 2",
         "not keccak256"),
        ("DELETE FROM bills_billevent WHERE bill_id = %s AND seq = 2", "expected sequence number"),
        ("UPDATE bills_bill SET face = 1.00 WHERE id = %s", "face"),
        ("UPDATE bills_bill SET state = 'settled' WHERE id = %s", "its state is settled"),
        ("UPDATE bills_bill SET maturity_date = maturity_date + 30 WHERE id = %s", "maturity"),
        ("UPDATE bills_bill SET holder_id = (SELECT id FROM organizations_organization WHERE credit_code LIKE "
         "'91441900MA5F00022%%') WHERE id = %s", "holder"),
        ("UPDATE bills_bill SET number = 'BL-1999-000001' WHERE id = %s", "number"),
    ],
)
def test_an_sql_edit_of_an_event_or_the_bill_is_caught(world, fmt, statement, expect):
    bill = accepted(world)
    assert bill_chain_verify(bill) == []
    sql(statement, [str(bill.pk)])
    problems = bill_chain_verify(bill)
    assert problems, statement
    assert any(expect in p for p in problems), problems


@pytest.mark.parametrize(
    ("statement", "expect"),
    [
        ("UPDATE bills_billevent SET salts = jsonb_set(salts, '{type}', to_jsonb('0x' || repeat('00', 32))) "
         "WHERE bill_id = %s AND seq = 2", "differs from the one rebuilt"),
        ("UPDATE bills_billevent SET salts = salts - 'actor' WHERE bill_id = %s AND seq = 2",
         "its salts do not match its fields"),
    ],
)
def test_an_sql_edit_of_a_salt_is_caught(world, statement, expect):
    bill = accepted(world)
    sql(statement, [str(bill.pk)])
    problems = bill_chain_verify(bill)
    assert any(expect in p for p in problems), problems


def test_a_rewritten_event_with_a_fresh_hash_still_breaks_the_chain(world, fmt):
    bill = accepted(world)
    event = BillEvent.objects.select_related("actor").get(bill=bill, seq=2)
    event.occurred_at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    text = canonical_of_event(event)  # the forger knows the salts too: a self-consistent rewrite
    assert text != BillEvent.objects.get(pk=event.pk).canonical
    sql("UPDATE bills_billevent SET canonical = %s, hash = %s, occurred_at = '2020-01-01T00:00:00Z' WHERE id = %s",
        [text, keccak256_hex(text), event.pk])
    problems = bill_chain_verify(bill)
    assert any("event #3: prev" in p for p in problems)
    assert any("anchoring record" in p for p in problems)


def test_the_orm_refuses_to_change_or_delete_events(world, fmt):
    bill = accepted(world)
    event = BillEvent.objects.filter(bill=bill).first()
    with pytest.raises(AppendOnlyViolation):
        BillEvent.objects.filter(bill=bill).update(type="cancel")
    with pytest.raises(AppendOnlyViolation):
        BillEvent.objects.filter(bill=bill).delete()
    with pytest.raises(AppendOnlyViolation):
        event.delete()
    event.type = "cancel"
    with pytest.raises(AppendOnlyViolation):
        event.save()
    with pytest.raises(AppendOnlyViolation):
        BillEvent.objects.bulk_update([event], ["type"])
    assert bill_chain_verify(refresh(bill)) == []


def test_the_database_trigger_refuses_update_and_delete(world):
    bill = accepted(world)
    with connection.cursor() as cursor:
        for statement in ("UPDATE bills_billevent SET type = 'cancel' WHERE bill_id = %s",
                          "DELETE FROM bills_billevent WHERE bill_id = %s"):
            with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
                cursor.execute(statement, [str(bill.pk)])
    assert BillEvent.objects.filter(bill=bill).count() == 3


def test_a_bill_with_events_cannot_be_deleted(world):
    from django.db.models import ProtectedError

    bill = accepted(world)
    with pytest.raises(ProtectedError):
        refresh(bill).delete()


def test_split_events_link_parent_and_children_both_ways(world):
    bill = accepted(world, "10000.00")
    services.bill_split(bill_id=bill.pk, actor=world.user("supplier"), parts=[{"face": "3000.00"}, {"face": "7000.00"}])
    split = BillEvent.objects.get(bill=bill, type="split")
    for item in split.details["children"]:
        first = BillEvent.objects.get(bill_id=item["bill"], seq=1)
        assert first.details["parent"] == str(bill.pk) and first.details["parent_event"] == split.hash
        assert first.amounts["face"] == item["face"] and first.prev_hash == ZERO_HASH
