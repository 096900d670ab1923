"""A person logging in, in a real browser."""

import pytest

from tests.e2e.conftest import browser_login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

LANDING = {
    "supplier": ("/home/supplier/", "Supplier workspace"),
    "buyer": ("/home/core_enterprise/", "Core enterprise workspace"),
    "financier": ("/home/financier/", "Financier workspace"),
    "regulator": ("/home/regulator/", "Regulator oversight"),
    "admin": ("/home/platform/", "Platform operations"),
}


@pytest.mark.parametrize("username", sorted(LANDING))
def test_each_role_logs_in_and_sees_its_workspace(page, demo_orgs, username):
    browser_login(page, username)
    path, heading = LANDING[username]
    assert page.url.endswith(path)
    assert page.inner_text("h1") == heading
    assert username in page.inner_text("header")
    screenshot(page, f"landing-{username}")


def test_a_wrong_password_shows_an_error_and_stays_on_the_login_page(page, demo_orgs):
    browser_login(page, "supplier", "not-the-password")
    assert "/accounts/login/" in page.url
    assert "The username or password is not right" in page.inner_text("[role=alert]")
    screenshot(page, "login-error")


def test_the_stylesheet_is_served_by_the_project(page, demo_orgs):
    response = page.goto("/accounts/login/")
    assert response.ok
    css = page.evaluate("getComputedStyle(document.querySelector('.card')).borderRadius")
    assert css == "8px"


def test_log_out_returns_to_the_login_page(page, demo_orgs):
    browser_login(page, "financier")
    page.click("text=Log out")
    page.wait_for_load_state()
    assert "/accounts/login/" in page.url
