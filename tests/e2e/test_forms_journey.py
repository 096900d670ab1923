"""The bill forms in a real browser: a supplier lists with a rate in percent and watches the price preview
follow what it types, confirms, and a financier buys after confirming; a refused rate is shown beside its
field with what was typed; the counterparty picker is used with the keyboard; the split form keeps its sum.
"""

from __future__ import annotations

import pytest

from bills.models import BillPurchase, BillState
from tests.bills.factories import accepted, build_world, refresh
from tests.e2e.conftest import browser_login, screenshot, sign_out

pytestmark = pytest.mark.django_db(transaction=True)


def relogin(page, username: str) -> None:  # type: ignore[no-untyped-def]
    sign_out(page)
    browser_login(page, username)


def list_form(page):  # type: ignore[no-untyped-def]
    return page.locator("form#action-list")


def test_list_with_a_percentage_see_the_preview_confirm_and_a_financier_buys_after_confirming(page):
    world = build_world()
    bill = accepted(world, "10000.00")  # matures in 90 days
    browser_login(page, "supplier")
    page.goto(f"/bills/{bill.pk}/")
    rate = list_form(page).locator("#list-rate")
    rate.press_sequentially("4")
    preview = page.locator("#list-rate-preview [data-preview=price]")
    preview.wait_for()
    assert preview.inner_text() == "9,900.00 CNY"  # 10,000 × 4 % × 90 / 360 = 100.00
    rate.fill("")
    rate.press_sequentially("3.6")
    page.wait_for_function(
        "() => (document.querySelector('#list-rate-preview [data-preview=price]') || {}).textContent === '9,910.00 CNY'")
    assert page.inner_text("#list-rate-preview [data-preview=interest]") == "90.00 CNY"
    assert page.inner_text("#list-rate-preview [data-preview=days]") == "90"
    screenshot(page, "forms-1-rate-preview")
    list_form(page).locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "What will happen" in page.content() and "9,910.00 CNY" in page.content()
    assert refresh(bill).state == BillState.ACCEPTED  # nothing happens before the confirmation
    screenshot(page, "forms-2-confirm-list")
    page.locator("form.confirm-form button[type=submit]").click()
    page.wait_for_load_state()
    assert refresh(bill).state == BillState.LISTED and "3.60%" in page.content()

    relogin(page, "financier")
    page.goto(f"/marketplace/{bill.pk}/buy/")
    assert "You pay 9,910.00 CNY to" in page.content()
    assert not BillPurchase.objects.filter(bill=bill).exists()
    page.locator("button:has-text('Buy for')").click()
    page.wait_for_load_state()
    bill = refresh(bill)
    assert bill.state == BillState.FINANCED and bill.holder == world.org("financier")
    assert BillPurchase.objects.get(bill=bill).price == 9910
    screenshot(page, "forms-3-bought")


def test_a_form_error_is_shown_next_to_its_field_with_the_input_kept(page):
    world = build_world()
    bill = accepted(world, "10000.00")
    browser_login(page, "supplier")
    page.goto(f"/bills/{bill.pk}/")
    rate = list_form(page).locator("#list-rate")
    rate.press_sequentially("3,6")
    page.locator("#list-rate-preview .preview-error").wait_for()  # the live preview already says why
    list_form(page).locator("button[type=submit]").click()
    page.wait_for_load_state()
    error = page.locator("#list-rate-error")
    assert error.is_visible() and "comma" in error.inner_text()
    assert page.locator("#list-rate").input_value() == "3,6"  # the input is kept
    # beside the field: the error sits in the rate field's own box, right under the input
    assert page.locator(".field.has-error #list-rate-error").count() == 1
    assert page.locator("#list-rate").get_attribute("aria-describedby").endswith("list-rate-error")
    screenshot(page, "forms-4-error-in-place")
    assert refresh(bill).state == BillState.ACCEPTED


def test_the_picker_chooses_a_receiver_by_keyboard_and_the_split_form_sums_its_rows(page):
    world = build_world()
    bill = accepted(world, "10000.00")
    receiver = world.org("supplier2")
    browser_login(page, "supplier")
    page.goto(f"/bills/{bill.pk}/")
    field = page.locator("form#action-transfer #to")
    field.press_sequentially(receiver.legal_name[:5])
    page.locator("#to-options .picker-option").first.wait_for()
    assert receiver.legal_name in page.inner_text("#to-options")
    field.press("ArrowDown")
    field.press("Enter")
    assert field.input_value() == receiver.credit_code
    assert receiver.legal_name in page.inner_text("form#action-transfer [data-picker-chosen]")

    split = page.locator("form#action-split")
    split.locator("#parts-0-face").fill("4000.00")
    assert split.locator("[data-split-remaining]").inner_text() == "6,000.00 CNY"
    split.locator("[data-split-add]").click()
    assert split.locator("[data-split-row]").count() == 3
    split.locator("#parts-2-face").fill("1000.00")
    split.locator("#parts-1-face").fill("5000.00")
    assert split.locator("[data-split-remaining]").inner_text() == "0.00 CNY"
    assert split.locator("[data-split-total]").inner_text() == "10,000.00 CNY"
    screenshot(page, "forms-5-split")
    split.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "Part 3: 1,000.00 CNY" in page.content()
    page.locator("form.confirm-form button[type=submit]").click()
    page.wait_for_load_state()
    assert refresh(bill).state == BillState.SPLIT and bill.children.count() == 3
