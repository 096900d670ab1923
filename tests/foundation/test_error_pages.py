"""With DEBUG off, people get the portal's styled 403/404/500 pages and API clients get JSON errors."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from finance_portal import urls as portal_urls
from tests.conftest import login

pytestmark = pytest.mark.django_db

# This module is the URL conf of the tests below: the portal's own plus two views that fail.


def _forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("not for you")


def _crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret-internal-detail")


urlpatterns = [
    path("test-errors/forbidden/", _forbidden),
    path("test-errors/crash/", _crash),
    path("api/v1/test-errors/crash/", _crash),
    *portal_urls.urlpatterns,
]
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500

URLCONF = __name__


@pytest.fixture(autouse=True)
def _debug_off(settings):  # type: ignore[no-untyped-def]
    settings.DEBUG = False
    settings.ROOT_URLCONF = URLCONF


def test_an_unknown_page_is_the_styled_404_without_the_url_conf(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body and 'class="error-code">404' in body
    assert "css/portal.css" in body
    assert "URLconf" not in body and "marketplace/" not in body and "Using the URLconf" not in body


def test_an_unknown_page_is_styled_for_a_signed_in_user_too(client, demo_orgs):
    login(client, "supplier")
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "supplier" in response.content.decode()  # base.html's top bar with the user


def test_a_view_refusing_with_permission_denied_shows_the_styled_403(client):
    response = client.get("/test-errors/forbidden/")
    assert response.status_code == 403
    body = response.content.decode()
    assert "You cannot open this page" in body and 'class="error-code">403' in body


def test_a_real_page_refused_to_a_role_shows_the_styled_403(client, demo_orgs):
    login(client, "supplier")
    response = client.get("/oversight/")
    assert response.status_code == 403
    assert "You cannot open this page" in response.content.decode()


def test_a_view_raising_an_exception_shows_the_styled_500_without_a_traceback():
    client = Client(raise_request_exception=False)
    response = client.get("/test-errors/crash/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body and 'class="error-code">500' in body
    assert "css/portal.css" in body
    assert "secret-internal-detail" not in body and "Traceback" not in body and "RuntimeError" not in body


def test_the_500_page_renders_without_a_request_or_the_database(django_assert_num_queries):
    from django.template import loader

    with django_assert_num_queries(0):
        body = loader.get_template("500.html").render()
    assert "Something went wrong on our side" in body


def test_an_unknown_api_url_answers_json_404():
    response = Client().get("/api/v1/nope/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_an_api_crash_answers_json_500():
    response = Client(raise_request_exception=False).get("/api/v1/test-errors/crash/")
    assert response.status_code == 500
    assert response.json() == {"detail": "A server error occurred.", "code": "server_error"}


def test_a_drf_not_found_keeps_its_json_shape(client, demo_orgs):
    login(client, "supplier")
    response = client.get("/api/v1/bills/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert response.json()["code"] == "bill_not_found"  # the domain error's code, not the generic handler's


def test_a_form_without_its_csrf_token_gets_the_styled_expired_form_page_and_nothing_happens(demo_orgs):
    csrf_client = Client(enforce_csrf_checks=True)
    login(csrf_client, "supplier")
    response = csrf_client.post("/accounts/logout/", {})
    assert response.status_code == 403
    body = response.content.decode()
    assert "The form has expired" in body and "CSRF cookie" not in body and "Reason given" not in body
    assert csrf_client.get("/").status_code in (200, 302)  # still signed in: the post did nothing
    assert "_auth_user_id" in csrf_client.session


def test_an_api_post_without_its_csrf_token_answers_json_403(demo_orgs):
    csrf_client = Client(enforce_csrf_checks=True)
    login(csrf_client, "supplier")
    response = csrf_client.post("/api/v1/bills/", {}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] in ("csrf_failed", "permission_denied", "not_authenticated"), response.json()
