"""Credit limits: granted by financiers, enforced at purchase through BILL_PURCHASE_POLICIES, exposure falling as
bills settle; database guards on the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from bills import clock, services
from bills.models import BillPurchase, BillState
from sme_credit.errors import CreditLimitExceeded, CreditLimitRevoked, CreditNotFound, CreditNotPermitted
from sme_credit.models import CreditLimit
from sme_credit.services import credit_limit_grant, credit_limit_revoke
from tests.bills.factories import cash, financed, listed, past, refresh

pytestmark = pytest.mark.django_db


def grant(world, amount: str, *, financier: str = "financier", debtor: str = "buyer", supplier: str | None = None):
    return credit_limit_grant(actor=world.user(financier), debtor=world.org(debtor).credit_code, amount=amount,
                              supplier=world.org(supplier).credit_code if supplier else None)


def client_for(world, username: str) -> APIClient:
    client = APIClient()
    client.force_login(world.user(username))
    return client


def test_without_a_limit_nothing_is_refused(world):
    bill = financed(world, "500000.00")
    assert refresh(bill).holder == world.org("financier")


def test_a_purchase_over_the_limit_is_refused_409_naming_limit_exposure_and_amount_and_writes_nothing(world):
    financed(world, "10000.00")
    limit = grant(world, "15000.00")
    bill = listed(world, "10000.00")
    before = (cash(world.org("financier")), cash(world.org("supplier")), BillPurchase.objects.count())
    response = client_for(world, "financier").post(f"/api/v1/bills/{bill.pk}/buy/", {}, format="json")
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "credit_limit_exceeded"
    assert "15000.00 CNY" in body["detail"] and f"limit {limit.pk}" in body["detail"]
    assert "current exposure 10000.00 CNY" in body["detail"]
    assert "face 10000.00 CNY" in body["detail"] and "20000.00 CNY" in body["detail"]
    assert refresh(bill).state == BillState.LISTED and refresh(bill).holder == world.org("supplier")
    assert (cash(world.org("financier")), cash(world.org("supplier")), BillPurchase.objects.count()) == before


def test_a_purchase_up_to_the_limit_is_allowed(world):
    grant(world, "20000.00")
    financed(world, "10000.00")
    assert refresh(financed(world, "10000.00")).holder == world.org("financier")


def test_another_financier_is_not_bound_by_the_limit(world):
    grant(world, "100.00")
    assert refresh(financed(world, "10000.00", buyer="financier2")).holder == world.org("financier2")


def test_a_supplier_limit_caps_only_bills_that_supplier_drew(world):
    grant(world, "15000.00", supplier="supplier")
    financed(world, "10000.00", supplier="supplier2")
    financed(world, "10000.00")
    with pytest.raises(CreditLimitExceeded, match="on bills drawn by"):
        services.bill_buy(bill_id=listed(world, "10000.00").pk, actor=world.user("financier"))


def test_exposure_falls_when_bills_settle(world):
    first = financed(world, "10000.00", days=30)
    grant(world, "15000.00")
    second = listed(world, "10000.00", days=180)
    with pytest.raises(CreditLimitExceeded):
        services.bill_buy(bill_id=second.pk, actor=world.user("financier"))
    with past(30):
        services.bill_settle(bill_id=first.pk, actor=world.user("buyer"))
        assert refresh(first).state == BillState.SETTLED
        services.bill_buy(bill_id=second.pk, actor=world.user("financier"))
    assert refresh(second).holder == world.org("financier")


def test_a_revoked_limit_no_longer_refuses(world):
    limit = grant(world, "5000.00")
    credit_limit_revoke(limit_id=limit.pk, actor=world.user("financier"))
    assert refresh(financed(world, "10000.00")).holder == world.org("financier")
    with pytest.raises(CreditLimitRevoked):
        credit_limit_revoke(limit_id=limit.pk, actor=world.user("financier"))


def test_a_new_grant_replaces_the_live_limit(world):
    old = grant(world, "5000.00")
    new = grant(world, "50000.00")
    assert refresh_limit(old).revoked_at is not None and new.revoked_at is None
    assert CreditLimit.objects.filter(financier=world.org("financier"), revoked_at__isnull=True).count() == 1


def refresh_limit(limit: CreditLimit) -> CreditLimit:
    return CreditLimit.objects.get(pk=limit.pk)


@pytest.mark.parametrize("username", ["supplier", "buyer", "regulator"])
def test_only_financiers_grant_limits(world, username):
    with pytest.raises(CreditNotPermitted):
        credit_limit_grant(actor=world.user(username), debtor=world.org("buyer2").credit_code, amount="100.00")


def test_a_financier_cannot_revoke_another_financiers_limit(world):
    limit = grant(world, "5000.00")
    with pytest.raises(CreditNotFound):
        credit_limit_revoke(limit_id=limit.pk, actor=world.user("financier2"))


def test_the_database_refuses_a_non_positive_amount(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditLimit.objects.create(financier=world.org("financier"), debtor=world.org("buyer"), amount=Decimal("0"),
                                   currency="CNY", granted_at=clock.now())


@pytest.mark.parametrize("supplier", [None, "supplier"])
def test_the_database_holds_one_live_limit_per_financier_debtor_and_supplier(world, supplier):
    grant(world, "5000.00", supplier=supplier)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditLimit.objects.create(financier=world.org("financier"), debtor=world.org("buyer"),
                                   supplier=world.org(supplier) if supplier else None, amount=Decimal("1.00"),
                                   currency="CNY", granted_at=clock.now() + dt.timedelta(seconds=1))


def test_grant_and_revoke_through_the_api(world):
    client = client_for(world, "financier")
    response = client.post("/api/v1/credit-limits/", {"debtor": world.org("buyer").credit_code,
                                                      "amount": "25000.00"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "25000.00" and response.json()["live"] is True
    listing = client.get("/api/v1/credit-limits/").json()
    assert [row["id"] for row in listing] == [response.json()["id"]]
    revoked = client.post(f"/api/v1/credit-limits/{response.json()['id']}/revoke/", {}, format="json")
    assert revoked.status_code == 200 and revoked.json()["live"] is False


def test_the_api_refuses_a_supplier_403_and_bad_input_400(world):
    body = {"debtor": world.org("buyer").credit_code, "amount": "25000.00"}
    assert client_for(world, "supplier").post("/api/v1/credit-limits/", body, format="json").status_code == 403
    bad = client_for(world, "financier").post("/api/v1/credit-limits/", {**body, "amount": "-1"}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "amount"


def test_accepting_an_offer_over_the_limit_is_refused_too(world):
    financed(world, "10000.00")
    grant(world, "15000.00")
    bill = listed(world, "10000.00")
    offer = services.offer_make(bill_id=bill.pk, actor=world.user("financier"), rate="0.03")
    with pytest.raises(CreditLimitExceeded):
        services.offer_accept(offer_id=offer.pk, actor=world.user("supplier"))
    assert refresh(bill).state == BillState.LISTED
