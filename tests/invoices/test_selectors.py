"""invoices_visible_to and invoice_get_for, called directly as other apps call them."""

import uuid

import pytest
from django.contrib.auth.models import AnonymousUser

from finance_portal.errors import NotFound
from invoices.selectors import invoice_get_for, invoices_visible_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(register):
    return register("supplier"), register("supplier2")


@pytest.mark.parametrize(
    "username, sees",
    [
        ("supplier", {0}),
        ("supplier2", {1}),
        ("buyer", {0, 1}),
        ("core2", set()),
        ("financier", set()),
        ("regulator", {0, 1}),
        ("admin", {0, 1}),
    ],
)
def test_each_role_sees_its_own_sides_invoices_and_oversight_sees_all(users, two, username, sees):
    assert set(invoices_visible_to(users[username])) == {two[i] for i in sees}
    for i, invoice in enumerate(two):
        if i in sees:
            assert invoice_get_for(user=users[username], invoice_id=invoice.pk) == invoice
        else:
            with pytest.raises(NotFound):
                invoice_get_for(user=users[username], invoice_id=invoice.pk)


def test_anonymous_and_organizationless_users_see_nothing(two, django_user_model):
    assert not invoices_visible_to(AnonymousUser()).exists()
    assert not invoices_visible_to(django_user_model.objects.create_user("loner", password="x")).exists()


def test_a_superuser_without_an_organization_sees_all(two, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x")
    assert invoices_visible_to(root).count() == 2


def test_a_suspended_organization_still_reads_its_own_invoices(users, two, platform):
    from finance_portal.organizations.services import organization_set_kyc

    organization_set_kyc(organization_id=platform["supplier"].pk, status="suspended", actor=None)
    assert list(invoices_visible_to(users["supplier"])) == [two[0]]


@pytest.mark.parametrize("bad", ["", "x", None, 7, ["a"], uuid.UUID(int=0), str(uuid.UUID(int=1)).upper()])
def test_malformed_or_unknown_ids_are_not_found(users, two, bad):
    with pytest.raises(NotFound):
        invoice_get_for(user=users["admin"], invoice_id=bad)


def test_an_id_in_any_uuid_spelling_is_found(users, two):
    assert invoice_get_for(user=users["admin"], invoice_id=str(two[0].pk).upper()) == two[0]
