"""Log-in, log-out, per-role landing pages, rate limiting, and the token API."""

import pytest
from django.test import Client
from django.urls import reverse

from finance_portal.organizations.services import organization_set_kyc
from finance_portal.portal.demo import DEMO_PASSWORD
from tests.conftest import login

pytestmark = pytest.mark.django_db

EXPECTED_ROLE = {
    "supplier": "supplier",
    "supplier2": "supplier",
    "buyer": "core_enterprise",
    "financier": "financier",
    "financier2": "financier",
    "regulator": "regulator",
    "admin": "platform",
}


def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content and b"/static/css/portal.css" in response.content


@pytest.mark.parametrize("username, role", sorted(EXPECTED_ROLE.items()))
def test_each_demo_user_lands_on_its_role_page(demo_orgs, username, role):
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"/home/{role}/"
    assert f"portal/landing_{role}.html" in [t.name for t in response.templates]


def test_a_user_cannot_open_another_roles_page(demo_orgs):
    client = Client()
    login(client, "supplier")
    response = client.get("/home/regulator/")
    assert response.status_code == 302
    assert response.url == "/"


def test_pages_require_login(client):
    response = client.get("/home/supplier/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_wrong_password_shows_a_form_error(demo_orgs, client):
    response = client.post("/accounts/login/", {"username": "supplier", "password": "wrong"})
    assert response.status_code == 200
    assert b"The username or password is not right" in response.content
    assert "_auth_user_id" not in client.session


def test_repeated_failures_are_locked_out(demo_orgs, client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "supplier", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "supplier", "password": DEMO_PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed log-in attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(demo_orgs, client):
    login(client, "buyer")
    client.post("/accounts/logout/")
    assert client.get("/home/core_enterprise/").status_code == 302


def test_a_pending_kyc_organization_sees_a_notice(demo_orgs, client):
    organization_set_kyc(organization_id=demo_orgs["supplier"].pk, status="pending", actor=None)
    login(client, "supplier")
    response = client.get("/home/supplier/")
    assert b"is not KYC approved" in response.content


def test_token_login_and_me(demo_orgs):
    client = Client()
    response = client.post("/api/v1/auth/token/", {"username": "financier", "password": DEMO_PASSWORD},
                           content_type="application/json")
    assert response.status_code == 200
    token = response.json()["token"]
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert me["role"] == "financier"
    assert me["organization"]["kyc_status"] == "approved"


def test_token_login_with_a_wrong_password_is_a_400_with_a_reason(demo_orgs):
    response = Client().post("/api/v1/auth/token/", {"username": "financier", "password": "nope"},
                             content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_token_login_with_missing_fields_names_them(demo_orgs):
    response = Client().post("/api/v1/auth/token/", {"username": "financier"}, content_type="application/json")
    assert response.status_code == 400
    assert "password" in response.json()


def test_api_requires_authentication():
    assert Client().get("/api/v1/me/").status_code in (401, 403)


def test_api_schema_and_docs_are_served_offline(demo_orgs, client):
    login(client, "admin")
    assert client.get(reverse("api-schema")).status_code == 200
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"https://" not in docs.content


def test_admin_lists_organizations_with_filters(demo_orgs, client):
    login(client, "admin")
    response = client.get("/admin/organizations/organization/?kyc_status__exact=pending&q=Newco")
    assert response.status_code == 200
    assert b"Newco Trading" in response.content


def test_domain_errors_become_json_with_their_status(rf):
    from finance_portal.errors import Conflict
    from finance_portal.portal.api_errors import api_exception_handler

    response = api_exception_handler(Conflict("The bill is already accepted.", code="wrong_state"), {})
    assert response.status_code == 409
    assert response.data == {"detail": "The bill is already accepted.", "code": "wrong_state"}
