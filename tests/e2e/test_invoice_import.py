"""In a browser: several invoice files dropped at once on the upload page, each with its own progress and
result; a CSV import whose job page follows the import live (htmx polling) to its counts and report; both
pages at 390 px wide without sideways scroll. Screenshots land in ``.run/screenshots/invoice-*.png``."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from finance_portal.organizations.validators import make_credit_code
from invoices.import_services import import_job_run
from invoices.models import ImportJob, ImportStatus, Invoice
from tests.e2e.conftest import screenshot
from tests.e2e.test_phone_width import browser_login, too_wide
from tests.invoices.conftest import pdf_bytes

pytestmark = pytest.mark.django_db(transaction=True)

BUYER = make_credit_code("91440300MA5F00033")


@pytest.fixture
def supplier_page(page, demo_orgs, settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    browser_login(page, "supplier")
    return page


def fill_card(card, number: str, total: str = "113.00") -> None:  # type: ignore[no-untyped-def]
    card.locator("[data-name=invoice_code]").fill("4403221130")
    card.locator("[data-name=invoice_number]").fill(number)
    card.locator("[data-name=issue_date]").fill("2026-10-08")
    card.locator("[data-name=amount_excl_tax]").fill("100.00")
    card.locator("[data-name=tax_amount]").fill("13.00")
    card.locator("[data-name=total_amount]").fill(total)


def test_several_dropped_files_upload_with_a_progress_bar_and_a_result_each(supplier_page):
    page = supplier_page
    page.goto("/invoices/upload/")
    page.fill("#id_buyer_credit_code", BUYER)
    page.set_input_files("#drop-files", files=[
        {"name": "first.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()},
        {"name": "second.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()},
        {"name": "third.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()},
    ])
    cards = page.locator("#drop-items .drop-item")
    assert cards.count() == 3
    assert cards.nth(0).locator(".drop-name").inner_text() == "first.pdf"
    fill_card(cards.nth(0), "82000001")
    fill_card(cards.nth(1), "82000002")
    fill_card(cards.nth(2), "82000003", total="999.00")  # not the sum: refused
    page.click("#drop-upload")
    for i in range(3):
        expect(cards.nth(i)).to_have_attribute("data-state", re.compile("^(ok|refused)$"), timeout=15_000)
    assert [cards.nth(i).get_attribute("data-state") for i in range(3)] == ["ok", "ok", "refused"]
    assert "Invoice No. 82000001 is registered." in cards.nth(0).locator(".drop-result").inner_text()
    assert cards.nth(0).locator("progress").evaluate("p => p.value") == 100
    assert cards.nth(2).locator("[data-error=total_amount]").is_visible()
    screenshot(page, "invoice-drop-zone")
    assert sorted(Invoice.objects.values_list("invoice_number", flat=True)) == ["82000001", "82000002"]
    link = cards.nth(1).locator(".drop-result a").get_attribute("href")
    assert link == f"/invoices/{Invoice.objects.get(invoice_number='82000002').pk}/"


def test_the_job_page_follows_the_import_live_to_its_counts(supplier_page):
    page = supplier_page
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["invoice_code", "invoice_number", "buyer_credit_code", "issue_date", "amount_excl_tax",
                     "tax_amount", "total_amount"])
    writer.writerow(["4403221130", "83000001", BUYER, "2026-10-08", "100.00", "13.00", "113.00"])
    writer.writerow(["4403221130", "83000002", BUYER, "2026-10-08", "abc", "13.00", "113.00"])
    page.goto("/invoices/import/")
    page.set_input_files("#id_file", files=[{"name": "batch.csv", "mimeType": "text/csv",
                                             "buffer": out.getvalue().encode()}])
    page.click("main button[type=submit]")
    page.wait_for_url("**/invoices/import/*/")
    assert page.locator("#import-progress[data-status=queued]").count() == 1
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)  # the worker's work, done here; the page learns of it by polling
    page.wait_for_selector("#import-progress[data-status=done]", timeout=10_000)
    assert page.locator("#import-created").inner_text() == "1"
    assert page.locator("#import-failed").inner_text() == "1"
    assert page.locator("#import-progress progress").evaluate("p => p.value") == 2
    assert page.locator(f"a[href='/invoices/import/{job.pk}/errors.csv']").count() == 1
    assert ImportJob.objects.get().status == ImportStatus.DONE
    screenshot(page, "invoice-import-job")


@pytest.mark.parametrize("path", ["/invoices/import/", "/invoices/upload/"])
def test_the_import_and_upload_pages_fit_a_phone(browser, live_server, demo_orgs, path):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    phone = context.new_page()
    try:
        browser_login(phone, "supplier")
        phone.goto(path)
        if path == "/invoices/upload/":
            phone.set_input_files("#drop-files", files=[
                {"name": "a-very-long-invoice-file-name-that-must-wrap-on-a-phone.pdf",
                 "mimeType": "application/pdf", "buffer": pdf_bytes()}])
        assert too_wide(phone) is None, path
        screenshot(phone, "invoice-phone" + path.replace("/", "-").rstrip("-"))
    finally:
        context.close()
