"""The invoice admin: searchable and filterable, read-only, no way to create or delete past the service."""

import pytest
from django.test import Client

from invoices.models import Invoice
from tests.conftest import login

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/invoices/invoice/"


@pytest.fixture
def admin_client_(users) -> Client:
    return login(Client(), "admin")


def test_the_changelist_searches_by_number_name_and_hash(admin_client_, register):
    first = register(invoice_number="90000001")
    second = register("supplier2", invoice_number="90000002")
    for query, expected in (
        ("90000001", {first}),
        ("Dongguan", {second}),
        ("Huaxin", {first, second}),
        (second.file_sha256, {second}),
        ("4403221130", {first, second}),
    ):
        response = admin_client_.get(CHANGELIST, {"q": query})
        assert response.status_code == 200
        assert set(response.context["cl"].result_list) == expected, query


def test_the_changelist_filters_by_status_currency_and_issue_date(admin_client_, register):
    invoice = register()
    for params in ({"status__exact": "registered"}, {"currency": "CNY"}, {"issue_date__year": "2026"}):
        response = admin_client_.get(CHANGELIST, params)
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == [invoice], params


def test_the_admin_cannot_add_invoices_past_the_service(admin_client_, users, nothing_written):
    assert admin_client_.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client_.post(f"{CHANGELIST}add/", {"invoice_number": "12345678"}).status_code == 403
    nothing_written(0)


def test_the_change_page_is_read_only_and_links_to_the_checked_download(admin_client_, register):
    invoice = register(total_amount="11300.00")
    url = f"{CHANGELIST}{invoice.pk}/change/"
    response = admin_client_.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert invoice.file_sha256 in html
    assert f"/invoices/{invoice.pk}/file/" in html
    assert "/media/" not in html and invoice.file.name not in html  # no raw storage path
    assert 'name="total_amount"' not in html  # nothing editable
    admin_client_.post(url, {"total_amount": "1.00", "amount_excl_tax": "1.00", "tax_amount": "0"})
    invoice.refresh_from_db()
    assert str(invoice.total_amount) == "11300.00"


def test_the_admin_cannot_delete_invoices(admin_client_, register):
    invoice = register()
    assert admin_client_.get(f"{CHANGELIST}{invoice.pk}/delete/").status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_non_staff_users_do_not_reach_the_invoice_admin(users):
    response = login(Client(), "regulator").get(CHANGELIST)
    assert response.status_code == 302 and "/admin/login/" in response.url
