"""The permission matrix (DESIGN §8): for every endpoint and every role, foreign bills are invisible (404),
lists never leak them, oversight roles read everything and write nothing (403, but platform staff freeze)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from bills.models import Bill, BillState
from tests.bills.factories import accepted, draft, financed, listed, pending, submitted
from tests.bills.test_services import counts

pytestmark = pytest.mark.django_db

ACTIONS = {
    "submit": {},
    "accept": {},
    "reject": {"reason": "x"},
    "cancel": {},
    "transfer": {"to": "TO"},
    "receive": {},
    "refuse": {},
    "split": {"parts": [{"face": "5000.00"}, {"face": "5000.00"}]},
    "list": {"rate": "0.03"},
    "unlist": {},
    "buy": {},
    "settle": {},
    "freeze": {"reason": "x"},
    "unfreeze": {"reason": "x"},
}


@pytest.fixture
def estate(world):  # type: ignore[no-untyped-def]
    """Bills of supplier, buyer and financier in every kind of state; nobody else takes part in them."""
    bills = {
        "draft": draft(world),
        "submitted": submitted(world),
        "accepted": accepted(world),
        "listed": listed(world),
        "financed": financed(world, buyer="financier"),
        "pending": pending(world, to="financier"),
    }
    return bills


def client_for(world, username):  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_login(world.user(username) if isinstance(username, str) else username)
    return client


def body_for(world, action):  # type: ignore[no-untyped-def]
    body = dict(ACTIONS[action])
    if "to" in body:
        body["to"] = world.org("supplier2").credit_code
    return body


@pytest.mark.parametrize("role", ["supplier2", "buyer2", "financier2"])
def test_outsiders_see_nothing_and_touch_nothing(world, estate, role):
    client = client_for(world, role)
    listed_ids = set()
    for page in (client.get("/api/v1/bills/").json(),):
        listed_ids |= {b["id"] for b in page["results"]}
    assert not listed_ids & {str(b.pk) for b in estate.values()}
    for key in ("debtor", "holder"):
        response = client.get(f"/api/v1/bills/?{key}={world.org('buyer').credit_code}")
        assert response.json()["count"] == 0
    before = counts()
    for name, bill in estate.items():
        for path in (f"/api/v1/bills/{bill.pk}/", f"/api/v1/bills/{bill.pk}/events/"):
            response = client.get(path)
            assert response.status_code == 404, (role, name, path)
            assert response.json()["code"] == "bill_not_found"
        for action in ACTIONS:
            if role == "financier2" and name == "listed" and action == "buy":
                continue  # a listing is open to every financier: tested below
            response = client.post(f"/api/v1/bills/{bill.pk}/{action}/", body_for(world, action), format="json")
            if role == "financier2" and name == "financed" and action == "buy":
                # It was on the market until a moment ago: a late buyer learns it was sold, nothing more.
                assert response.status_code == 409 and response.json()["code"] == "already_bought"
                assert set(response.json()) == {"detail", "code"}
                continue
            assert response.status_code == 404, (role, name, action, response.json())
    assert counts() == before


def test_a_listing_is_the_only_foreign_bill_a_financier_may_act_on(world, estate):
    client = client_for(world, "financier2")
    market = client.get("/api/v1/marketplace/").json()
    assert [x["id"] for x in market["results"]] == [str(estate["listed"].pk)]
    for name, bill in estate.items():
        expected = 200 if name == "listed" else 404
        assert client.get(f"/api/v1/marketplace/{bill.pk}/").status_code == expected, name
    response = client.post(f"/api/v1/bills/{estate['listed'].pk}/buy/", {}, format="json")
    assert response.status_code == 200
    # Once bought, the winner holds it; the listing is gone for everybody else.
    assert client_for(world, "financier").get(f"/api/v1/marketplace/{estate['listed'].pk}/").status_code == 404


@pytest.mark.parametrize("role", ["supplier2", "buyer", "buyer2", "supplier"])
def test_the_marketplace_is_closed_to_suppliers_and_core_enterprises(world, estate, role):
    client = client_for(world, role)
    assert client.get("/api/v1/marketplace/").status_code == 403
    assert client.get(f"/api/v1/marketplace/{estate['listed'].pk}/").status_code == 403


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("supplier", {"draft", "submitted", "accepted", "listed", "financed", "pending"}),
        ("buyer", {"draft", "submitted", "accepted", "listed", "financed", "pending"}),
        ("financier", {"financed", "pending"}),
    ],
)
def test_parties_see_exactly_their_bills(world, estate, role, visible):
    client = client_for(world, role)
    ids = {b["id"] for b in client.get("/api/v1/bills/").json()["results"]}
    assert ids == {str(estate[name].pk) for name in visible}
    for name, bill in estate.items():
        assert client.get(f"/api/v1/bills/{bill.pk}/").status_code == (200 if name in visible else 404)


@pytest.mark.parametrize("role", ["regulator", "admin"])
def test_oversight_reads_everything_and_writes_nothing(world, estate, role):
    client = client_for(world, role)
    ids = {b["id"] for b in client.get("/api/v1/bills/").json()["results"]}
    assert ids == {str(b.pk) for b in Bill.objects.all()}
    assert client.get("/api/v1/marketplace/").json()["count"] == 1
    before = counts()
    for name, bill in estate.items():
        assert client.get(f"/api/v1/bills/{bill.pk}/").status_code == 200
        assert client.get(f"/api/v1/bills/{bill.pk}/events/").status_code == 200
        for action in ACTIONS:
            if role == "admin" and action in ("freeze", "unfreeze"):
                continue
            response = client.post(f"/api/v1/bills/{bill.pk}/{action}/", body_for(world, action), format="json")
            assert response.status_code == 403, (role, name, action, response.json())
    assert client.post("/api/v1/bills/", {}, format="json").status_code in (400, 403)
    assert counts() == before


def test_regulators_cannot_freeze_but_platform_staff_can(world, estate):
    bill = estate["accepted"]
    response = client_for(world, "regulator").post(f"/api/v1/bills/{bill.pk}/freeze/", {"reason": "x"}, format="json")
    assert response.status_code == 403
    response = client_for(world, "admin").post(f"/api/v1/bills/{bill.pk}/freeze/", {"reason": "x"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == BillState.FROZEN


def test_a_platform_member_who_is_not_staff_cannot_freeze(world, estate):
    from finance_portal.organizations.services import member_create

    member = member_create(organization=world.org("platform"), username="ops", password="x-ops-123456").user
    response = client_for(world, member).post(
        f"/api/v1/bills/{estate['accepted'].pk}/freeze/", {"reason": "x"}, format="json")
    assert response.status_code == 403


def test_users_outside_any_organization_see_nothing_and_act_on_nothing(world, estate):
    loner = get_user_model().objects.create_user("loner", password="x-loner-1234")
    client = client_for(world, loner)
    assert client.get("/api/v1/bills/").json()["count"] == 0
    assert client.get("/api/v1/marketplace/").status_code == 403
    for bill in estate.values():
        assert client.get(f"/api/v1/bills/{bill.pk}/").status_code == 404
        assert client.post(f"/api/v1/bills/{bill.pk}/settle/", {}, format="json").status_code == 403


def test_a_suspended_organization_still_reads_but_cannot_act(world, estate):
    from finance_portal.organizations.services import organization_set_kyc

    organization_set_kyc(organization_id=world.org("supplier").pk, status="suspended", actor=None)
    client = client_for(world, "supplier")
    bill = estate["accepted"]
    assert client.get(f"/api/v1/bills/{bill.pk}/").status_code == 200
    assert client.get(f"/api/v1/bills/{bill.pk}/").json()["actions"] == []
    response = client.post(f"/api/v1/bills/{bill.pk}/list/", {"rate": "0.03"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "kyc_not_approved"


def test_past_holders_keep_reading_but_lose_the_actions(world):
    bill = financed(world, buyer="financier")
    client = client_for(world, "supplier")
    body = client.get(f"/api/v1/bills/{bill.pk}/").json()
    assert body["holder"]["credit_code"] == world.org("financier").credit_code
    assert body["actions"] == []
    response = client.post(f"/api/v1/bills/{bill.pk}/transfer/", body_for(world, "transfer"), format="json")
    assert response.status_code == 403


def test_purchase_prices_reach_only_the_buyer_and_the_seller_of_each_purchase(world):
    """DESIGN §8: no holder learns what another financier paid; oversight and the debtor (whose disclosure
    profile covers every event of its bills) see all."""
    from rest_framework.test import APIClient

    from bills import services
    from bills.models import BillPurchase
    from tests.bills.factories import financed

    bill = financed(world)  # supplier → financier
    services.bill_transfer(bill_id=bill.pk, actor=world.user("financier"), to=world.org("supplier2").credit_code)
    services.bill_receive(bill_id=bill.pk, actor=world.user("supplier2"))
    services.bill_list(bill_id=bill.pk, actor=world.user("supplier2"), rate="0.05")
    services.bill_buy(bill_id=bill.pk, actor=world.user("financier2"))  # supplier2 → financier2
    first, second = BillPurchase.objects.filter(bill=bill).order_by("purchased_at", "id")
    expected = {
        "supplier": {first.pk}, "financier": {first.pk}, "supplier2": {second.pk}, "financier2": {second.pk},
        "buyer": {first.pk, second.pk}, "regulator": {first.pk, second.pk}, "admin": {first.pk, second.pk},
    }
    prices = {p.pk: f"{p.price:,.2f}" for p in (first, second)}
    for name, visible in expected.items():
        client = APIClient()
        client.force_authenticate(world.user(name))
        body = client.get(f"/api/v1/bills/{bill.pk}/").json()
        seen = {(p["buyer"]["credit_code"], p["price"]) for p in body["purchases"]}
        want = {(BillPurchase.objects.get(pk=pk).buyer.credit_code, str(BillPurchase.objects.get(pk=pk).price))
                for pk in visible}
        assert seen == want, name
        client.force_login(world.user(name))
        page = client.get(f"/bills/{bill.pk}/").content.decode()
        for pk, price in prices.items():
            shown = price in page  # as the page shows money: with thousands separators
            assert shown == (pk in visible), (name, pk, price)
