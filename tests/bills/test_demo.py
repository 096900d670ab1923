"""The demo platform of ``make run``: a dozen and more bills over every state, idempotent, sound chains, and
suppliers who cannot see each other's bills."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from bills.events import bill_chain_verify
from bills.listings import marketplace_listings
from bills.models import Bill, BillEvent, BillPurchase, BillState
from bills.selectors import bills_visible_to
from finance_portal.oversight.models import OversightFlag, Rule
from finance_portal.portal.demo import load_demo_business, load_demo_organizations
from invoices.models import Invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):  # type: ignore[no-untyped-def]
    orgs = load_demo_organizations()
    load_demo_business(orgs)
    return orgs


def test_the_demo_has_bills_in_every_state_with_sound_chains(demo):
    assert Bill.objects.count() >= 12
    assert set(Bill.objects.values_list("state", flat=True)) == set(BillState.values)
    for bill in Bill.objects.exclude(reference="DEMO-O07"):  # O07: the regulator's tampered case
        assert bill_chain_verify(bill) == [], bill.reference
    assert bill_chain_verify(Bill.objects.get(reference="DEMO-O07"))
    assert Bill.objects.filter(parent__isnull=False).count() == 2
    assert Bill.objects.filter(state=BillState.LISTED, asking_rate__isnull=False).count() == 2
    assert BillPurchase.objects.filter(bill__reference__startswith="DEMO-S").count() == 3
    assert Invoice.objects.filter(status="disputed").exists() and Invoice.objects.filter(status="registered").exists()


def test_the_demo_is_idempotent(demo):
    before = (Bill.objects.count(), BillEvent.objects.count(), Invoice.objects.count(), OversightFlag.objects.count())
    load_demo_business(load_demo_organizations())
    call_command("seed_demo")
    assert (Bill.objects.count(), BillEvent.objects.count(), Invoice.objects.count(),
            OversightFlag.objects.count()) == before


def test_the_regulator_finds_a_flag_of_every_rule_with_its_evidence(demo):
    flags = list(OversightFlag.objects.select_related("bill"))
    assert {f.rule for f in flags} == set(Rule.values)
    assert all(f.explanation and f.evidence for f in flags)
    by_rule = {rule: {f.bill.reference for f in flags if f.rule == rule and f.bill} for rule in Rule.values}
    assert "DEMO-O02" in by_rule[Rule.FACE_ABOVE_INVOICES] and "DEMO-O03" in by_rule[Rule.CIRCULAR_TRANSFER]
    assert "DEMO-O05" in by_rule[Rule.AMOUNT_OUTLIER] and "DEMO-O06" in by_rule[Rule.TENOR_BEYOND_LIMIT]
    assert "DEMO-O07" in by_rule[Rule.CHAIN_MISMATCH] and "DEMO-O08" in by_rule[Rule.ISSUED_WITHOUT_INVOICES]
    [quick] = [f for f in flags if f.rule == Rule.QUICK_FINANCING]
    assert quick.organization_id == demo["buyer"].pk and len(quick.evidence["bills"]) >= 5
    [reused] = [f for f in flags if f.rule == Rule.INVOICE_REUSED]
    assert {b["number"] for b in reused.evidence["bills"]} == set(
        Bill.objects.filter(reference__in=["DEMO-O01a", "DEMO-O01b"]).values_list("number", flat=True))


def test_a_database_with_the_older_demo_gets_the_oversight_cases(db, monkeypatch):
    from finance_portal.portal import demo as demo_module

    monkeypatch.setattr(demo_module, "load_oversight_scenarios", lambda **kw: None)
    load_demo_business(load_demo_organizations())  # the demo as it was before the oversight cases
    main = set(Bill.objects.values_list("pk", flat=True))
    assert not Bill.objects.filter(reference__startswith="DEMO-O").exists()
    monkeypatch.undo()
    call_command("seed_demo")
    assert set(Bill.objects.filter(reference__startswith="DEMO-S").values_list("pk", flat=True)) <= main
    assert Bill.objects.filter(reference__startswith="DEMO-O").count() >= 8
    assert set(OversightFlag.objects.values_list("rule", flat=True)) == set(Rule.values)


def test_each_demo_user_sees_real_work_and_suppliers_hold_what_the_other_cannot_see(demo):
    from django.contrib.auth import get_user_model

    users = {u.username: u for u in get_user_model().objects.all()}
    seen = {name: set(bills_visible_to(users[name]).values_list("pk", flat=True)) for name in
            ("supplier", "supplier2", "buyer", "financier", "financier2", "regulator", "admin")}
    for name, ids in seen.items():
        assert ids, name
    held = {name: set(Bill.objects.filter(holder=demo[name]).values_list("pk", flat=True))
            for name in ("supplier", "supplier2")}
    assert held["supplier"] - seen["supplier2"] and held["supplier2"] - seen["supplier"]
    assert marketplace_listings(users["financier"]).count() == 2
    assert seen["regulator"] == set(Bill.objects.values_list("pk", flat=True))


def test_seed_demo_loads_the_business_too(db):
    call_command("seed_demo")
    assert Bill.objects.filter(reference__startswith="DEMO-").count() >= 12


def test_seed_demo_grants_limits_with_room_and_once(db):
    from sme_credit.models import CreditLimit, IssuingLimit
    from sme_credit.policies import issuing_within_limit

    call_command("seed_demo")
    call_command("seed_demo")
    buyer = load_demo_organizations()["buyer"]
    assert IssuingLimit.objects.filter(debtor=buyer, revoked_at__isnull=True).count() == 1
    assert CreditLimit.objects.filter(debtor=buyer, revoked_at__isnull=True).count() == 1
    issuing_within_limit(debtor=buyer, face=Decimal("100000.00"), currency="CNY", number="(test)")  # room left
