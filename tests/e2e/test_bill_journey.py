"""The product's main road in a real browser: invoice → bill → accepted → listed → bought → verified on chain
through the holder's verification link.

Every part is real: the pages, PostgreSQL, a Celery worker process anchoring through Redis on the session's
Anvil, and the public verification page.
"""

import datetime as dt
import time

import pytest

from bills import clock
from bills.models import Bill
from chain_adapter.models import AnchorRecord, AnchorStatus
from finance_portal.ledger.services import deposit_record
from tests.e2e.conftest import browser_login, screenshot, sign_out

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def click_action(page, label: str, **fields: str) -> None:  # type: ignore[no-untyped-def]
    form = page.locator("form.tile", has=page.locator(f"button:text-is('{label}')"))
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator(f"button:text-is('{label}')").click()
    page.wait_for_load_state()


def relogin(page, username: str) -> None:  # type: ignore[no-untyped-def]
    sign_out(page)
    browser_login(page, username)


def test_from_invoice_to_a_verified_financed_bill(page, demo_orgs, anchor_contract, celery_worker_process):
    buyer = demo_orgs["buyer"]
    # The supplier uploads an invoice owed by its buyer.
    browser_login(page, "supplier")
    page.goto("/invoices/upload/")
    page.set_input_files("#id_file", files=[{"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.fill("#id_invoice_number", "26440001000000077001")
    page.fill("#id_buyer_credit_code", buyer.credit_code)
    page.fill("#id_issue_date", (clock.today() - dt.timedelta(days=3)).isoformat())
    page.fill("#id_amount_excl_tax", "10000.00")
    page.fill("#id_tax_amount", "0.00")
    page.fill("#id_total_amount", "10000.00")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "26440001000000077001" in page.content()
    screenshot(page, "journey-1-invoice")

    # It drafts a bill from the invoice and submits it to the buyer.
    page.goto("/bills/new/")
    page.locator("input.amount").first.fill("10000.00")
    page.fill("#maturity_date", (clock.today() + dt.timedelta(days=90)).isoformat())
    page.click("#draft-form button[type=submit]")
    page.wait_for_load_state()
    assert "Draft" in page.inner_text("h1")
    bill = Bill.objects.get(face="10000.00", creditor=demo_orgs["supplier"])
    click_action(page, "Submit")
    assert "Submitted" in page.inner_text("h1")
    screenshot(page, "journey-2-submitted")

    # The buyer accepts: its undertaking to pay at maturity.
    relogin(page, "buyer")
    page.goto("/bills/?state=submitted")
    page.click(f"text={bill.number}")
    click_action(page, "Accept", reason="Goods received")
    assert "Accepted" in page.inner_text("h1")

    # The supplier lists it at 3.6 % a year (typed in percent), and confirms after reading what it means.
    relogin(page, "supplier")
    page.goto(f"/bills/{bill.pk}/")
    click_action(page, "List…", rate="3.6")
    assert "9,910.00" in page.content()
    page.locator("form.confirm-form button[type=submit]").click()
    page.wait_for_load_state()
    assert "Listed" in page.inner_text("h1")

    # The financier, with cash on the platform, studies the listing, checks it against the chain, confirms the
    # price and buys it.
    deposit_record(organization=demo_orgs["financier"], amount="50000.00", currency="CNY", actor=None,
                   reference="E2E-DEPOSIT-1", reason="end-to-end test funding")
    relogin(page, "financier")
    page.goto("/marketplace/")
    row = page.locator("tr", has=page.locator(f"text={bill.number}"))
    assert "9,910.00" in row.inner_text()  # 10,000 × 3.6 % × 90 / 360 = 90.00 interest
    screenshot(page, "journey-3-marketplace")
    wait_anchored()
    row.locator("text=verify").click()
    page.wait_for_load_state()
    assert page.get_attribute("[data-verdict]", "data-verdict") == "verified"
    page.goto(f"/marketplace/{bill.pk}/")
    assert buyer.legal_name in page.content()  # the debtor, for due diligence
    page.goto(f"/marketplace/{bill.pk}/buy/")
    assert "9,910.00" in page.content() and "40,090.00" in page.content()  # the price, the cash after it
    page.locator("button:has-text('Buy for')").click()
    page.wait_for_load_state()
    bill.refresh_from_db()
    assert bill.state == "financed" and bill.holder == demo_orgs["financier"]
    assert bill.purchases.get().price == 9910

    # The new holder shares a verification link; anyone holding it, logged in or not, sees the history verified
    # on chain, and the bill's id appears nowhere on that page.
    page.goto(f"/bills/{bill.pk}/")
    page.locator("button:has-text('Create a verification link')").click()
    page.wait_for_load_state()
    link = page.locator(".verification-link a").first.get_attribute("href")
    assert link and "/verify/t/" in link
    wait_anchored()
    sign_out(page)
    page.goto(link)
    assert page.get_attribute("[data-verdict]", "data-verdict") == "verified"
    assert page.locator("tbody tr").count() == 5
    assert str(bill.pk) not in page.content()
    screenshot(page, "journey-4-verified")


def wait_anchored(timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while AnchorRecord.objects.exclude(status=AnchorStatus.CONFIRMED).exists():
        assert time.monotonic() < deadline, "anchoring did not finish"
        time.sleep(0.2)
