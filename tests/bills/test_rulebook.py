"""The rule book against an oracle written independently from DESIGN §3, and every (action, state, role)
combination run through the API: the status the oracle predicts, and nothing written on a refusal.

The oracle below is a literal table typed from the design document, not derived from ``bills.rules``; the
outcome function is a second, plain reading of the documented order of checks (visibility 404 → oversight
403 → party 403 → state 409 → own listing 409 → done). A bad body is sent with every refused action, so a
refusal that depended on the body (a 400 where 403/404/409 is promised) fails here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from bills import clock, rules
from bills.models import Bill, BillEvent, BillParticipant, BillState

pytestmark = pytest.mark.django_db

PREVIOUS = "previous"
LIVE = {"submitted", "accepted", "pending_receipt", "listed", "financed", "overdue", "defaulted"}

SAME = "same"
HELD_OPEN = {"accepted", "listed", "financed"}

# action: (from states, to state, acting party, when relative to maturity, reason required, routed)   — DESIGN §3
# "routed": reached as POST /api/v1/bills/{id}/<action>/ (offers have routes of their own, DESIGN §10).
ORACLE: dict[str, tuple[set[str], str, str, str, bool, bool]] = {
    "create": (set(), "draft", "creditor", "any", False, False),
    "issue": (set(), "pending_receipt", "debtor", "any", False, False),
    "submit": ({"draft"}, "submitted", "creditor", "before", False, True),
    "accept": ({"submitted"}, "accepted", "debtor", "before", False, True),
    "reject": ({"submitted"}, "rejected", "debtor", "any", True, True),
    "cancel": ({"draft", "submitted"}, "cancelled", "creditor", "any", False, True),
    "transfer": ({"accepted", "financed"}, "pending_receipt", "holder", "before", False, True),
    "receive": ({"pending_receipt"}, "accepted", "pending_receiver", "before", False, True),
    "refuse": ({"pending_receipt"}, PREVIOUS, "pending_receiver", "before", False, True),
    "split": ({"accepted", "financed"}, "split", "holder", "before", False, True),
    "list": ({"accepted"}, "listed", "holder", "before", False, True),
    "unlist": ({"listed"}, "accepted", "holder", "before", False, True),
    "buy": ({"listed"}, "financed", "financier", "before", False, True),
    "offer": ({"listed"}, SAME, "financier", "before", False, False),
    "accept_offer": ({"listed"}, "financed", "holder", "before", False, False),
    "settle": ({"accepted", "listed", "financed", "overdue", "defaulted"}, "settled", "debtor", "on_or_after", False,
               True),
    "request_early_settlement": (HELD_OPEN, SAME, "debtor", "before", False, True),
    "accept_early_settlement": (HELD_OPEN, "settled", "holder", "before", False, True),
    "auto_settle": (HELD_OPEN, "settled", "system", "on_or_after", False, False),
    "lapse": ({"pending_receipt"}, "cancelled", "system", "on_or_after", False, False),
    "overdue": ({"accepted", "pending_receipt", "listed", "financed"}, "overdue", "system", "after", False, False),
    "default": ({"overdue"}, "defaulted", "system", "after_grace", False, False),
    "freeze": (LIVE, "frozen", "staff", "any", True, True),
    "unfreeze": ({"frozen"}, PREVIOUS, "staff", "any", True, True),
}
# Refused after the guard by what the bill's records say (the fixture has no early-settlement request).
NEEDS_A_RECORD = {"accept_early_settlement"}
USER_ACTIONS = [a for a, row in ORACLE.items() if row[0] and row[2] != "system" and row[5]]


def test_the_rule_book_matches_the_oracle_row_by_row():
    assert set(rules.RULES) == set(ORACLE)
    for action, (froms, to, party, maturity, reason, routed) in ORACLE.items():
        t = rules.RULES[action]
        assert set(t.from_states) == froms, action
        assert t.to_state == to, action
        assert t.party.value == party, action
        assert t.maturity.value == maturity, action
        assert t.reason_required == reason, action
        assert t.routed == routed or t.party is rules.Party.SYSTEM or t.creates, action
        assert t.oversight_refused == (party not in ("staff", "system")), action
        assert (t.event is None) == (to == SAME), action
    assert set(rules.ROUTED_ACTIONS) == set(USER_ACTIONS)


def test_every_state_is_reached_and_every_live_state_can_be_left():
    reached = {row[1] for row in ORACLE.values()} - {PREVIOUS, SAME}
    assert reached | {"draft"} <= set(BillState.values)
    for state in set(BillState.values) - {"settled", "rejected", "cancelled", "split"}:
        assert any(state in row[0] for row in ORACLE.values()), f"{state} is a dead end"


# ---------------------------------------------------------------------------------------------------------
# A bill in any state, made directly in the database, with fixed parties:
#   creditor supplier · debtor buyer · holder supplier2 once accepted (the creditor before) ·
#   pending receiver financier2 while pending_receipt.
# ---------------------------------------------------------------------------------------------------------

EARLY = {"draft", "submitted", "rejected", "cancelled"}
USERS = ["supplier", "buyer", "supplier2", "financier2", "financier", "buyer2", "regulator", "admin"]
_numbers = itertools.count(1)


def bill_at(world, state: str) -> Bill:  # type: ignore[no-untyped-def]
    s, s2, b, f2 = world.org("supplier"), world.org("supplier2"), world.org("buyer"), world.org("financier2")
    holder = s if state in EARLY else s2
    now = clock.now()
    bill = Bill.objects.create(
        id=uuid.uuid4(), number=f"BL-T-{next(_numbers):06d}", state=state, creditor=s, debtor=b, holder=holder,
        pending_holder=f2 if state == "pending_receipt" else None, face=Decimal("10000.00"), currency="CNY",
        issue_date=now.date(), maturity_date=now.date() + dt.timedelta(days=90),
        asking_rate=Decimal("0.036") if state == "listed" else None,
        state_before_transfer="accepted" if state == "pending_receipt" else "",
        state_before_freeze="accepted" if state == "frozen" else "",
        created_at=now, updated_at=now,
    )
    roles = [(s, "creditor"), (b, "debtor"), (holder, "holder")]
    if holder != s:
        roles.append((s, "past_holder"))
    if state == "pending_receipt":
        roles.append((f2, "pending_receiver"))
    BillParticipant.objects.bulk_create([BillParticipant(bill=bill, organization=o, role=r) for o, r in roles])
    return bill


def relations(user: str, state: str) -> set[str]:
    """What ``user``'s organization is to the bill of ``bill_at(state)``, read from the fixture's definition."""
    rel: set[str] = set()
    if user == "supplier":
        rel |= {"creditor"} | ({"holder"} if state in EARLY else set())
    if user == "buyer":
        rel.add("debtor")
    if user == "supplier2" and state not in EARLY:
        rel.add("holder")
    if user in ("financier", "financier2"):
        rel.add("financier")
    if user == "financier2" and state == "pending_receipt":
        rel.add("pending_receiver")
    if user in ("regulator", "admin"):
        rel.add("oversight")
    if user == "admin":
        rel.add("staff")
    return rel


def expected(action: str, state: str, user: str) -> int:
    """The outcome for a bill maturing in 90 days (so "on or after maturity" actions are not due yet)."""
    froms, _to, party, maturity, _reason, _routed = ORACLE[action]
    rel = relations(user, state)
    sees = bool(rel & {"creditor", "debtor", "holder", "pending_receiver", "oversight"})
    if not sees and not (action == "buy" and "financier" in rel and state == "listed"):
        return 404
    if party != "staff" and "oversight" in rel:
        return 403
    no_receiver_pending = party == "pending_receiver" and state != "pending_receipt"
    if party not in rel and not no_receiver_pending:
        return 403
    if state not in froms:
        return 409
    if maturity in ("on_or_after", "after", "after_grace"):
        return 409
    if action == "buy" and "holder" in rel:
        return 409
    if action in NEEDS_A_RECORD:
        return 409
    return 200


GOOD_BODY = {
    "transfer": {"to": "ORG:financier"},
    "split": {"parts": [{"face": "4000.00"}, {"face": "6000.00"}]},
    "list": {"rate": "0.036"},
    "reject": {"reason": "Goods not received"},
    "freeze": {"reason": "Court order 17"},
    "unfreeze": {"reason": "Order lifted"},
}
# Wrong in every field an action reads: a refusal must not depend on it.
BAD_BODY = {"to": "NOT-A-CODE", "parts": "1,2", "rate": "abc", "reason": ["x"]}


def snapshot(bill: Bill) -> tuple:
    row = Bill.objects.filter(pk=bill.pk).values().get()
    events = BillEvent.objects.filter(bill_id=bill.pk).count()
    parts = sorted(BillParticipant.objects.filter(bill_id=bill.pk).values_list("organization_id", "role"))
    return row, events, parts, Bill.objects.count()


class Rollback(Exception):
    pass


@pytest.mark.parametrize(("action", "state"), list(itertools.product(USER_ACTIONS, BillState.values)))
def test_every_role_gets_what_the_oracle_predicts(world, action, state):
    """One test per (action, state); inside it, each of the eight roles in its own rolled-back savepoint."""
    clients = {}
    for user in USERS:
        clients[user] = APIClient()
        clients[user].force_authenticate(world.user(user))
    failures = []
    for index, user in enumerate(USERS):
        want = expected(action, state, user)
        try:
            with transaction.atomic():
                bill = bill_at(world, state)
                before = snapshot(bill)
                url = f"/api/v1/bills/{bill.pk}/{action.replace('_', '-')}/"
                # A JSON null is no body at all: refused (400) where the action would succeed, and never in
                # place of a refusal (half the refused roles send it instead of the bad object).
                null = (clients[user].post(url, "null", content_type="application/json")
                        if want == 200 or index % 2 else None)
                refused_null = null is not None and null.status_code == 400 and (
                    null.json()["code"] == "body_not_an_object")
                if want == 200 and not refused_null:
                    assert null is not None
                    failures.append(f"{user}: a null body answered {null.status_code} {null.content[:200]!r}")
                elif want == 200 and snapshot(bill) != before:
                    failures.append(f"{user}: a null body was refused but something was written")
                body = dict(GOOD_BODY.get(action, {})) if want == 200 else BAD_BODY
                if "to" in body and body["to"].startswith("ORG:"):
                    body["to"] = world.org(body["to"][4:]).credit_code
                if null is not None and want != 200:
                    response = null
                else:
                    response = clients[user].post(url, body, format="json")
                got = response.status_code
                if got != want:
                    failures.append(f"{user}: {got} != {want} {response.content[:200]!r}")
                elif want != 200 and snapshot(bill) != before:
                    failures.append(f"{user}: refused with {got} but something was written")
                elif want == 200:
                    to = ORACLE[action][1]
                    to = {PREVIOUS: "accepted", SAME: state}.get(to, to)  # the fixture's state before a move
                    new = Bill.objects.get(pk=bill.pk)
                    if new.state != to:
                        failures.append(f"{user}: state {new.state} != {to}")
                    appended = BillEvent.objects.filter(bill_id=bill.pk).count() - before[1]
                    if appended != (0 if ORACLE[action][1] == SAME else 1):
                        failures.append(f"{user}: {appended} events appended")
                raise Rollback
        except Rollback:
            pass
    assert not failures, f"{action} on {state}:\n" + "\n".join(failures)


def test_the_combination_count():
    """The generated test covers 16 routed user actions × 13 states × 8 roles."""
    assert len(USER_ACTIONS) * len(BillState.values) * len(USERS) == 16 * 13 * 8


@pytest.mark.parametrize("state", BillState.values)
def test_available_actions_are_what_the_guard_lets_through(world, state):
    """The page's "available actions" hint, for every role, equals the actions the oracle predicts succeed."""
    bill = bill_at(world, state)
    for user in USERS:
        from bills.selectors import bill_available_actions

        got = set(bill_available_actions(bill=bill, user=world.user(user)))
        want = {a for a in USER_ACTIONS if expected(a, state, user) == 200}
        assert got == want, (state, user)


@pytest.mark.parametrize("action", [a for a in USER_ACTIONS if ORACLE[a][3] == "before"])
def test_on_and_after_maturity_only_settlement_and_the_system_move_a_bill(world, action):
    froms, _to, party, _maturity, _reason, _routed = ORACLE[action]
    state = sorted(froms)[0]
    user = next(u for u in USERS if party in relations(u, state) and "oversight" not in relations(u, state)
                and not (action == "buy" and "holder" in relations(u, state)))
    with transaction.atomic():
        bill = bill_at(world, state)
        before = snapshot(bill)
        client = APIClient()
        client.force_authenticate(world.user(user))
        with clock.travel_to(clock.now() + dt.timedelta(days=90)):
            response = client.post(f"/api/v1/bills/{bill.pk}/{action.replace('_', '-')}/", BAD_BODY, format="json")
        assert response.status_code == 409 and response.json()["code"] == "matured", response.json()
        assert snapshot(bill) == before
