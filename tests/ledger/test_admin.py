"""Django admin of the ledger: read-only accounts and entries; deposits, withdrawals and reversals are forms
that call the services, and a refusal is a form error with nothing written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finance_portal.ledger.models import JournalEntry
from tests.ledger.conftest import balance, counts, deposit

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(world, client):  # type: ignore[no-untyped-def]
    client.force_login(world.user("admin"))
    return client


def form(world, **changes):  # type: ignore[no-untyped-def]
    data = {"organization": world.org("financier").credit_code, "amount": "500.00", "currency": "CNY",
            "reference": "ADMIN-1", "reason": "wire received"}
    data.update(changes)
    return data


def test_the_entry_list_and_pages_are_read_only_with_money_buttons(world, staff):
    entry = deposit(world, "financier", "100.00")
    page = staff.get("/admin/ledger/journalentry/")
    assert page.status_code == 200
    assert b"Record a deposit" in page.content and b"Record a withdrawal" in page.content
    page = staff.get(f"/admin/ledger/journalentry/{entry.pk}/change/")
    assert page.status_code == 200 and b"Reverse this entry" in page.content
    assert staff.get("/admin/ledger/journalentry/add/").status_code == 403
    assert staff.post(f"/admin/ledger/journalentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    accounts = staff.get("/admin/ledger/account/")
    assert accounts.status_code == 200 and b"100.00 CNY" in accounts.content


def test_a_deposit_from_the_admin_calls_the_service(world, staff):
    assert staff.get("/admin/ledger/journalentry/deposit/").status_code == 200
    response = staff.post("/admin/ledger/journalentry/deposit/", form(world))
    assert response.status_code == 302
    entry = JournalEntry.objects.get(reference="ADMIN-1")
    assert response["Location"].endswith(f"/admin/ledger/journalentry/{entry.pk}/change/")
    assert entry.created_by == world.user("admin") and balance(world, "financier") == Decimal("500.00")


def test_a_refused_withdrawal_is_a_form_error_and_writes_nothing(world, staff):
    deposit(world, "financier", "100.00")
    before = counts()
    response = staff.post("/admin/ledger/journalentry/withdrawal/", form(world, amount="100.01"))
    assert response.status_code == 200
    assert b"Insufficient funds" in response.content
    response = staff.post("/admin/ledger/journalentry/withdrawal/", form(world, amount="１２３"))
    assert b"digits 0-9" in response.content
    assert counts() == before


def test_a_reversal_from_the_admin_needs_a_reason(world, staff):
    entry = deposit(world, "financier", "100.00")
    url = f"/admin/ledger/journalentry/{entry.pk}/reverse/"
    assert staff.post(url, {"reason": ""}).status_code == 200
    response = staff.post(url, {"reason": "credited twice"})
    assert response.status_code == 302
    assert JournalEntry.objects.get(reverses=entry).memo == "credited twice"
    assert balance(world, "financier") == Decimal("0.00")
    again = staff.post(url, {"reason": "again"})
    assert again.status_code == 200 and b"already been reversed" in again.content
