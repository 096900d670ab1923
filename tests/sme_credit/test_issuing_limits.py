"""Issuing limits of core enterprises: granted by the platform or a financier, enforced when a bill is issued or
accepted (BILL_OBLIGATION_POLICIES), what is owed falling as bills settle; permissions and the API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from bills import services
from bills.models import Bill, BillEvent, BillState
from sme_credit.errors import (
    CreditInvalid,
    CreditLimitRevoked,
    CreditNotFound,
    CreditNotPermitted,
    IssuingLimitExceeded,
)
from sme_credit.issuing import issuing_limit_grant, issuing_limit_revoke
from sme_credit.models import IssuingLimit
from tests.bills.factories import accepted, in_days, past, refresh, submitted

pytestmark = pytest.mark.django_db


def grant(world, amount: str, *, by: str = "admin", debtor: str = "buyer", currency: str | None = None):
    return issuing_limit_grant(actor=world.user(by), debtor=world.org(debtor).credit_code, amount=amount,
                               currency=currency)


def issue(world, face: str, *, by: str = "buyer", to: str = "supplier", days: int = 90) -> Bill:
    return services.bill_issue(actor=world.user(by), to=world.org(to).credit_code, face=face,
                               maturity_date=in_days(days).isoformat())


def client_for(world, username: str) -> APIClient:
    client = APIClient()
    client.force_login(world.user(username))
    return client


def written(world) -> tuple[int, int]:
    return Bill.objects.filter(debtor=world.org("buyer")).count(), BillEvent.objects.count()


def test_without_a_limit_a_core_enterprise_issues_freely(world):
    assert issue(world, "90000000.00").state == BillState.PENDING_RECEIPT


def test_issuing_over_the_platforms_limit_is_refused_naming_limit_owed_and_face_and_writes_nothing(world):
    limit = grant(world, "15000.00")
    issue(world, "10000.00")
    before = written(world)
    with pytest.raises(IssuingLimitExceeded) as refused:
        issue(world, "10000.00")
    message = refused.value.message
    assert "15000.00 CNY" in message and f"limit {limit.pk}" in message and "Portal Operator" in message
    assert "owes 10000.00 CNY now" in message and "face 10000.00 CNY" in message and "20000.00 CNY" in message
    assert written(world) == before


def test_issuing_up_to_the_limit_is_allowed(world):
    grant(world, "20000.00")
    issue(world, "10000.00")
    assert issue(world, "10000.00").state == BillState.PENDING_RECEIPT


def test_accepting_a_submitted_bill_over_the_limit_is_refused_and_the_bill_stays_submitted(world):
    grant(world, "15000.00")
    first, second = submitted(world, "10000.00"), submitted(world, "10000.00")  # submitted: not owed yet
    services.bill_accept(bill_id=first.pk, actor=world.user("buyer"))
    events = BillEvent.objects.filter(bill=second).count()
    with pytest.raises(IssuingLimitExceeded):
        services.bill_accept(bill_id=second.pk, actor=world.user("buyer"))
    assert refresh(second).state == BillState.SUBMITTED
    assert BillEvent.objects.filter(bill=second).count() == events


def test_what_is_owed_falls_when_bills_settle(world):
    first = accepted(world, "10000.00", days=30)
    grant(world, "15000.00")
    second = submitted(world, "10000.00", days=180)
    with pytest.raises(IssuingLimitExceeded):
        services.bill_accept(bill_id=second.pk, actor=world.user("buyer"))
    with past(30):
        services.bill_settle(bill_id=first.pk, actor=world.user("buyer"))
        assert refresh(first).state == BillState.SETTLED
        services.bill_accept(bill_id=second.pk, actor=world.user("buyer"))
    assert refresh(second).state == BillState.ACCEPTED


def test_rejected_and_cancelled_bills_are_not_owed(world):
    grant(world, "15000.00")
    rejected = submitted(world, "10000.00")
    services.bill_reject(bill_id=rejected.pk, actor=world.user("buyer"), reason="Goods not received")
    assert issue(world, "15000.00").state == BillState.PENDING_RECEIPT


def test_every_live_limit_binds_so_the_strictest_decides(world):
    grant(world, "50000.00")
    financier_limit = grant(world, "12000.00", by="financier")
    with pytest.raises(IssuingLimitExceeded) as refused:
        issue(world, "15000.00")
    assert f"limit {financier_limit.pk}" in refused.value.message and "Pearl River" in refused.value.message


def test_a_limit_in_another_currency_does_not_apply(world):
    grant(world, "100.00", currency="USD")
    assert issue(world, "10000.00").state == BillState.PENDING_RECEIPT


def test_a_revoked_limit_no_longer_refuses_and_cannot_be_revoked_twice(world):
    limit = grant(world, "5000.00")
    issuing_limit_revoke(limit_id=limit.pk, actor=world.user("admin"))
    assert issue(world, "10000.00").state == BillState.PENDING_RECEIPT
    with pytest.raises(CreditLimitRevoked):
        issuing_limit_revoke(limit_id=limit.pk, actor=world.user("admin"))


def test_a_new_grant_replaces_the_grantors_live_limit_only(world):
    old = grant(world, "5000.00")
    other = grant(world, "7000.00", by="financier")
    new = grant(world, "50000.00")
    assert IssuingLimit.objects.get(pk=old.pk).revoked_at is not None and new.revoked_at is None
    assert IssuingLimit.objects.get(pk=other.pk).revoked_at is None


@pytest.mark.parametrize("username", ["supplier", "buyer", "regulator"])
def test_only_platform_staff_and_financiers_grant(world, username):
    with pytest.raises(CreditNotPermitted):
        grant(world, "1000.00", by=username)
    assert not IssuingLimit.objects.exists()


def test_a_grantor_cannot_revoke_another_grantors_limit(world):
    limit = grant(world, "1000.00")
    with pytest.raises(CreditNotFound):
        issuing_limit_revoke(limit_id=limit.pk, actor=world.user("financier"))
    assert IssuingLimit.objects.get(pk=limit.pk).revoked_at is None


@pytest.mark.parametrize("debtor", ["supplier2", "financier2", "regulator"])
def test_only_core_enterprises_get_issuing_limits(world, debtor):
    with pytest.raises(CreditInvalid):
        grant(world, "1000.00", debtor=debtor)


def test_the_api_grants_reads_and_revokes(world):
    response = client_for(world, "financier").post("/api/v1/issuing-limits/", {
        "debtor": world.org("buyer").credit_code, "amount": "25000.00"}, format="json")
    assert response.status_code == 201, response.content
    limit = response.json()
    assert limit["grantor"]["credit_code"] == world.org("financier").credit_code and limit["live"] is True
    issue(world, "10000.00")
    seen = client_for(world, "buyer").get("/api/v1/issuing-limits/").json()
    assert [(row["id"], row["owed"], row["available"]) for row in seen] == [(limit["id"], "10000.00", "15000.00")]
    assert client_for(world, "supplier").get("/api/v1/issuing-limits/").status_code == 403
    assert client_for(world, "financier2").get("/api/v1/issuing-limits/").json() == []
    assert [r["id"] for r in client_for(world, "regulator").get("/api/v1/issuing-limits/").json()] == [limit["id"]]
    revoked = client_for(world, "financier").post(f"/api/v1/issuing-limits/{limit['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["live"] is False
    again = client_for(world, "financier").post(f"/api/v1/issuing-limits/{limit['id']}/revoke/")
    assert again.status_code == 409 and again.json()["code"] == "credit_limit_revoked"


@pytest.mark.parametrize("amount", ["1e999999999", "abc", "-5", "0", "１２", "12\x00", ""])
def test_the_api_refuses_bad_amounts_400_and_writes_nothing(world, amount):
    response = client_for(world, "admin").post("/api/v1/issuing-limits/", {
        "debtor": world.org("buyer").credit_code, "amount": amount}, format="json")
    assert response.status_code == 400, (amount, response.content)
    assert response.json()["field"] == "amount" or "amount" in str(response.json())
    assert not IssuingLimit.objects.exists()


def test_the_api_refuses_issuing_over_the_limit_409_with_the_figures(world):
    grant(world, "5000.00")
    response = client_for(world, "buyer").post("/api/v1/bills/issue/", {
        "to": world.org("supplier").credit_code, "face": "6000.00", "maturity_date": in_days(60).isoformat()},
        format="json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "issuing_limit_exceeded"
    assert "5000.00 CNY" in response.json()["detail"] and "6000.00 CNY" in response.json()["detail"]
    assert not Bill.objects.filter(debtor=world.org("buyer")).exists()


def test_the_database_refuses_a_non_positive_amount_and_two_live_limits_of_one_grantor(world):
    from django.db import IntegrityError, transaction

    limit = grant(world, "1000.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        IssuingLimit.objects.filter(pk=limit.pk).update(amount=Decimal("0"))
    with pytest.raises(IntegrityError), transaction.atomic():
        IssuingLimit.objects.create(debtor=limit.debtor, grantor=limit.grantor, amount=Decimal("1"),
                                    currency="CNY", granted_at=limit.granted_at)
