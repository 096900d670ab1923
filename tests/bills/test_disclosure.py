"""Disclosure profiles (issue 8, DESIGN §8): which profile each role gets, and that the bundle each role can
download discloses exactly its profile's fields, over every field of every event type.

The oracle here is written from the issue, independently of ``bills.disclosure``: literal field lists per
event type and hand-counted reach per bill.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from bills import services
from bills.disclosure import FIELD_LEVELS, Profile, bill_for_viewer, disclosure_for, types_without_profile
from bills.events import fields_of_event, writing_format
from bills.models import Bill, BillEvent, EventType
from bills.verification import bill_bundle, bill_events_for_bundle
from bills.verify_tokens import verification_token_create
from chain_adapter.verify import check_bundle_offline
from tests.bills import factories as f

pytestmark = pytest.mark.django_db

BASIC = {"type", "from", "to", "at", "amounts.face"}
GENESIS_PUBLIC = {"details.debtor", "details.currency", "details.maturity"}

# The oracle: per event type, the fields the public sees, those a financier adds, those it sees only when they
# name the seller, and those only participants and regulators see. Together they are every field the type has.
ORACLE: dict[str, dict[str, set[str]]] = {
    "create": {"public": BASIC | GENESIS_PUBLIC,
               "financier": {"bill", "details.number", "details.issue_date", "details.invoices"},
               "seller": {"actor", "details.creditor", "details.holder"},
               "participant": {"details.reference", "details.reason"}},
    "issue": {"public": BASIC | GENESIS_PUBLIC | {"actor"},
              "financier": {"bill", "details.number", "details.issue_date", "details.invoices"},
              "seller": {"details.creditor", "details.holder", "details.receiver"},
              "participant": {"details.reference", "details.reason"}},
    "split_from": {"public": BASIC | GENESIS_PUBLIC,
                   "financier": {"bill", "details.number", "details.issue_date"},
                   "seller": {"actor", "details.creditor", "details.holder"},
                   "participant": {"details.parent", "details.parent_event", "details.reason"}},
    "submit": {"public": BASIC, "financier": {"bill"}, "seller": {"actor"}, "participant": {"details.reason"}},
    "accept": {"public": BASIC | {"actor"}, "financier": {"bill"}, "seller": set(), "participant": {"details.reason"}},
    "reject": {"public": BASIC | {"actor"}, "financier": {"bill"}, "seller": set(), "participant": {"details.reason"}},
    "cancel": {"public": BASIC, "financier": {"bill"}, "seller": {"actor"}, "participant": {"details.reason"}},
    "transfer": {"public": BASIC, "financier": {"bill"}, "seller": {"actor", "details.receiver"},
                 "participant": {"details.reason"}},
    "receive": {"public": BASIC, "financier": {"bill"}, "seller": {"actor", "details.holder", "details.from_holder"},
                "participant": {"details.reason"}},
    "refuse": {"public": BASIC, "financier": {"bill"}, "seller": {"actor", "details.receiver"},
               "participant": {"details.reason"}},
    "split": {"public": BASIC, "financier": {"bill"}, "seller": {"actor"},
              "participant": {"details.children", "details.reason"}},
    "list": {"public": BASIC, "financier": {"bill", "details.rate"}, "seller": {"actor"},
             "participant": {"details.reason"}},
    "unlist": {"public": BASIC, "financier": {"bill", "details.rate"}, "seller": {"actor"},
               "participant": {"details.reason"}},
    "buy": {"public": BASIC, "financier": {"bill"}, "seller": {"actor", "details.buyer", "details.seller"},
            "participant": {"amounts.price", "amounts.interest", "details.rate", "details.days", "details.basis",
                            "details.entry", "details.offer", "details.reason"}},
    "settle": {"public": BASIC | {"details.payer", "amounts.paid"},
               "financier": {"bill", "details.kind", "details.days_late"}, "seller": {"details.payee"},
               "participant": {"actor", "details.entry", "details.reason"}},
    "overdue": {"public": BASIC | {"details.days_past_due"}, "financier": {"bill", "actor"}, "seller": set(),
                "participant": {"details.reason"}},
    "default": {"public": BASIC | {"details.days_past_due", "details.grace_days"}, "financier": {"bill", "actor"},
                "seller": set(), "participant": {"details.reason"}},
    "freeze": {"public": BASIC, "financier": {"bill", "actor"}, "seller": set(), "participant": {"details.reason"}},
    "unfreeze": {"public": BASIC, "financier": {"bill", "actor"}, "seller": set(), "participant": {"details.reason"}},
    "lapse": {"public": BASIC, "financier": {"bill", "actor"}, "seller": {"details.receiver"},
              "participant": {"details.reason"}},
}


def expected_fields(profile: str, event_type: str, fields: dict[str, Any], seller: str) -> set[str]:
    table = ORACLE[event_type]
    if profile in ("participant", "regulator"):
        return set(fields)
    shown = set(table["public"])
    if profile == "financier":
        shown |= table["financier"] | {name for name in table["seller"] if fields.get(name) == seller}
    return shown & set(fields)


@dataclass
class Scenario:
    bills: dict[str, Bill]
    reach: dict[str, dict[str, set[int]]]  # bill name -> user name -> seqs in that user's reach


def build_scenario(world: f.World) -> Scenario:
    """Bills that between them carry every event type, with the reach of each party counted by hand."""
    sup, sup2, buyer, fin, admin = (world.user(n) for n in ("supplier", "supplier2", "buyer", "financier", "admin"))
    code = {n: world.org(n).credit_code for n in ("supplier", "supplier2", "buyer", "financier")}
    # market: create 1, submit 2, accept 3, list 4, unlist 5, list 6, buy 7, transfer 8, receive 9, list 10
    market = f.listed(world, "10000.00", rate="0.036")
    services.bill_unlist(bill_id=market.pk, actor=sup)
    services.bill_list(bill_id=market.pk, actor=sup, rate="0.035")
    services.bill_buy(bill_id=market.pk, actor=fin)
    services.bill_transfer(bill_id=market.pk, actor=fin, to=code["supplier2"])
    services.bill_receive(bill_id=market.pk, actor=sup2)
    services.bill_list(bill_id=market.pk, actor=sup2, rate="0.04")
    # parent: create, submit, accept, split 4; parts: split_from 1 (+ transfer 2, refuse 3 on the second)
    parent = f.accepted(world, "9000.00")
    services.bill_split(bill_id=parent.pk, actor=sup, parts=[{"face": "4000.00"},
                                                             {"face": "5000.00", "transfer_to": code["supplier2"]}])
    kept = Bill.objects.get(parent=parent, face="4000.00")
    offered = Bill.objects.get(parent=parent, face="5000.00")
    services.bill_refuse(bill_id=offered.pk, actor=sup2)
    rejected = f.submitted(world, "3000.00")
    services.bill_reject(bill_id=rejected.pk, actor=buyer, reason="Quantities differ.")
    cancelled = f.draft(world, "2000.00")
    services.bill_cancel(bill_id=cancelled.pk, actor=sup, reason="Entered twice.")
    # issued: issue 1, receive 2, settle 3
    issued = services.bill_issue(actor=buyer, to=code["supplier"], face="7000.00",
                                 maturity_date=f.in_days(60).isoformat(), reason="Payable for March.")
    services.bill_receive(bill_id=issued.pk, actor=sup)
    services.bill_request_early_settlement(bill_id=issued.pk, actor=buyer)
    services.bill_accept_early_settlement(bill_id=issued.pk, actor=sup, reason="Paid early, with consent.")
    frozen = f.accepted(world, "6000.00")
    services.bill_freeze(bill_id=frozen.pk, actor=admin, reason="Court order 1234.")
    services.bill_unfreeze(bill_id=frozen.pk, actor=admin, reason="Order lifted.")
    late = f.accepted(world, "8000.00", days=10)
    lapsing = services.bill_issue(actor=buyer, to=code["supplier"], face="1000.00",
                                  maturity_date=f.in_days(10).isoformat())
    with f.past(11):
        services.bill_mark_overdue(bill_id=late.pk)
        services.bill_lapse(bill_id=lapsing.pk)
    with f.past(12 + settings.BILL_GRACE_DAYS):
        services.bill_mark_defaulted(bill_id=late.pk)
    bills = {"market": market, "parent": parent, "kept": kept, "offered": offered, "rejected": rejected,
             "cancelled": cancelled, "issued": issued, "frozen": frozen, "late": late, "lapsing": lapsing}
    everything = {name: set(range(1, Bill.objects.get(pk=b.pk).events.count() + 1)) for name, b in bills.items()}
    reach = {name: {"buyer": everything[name], "supplier": set(everything[name])} for name in bills}
    reach["market"].update(supplier={1, 2, 3, 4, 5, 6, 7}, financier={7, 8, 9}, supplier2={8, 9, 10})
    reach["offered"].update(supplier2={2, 3})
    reach["issued"].update(supplier={1, 2, 3})
    reach["lapsing"].update(supplier={1, 2})
    return Scenario({n: Bill.objects.get(pk=b.pk) for n, b in bills.items()}, reach)


@pytest.fixture
def scenario(world) -> Scenario:  # type: ignore[no-untyped-def]
    return build_scenario(world)


def test_every_event_type_has_an_entry_in_the_profile_table():
    assert types_without_profile(EventType.values) == []
    assert set(ORACLE) == set(EventType.values), "a new event type needs a row in ORACLE and in FIELD_LEVELS"


def test_the_profile_table_matches_the_oracle():
    from bills.disclosure import Level

    for event_type, levels in ORACLE.items():
        table = FIELD_LEVELS[event_type]
        assert {n for n, lv in table.items() if lv is Level.PUBLIC} == levels["public"], event_type
        assert {n for n, lv in table.items() if lv is Level.FINANCIER} == levels["financier"], event_type
        assert {n for n, lv in table.items() if lv is Level.SELLER} == levels["seller"], event_type
        assert {n for n, lv in table.items() if lv is Level.PARTICIPANT} == levels["participant"], event_type


def test_the_scenario_writes_every_event_type_and_the_oracle_names_every_field_written(scenario):
    seen: set[str] = set()
    for event in BillEvent.objects.select_related("actor"):
        seen.add(event.type)
        named = set().union(*ORACLE[event.type].values())
        assert set(fields_of_event(event)) <= named, (event.type, set(fields_of_event(event)) - named)
    assert seen == set(EventType.values)


def user_bundle(world: f.World, user: str | None, bill: Bill) -> tuple[int, dict | None]:
    """The bundle ``user`` can download (None: anonymous, through a verification token)."""
    if user is None:
        holder = next(n for n in ("supplier", "supplier2", "financier", "buyer")
                      if world.org(n).pk == bill.holder_id)
        token = verification_token_create(bill_id=bill.pk, actor=world.user(holder))
        response = Client().get(f"/verify/t/{token.token}/bundle.json")
        return response.status_code, json.loads(response.content) if response.status_code == 200 else None
    api = APIClient()
    api.force_authenticate(world.user(user))
    response = api.get(f"/api/v1/bills/{bill.pk}/bundle/")
    return response.status_code, response.json() if response.status_code == 200 else None


def per_event_profile(scenario: Scenario, name: str, user: str | None, bill: Bill, seq: int) -> str | None:
    if user is None:
        return "public"
    if user in ("regulator", "admin"):
        return "regulator"
    if seq in scenario.reach[name].get(user, set()):
        return "participant"
    if user in ("financier", "financier2") and bill.state == "listed":
        return "financier"
    return "public"


ROLES = [None, "supplier", "supplier2", "buyer", "financier", "financier2", "regulator", "admin"]


@pytest.mark.parametrize("user", ROLES, ids=[r or "anonymous" for r in ROLES])
def test_each_role_downloads_exactly_its_profile_over_every_field_of_every_event_type(world, scenario, user):
    checked_types: set[str] = set()
    for name, bill in scenario.bills.items():
        status, bundle = user_bundle(world, user, bill)
        can_see = bill_for_viewer(user=world.user(user), bill_id=bill.pk) if user else bill
        if can_see is None:
            assert status == 404, (user, name)
            continue
        assert status == 200, (user, name)
        events = list(bill.events.select_related("actor").order_by("seq"))
        seller = bill.holder.credit_code
        profiles = []
        for event, entry in zip(events, bundle["events"], strict=True):
            fields = fields_of_event(event)
            profile = per_event_profile(scenario, name, user, bill, event.seq)
            profiles.append(profile)
            expected = expected_fields(profile, event.type, fields, seller)
            assert set(entry["disclosed"]) == expected, (user, name, event.seq, event.type)
            for field_name, disclosed in entry["disclosed"].items():
                assert disclosed == {"value": fields[field_name], "salt": event.salts[field_name]}
            checked_types.add(event.type)
        assert (bundle["bill_id"] is None) == (user is None), (user, name)
        assert bundle["profile"] == max(profiles, key=["public", "financier", "participant", "regulator"].index)
        report = check_bundle_offline(bundle)  # no contract is deployed in this test: only that is missing
        assert [p for p in report.problems if not p.startswith("contract:")] == [], report.text()
        assert all(e.status == "ok" for e in report.events), report.text()
    if user in (None, "regulator", "admin", "buyer"):
        assert checked_types == set(EventType.values), user


def test_the_selector_per_role(world, scenario):
    market = scenario.bills["market"]  # listed by supplier2, earlier bought by financier
    events = bill_events_for_bundle(market)

    def profiles(user: str | None, **kw: Any) -> list[Profile]:
        return list(disclosure_for(user=world.user(user) if user else None, bill=market, events=events,
                                   **kw).per_event)

    P, F, U, R = Profile.PARTICIPANT, Profile.FINANCIER, Profile.PUBLIC, Profile.REGULATOR
    assert profiles(None) == [U] * 10
    assert profiles("regulator", via_token=True) == [U] * 10  # a token gives the public profile to anyone
    assert profiles("regulator") == profiles("admin") == [R] * 10
    assert profiles("buyer") == [P] * 10  # the debtor: every event
    assert profiles("supplier") == [P] * 7 + [U] * 3  # until it sold; not a financier
    assert profiles("financier") == [F] * 6 + [P] * 3 + [F]  # held it for three events; a listing otherwise
    assert profiles("financier2") == [F] * 10  # a listing it takes no part in
    assert profiles("supplier2") == [U] * 7 + [P] * 3
    assert bill_for_viewer(user=world.user("financier2"), bill_id=scenario.bills["late"].pk) is None
    assert bill_for_viewer(user=world.user("supplier2"), bill_id=scenario.bills["late"].pk) is None
    assert bill_for_viewer(user=world.user("supplier2"), bill_id="not-a-uuid") is None


def test_a_financier_sees_the_seller_but_no_earlier_holder_nor_price(world, scenario):
    market = scenario.bills["market"]
    _status, bundle = user_bundle(world, "financier2", market)
    text = json.dumps([e["disclosed"] for e in bundle["events"]])
    assert world.org("supplier2").credit_code in text  # the seller
    assert world.org("supplier").credit_code not in text  # an earlier holder (and the creditor)
    assert world.org("financier").credit_code not in text  # an earlier buyer
    assert "amounts.price" not in text and "details.days" not in text
    assert bundle["bill_id"] == str(market.pk)


def test_format1_events_are_withheld_from_profiles_that_would_not_see_every_field(world):
    with writing_format(1):
        bill = f.listed(world, "10000.00")
    services.bill_unlist(bill_id=bill.pk, actor=world.user("supplier"))
    services.bill_list(bill_id=bill.pk, actor=world.user("supplier"), rate="0.05")
    for user, texts in (("supplier", [True] * 6), ("financier2", [False] * 4 + [True] * 2)):
        _status, bundle = user_bundle(world, user, Bill.objects.get(pk=bill.pk))
        assert [e["canonical"] is not None for e in bundle["events"]] == texts, user
        assert ["disclosed" in e for e in bundle["events"]] == [False] * 4 + [True] * 2
        assert not check_bundle_offline(bundle).failing, user
    _status, public = user_bundle(world, None, Bill.objects.get(pk=bill.pk))
    assert [e["canonical"] is None for e in public["events"]] == [True] * 4 + [False] * 2
    assert str(bill.pk) not in json.dumps(public)


def test_internal_full_bundles_and_viewer_bundles_agree_on_every_hash(world, scenario):
    from bills.verification import full_disclosure

    bill = scenario.bills["market"]
    events = bill_events_for_bundle(bill)
    full = bill_bundle(bill=bill, disclosure=full_disclosure(bill, events), events=events)
    public = bill_bundle(bill=bill, disclosure=disclosure_for(user=None, bill=bill, events=events), events=events)
    assert [(e["seq"], e["canonical"], e["hash"]) for e in full["events"]] == \
        [(e["seq"], e["canonical"], e["hash"]) for e in public["events"]]
