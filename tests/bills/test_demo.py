"""The demo platform of ``make run``: a dozen and more bills over every state, idempotent, sound chains, and
suppliers who cannot see each other's bills."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from bills.events import bill_chain_verify
from bills.models import Bill, BillEvent, BillPurchase, BillState
from bills.selectors import bills_visible_to, marketplace_listings
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
    for bill in Bill.objects.all():
        assert bill_chain_verify(bill) == [], bill.reference
    assert Bill.objects.filter(parent__isnull=False).count() == 2
    assert Bill.objects.filter(state=BillState.LISTED, asking_rate__isnull=False).count() == 2
    assert BillPurchase.objects.count() == 3
    assert Invoice.objects.filter(status="disputed").exists() and Invoice.objects.filter(status="registered").exists()


def test_the_demo_is_idempotent(demo):
    before = (Bill.objects.count(), BillEvent.objects.count(), Invoice.objects.count())
    load_demo_business(load_demo_organizations())
    call_command("seed_demo")
    assert (Bill.objects.count(), BillEvent.objects.count(), Invoice.objects.count()) == before


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
