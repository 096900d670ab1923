"""The regulator's data explorer filters by organization through foreign keys: the credit code is resolved to the
organization's id once, so the list compares ``creditor_id``, ``debtor_id`` and ``holder_id`` (their indexes)
instead of joining three organizations; a credit code nobody has lists nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from finance_portal.organizations.validators import make_credit_code
from tests.bills.factories import accepted, build_world, financed, listed
from tests.conftest import login

pytestmark = pytest.mark.django_db

BILLS = "/oversight/data/bills/"


def test_the_bill_list_filtered_by_organization_compares_foreign_keys():
    world = build_world()
    owed = listed(world, "2000.00", debtor="buyer2")
    held = financed(world, "3000.00")
    accepted(world, "4000.00")
    client = login(Client(), "regulator")
    client.get(BILLS)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(BILLS, {"org": world.org("buyer2").credit_code})
    assert [row[0].text for row in page.context["rows"]] == [owed.number]
    bill_queries = [q["sql"] for q in captured.captured_queries if 'FROM "bills_bill"' in q["sql"]]
    assert bill_queries and not any('"credit_code" =' in sql for sql in bill_queries), bill_queries
    count = next(sql for sql in bill_queries if "COUNT(*)" in sql)
    assert "JOIN" not in count and '"debtor_id" = ' in count, count
    financier = client.get(BILLS, {"org": world.org("financier").credit_code, "state": "financed"})
    assert [row[0].text for row in financier.context["rows"]] == [held.number]
    nobody = client.get(BILLS, {"org": make_credit_code("91440300MA5F99999")})
    assert nobody.status_code == 200 and nobody.context["page"].paginator.count == 0
