"""Reads compiled once (finance_portal/compiled.py): the same rows as the queryset they stand for, no second
compile of a shape, and a loud refusal of every builder whose SQL would not be the same for other values."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import transaction
from django.db.models.sql.compiler import SQLCompiler

from bills.models import Bill, BillParticipant, BillState
from finance_portal.compiled import CompiledRead, CompiledReadMismatch
from finance_portal.organizations.models import Membership, Organization
from tests.bills.factories import World, build_world, listed

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def _memberships(*, org: int):  # type: ignore[no-untyped-def]
    return Membership.objects.filter(organization_id=org).select_related("user", "organization").order_by("id")


def _compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    return calls


def test_rows_are_the_querysets_rows_with_related_rows_joined(world, django_assert_num_queries):
    read = CompiledRead(_memberships)
    for key in ("supplier", "buyer", "financier"):
        org = world.org(key)
        expected = list(_memberships(org=org.pk))
        with django_assert_num_queries(1):
            got = read.rows(org=org.pk)
            names = [(m.user.username, m.organization.legal_name) for m in got]  # joined: no further query
        assert [m.pk for m in got] == [m.pk for m in expected] and got
        assert names == [(m.user.username, m.organization.legal_name) for m in expected]


def test_a_shape_is_compiled_once_whatever_the_values(world, settings, monkeypatch):
    settings.COMPILED_READS_CHECK = False
    built: list[int] = []

    def build(*, org: int):  # type: ignore[no-untyped-def]
        built.append(org)
        return _memberships(org=org)

    read = CompiledRead(build)
    compiles = _compiles(monkeypatch)
    firsts = [read.rows(org=world.org(k).pk)[0].organization_id for k in ("supplier", "buyer", "financier")]
    assert firsts == [world.org(k).pk for k in ("supplier", "buyer", "financier")]
    assert len(built) == 1 and built[0] < 0  # built once, with a stand-in
    assert len(compiles) == 1
    read.rows("another shape", org=world.org("buyer").pk)
    assert len(built) == 2 and len(compiles) == 2


def test_first_is_querysets_first_and_none_when_nothing_matches(world):
    read = CompiledRead(lambda *, code: Organization.objects.filter(credit_code__gte=code), first=True)
    code = world.org("buyer").credit_code
    assert read.first(code=code) == Organization.objects.filter(credit_code__gte=code).first()
    assert read.first(code="Z" * 18) is None


def test_the_visible_bill_reads_answer_as_the_orm_would(world):
    from bills import selectors

    bill = listed(world)
    stranger = Organization.objects.exclude(pk__in=BillParticipant.objects.filter(bill=bill)
                                            .values("organization_id")).filter(is_supplier=True).first()
    assert stranger is not None
    assert selectors._one_visible_bill(pk=bill.pk, org=stranger.pk, detail=False).first() is None
    for org in (world.org("supplier").pk, None):
        read = selectors._VISIBLE_BILL.first(("org" if org else "all"), pk=bill.pk, **({"org": org} if org else {}))
        assert read is not None and read.pk == bill.pk and read.state == BillState.LISTED
    assert selectors._VISIBLE_BILL.first("org", pk=bill.pk, org=stranger.pk) is None
    assert selectors._VISIBLE_BILL.first("all", pk=uuid.uuid4()) is None


def test_a_builder_reading_more_than_its_parameters_is_caught_on_the_next_call(world, settings):
    settings.COMPILED_READS_CHECK = True
    outside = {"day": dt.date(2026, 1, 1)}
    read = CompiledRead(lambda *, org: Bill.objects.filter(debtor_id=org, maturity_date__gte=outside["day"]))
    read.rows(org=world.org("buyer").pk)
    outside["day"] = dt.date(2026, 6, 1)  # a frozen "today" would be such a value
    with pytest.raises(CompiledReadMismatch):
        read.rows(org=world.org("buyer").pk)


def test_a_parameter_the_sql_does_not_carry_as_given_is_refused_at_compile(world):
    transformed = CompiledRead(lambda *, name: Organization.objects.filter(legal_name__icontains=name))
    with pytest.raises(TypeError, match="name: not passed to the SQL as given"):
        transformed.rows(name="Supplier")
    unused = CompiledRead(lambda *, org: Organization.objects.all())
    with pytest.raises(TypeError, match="org: not passed"):
        unused.rows(org=1)


@pytest.mark.parametrize("value", [True, None, [1, 2], 1.5])
def test_flags_lists_and_floats_are_refused_as_parameters(world, value):
    read = CompiledRead(lambda *, org: Organization.objects.filter(pk=org))
    with pytest.raises(TypeError):
        read.rows(org=value)


def test_a_value_of_another_type_than_the_shapes_is_refused(world):
    read = CompiledRead(lambda *, pk: Bill.objects.filter(pk=pk))
    read.rows(pk=uuid.uuid4())
    with pytest.raises(TypeError, match="pk: expected UUID, got str"):
        read.rows(pk=str(uuid.uuid4()))


@pytest.mark.django_db(transaction=True)
def test_a_locking_read_outside_a_transaction_is_refused_as_djangos_is(world):
    bill = listed(world)
    read = CompiledRead(lambda *, pk: Bill.objects.select_for_update().filter(pk=pk), first=True)
    with transaction.atomic():
        assert read.first(pk=bill.pk).pk == bill.pk
    with pytest.raises(transaction.TransactionManagementError):
        read.first(pk=bill.pk)
