"""The audit log: what the middleware and the sign-in signals record for platform staff and regulators (and
never for anyone else), the client address, append-only in the ORM and in PostgreSQL, and the regulator's
browsable, exportable view of it."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from finance_portal.audit.models import AuditImmutable, AuditRecord
from finance_portal.audit.services import client_address
from finance_portal.organizations.models import Membership
from finance_portal.oversight.models import OversightFlag
from finance_portal.oversight.services import oversight_sweep
from finance_portal.portal.demo import DEMO_PASSWORD
from tests.bills.factories import accepted
from tests.conftest import login
from tests.oversight.conftest import sql

pytestmark = pytest.mark.django_db

AUDIT = "/oversight/audit/"


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    from tests.bills.factories import build_world

    return build_world()


@pytest.fixture
def flag(world):  # type: ignore[no-untyped-def]
    bill = accepted(world)
    sql("UPDATE bills_bill SET face = 1.00 WHERE id = %s", [bill.pk])
    oversight_sweep()
    return OversightFlag.objects.get()


def records(**filters: object) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(**filters).order_by("id"))


# --- what is recorded -------------------------------------------------------------------------------------


def test_a_regulators_page_read_is_recorded_with_who_what_and_where(world, client):
    login(client, "regulator")
    assert client.get("/oversight/data/bills/", {"state": "accepted"}, REMOTE_ADDR="10.1.2.3",
                      HTTP_USER_AGENT="Examiner/1.0").status_code == 200
    (rec,) = records(path="/oversight/data/bills/")
    assert rec.user == world.user("regulator") and rec.username == "regulator" and rec.role == "regulator"
    assert rec.organization == world.org("regulator") and rec.method == "GET" and rec.status_code == 200
    assert rec.query == "state=accepted" and rec.view_name == "explorer:dataset" and rec.object_ref == "key=bills"
    assert rec.remote_addr == "10.1.2.3" and rec.user_agent == "Examiner/1.0" and not rec.is_export
    assert rec.at.utcoffset() is not None and rec.action == "request"


def test_a_regulators_flag_acknowledgement_through_the_api_is_recorded(world, client, flag):
    login(client, "regulator")
    url = f"/api/v1/oversight/flags/{flag.pk}/acknowledge/"
    response = client.post(url, {"note": "Seen"}, content_type="application/json", REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 200
    (rec,) = records(path=url)
    assert (rec.user, rec.method, rec.status_code, rec.remote_addr) == (world.user("regulator"), "POST", 200, "192.0.2.7")
    assert rec.object_ref == f"flag_id={flag.pk}"


def test_a_token_authenticated_api_call_is_recorded_too(world, client, flag):
    token = Token.objects.create(user=world.user("regulator"))
    assert client.get("/api/v1/oversight/flags/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200
    (rec,) = records(path="/api/v1/oversight/flags/")
    assert rec.user == world.user("regulator") and rec.role == "regulator"


def test_an_admin_change_and_an_admin_action_are_recorded(world, client):
    login(client, "admin")
    supplier = world.org("supplier")
    client.post("/admin/organizations/organization/", {
        "action": "suspend_kyc", "_selected_action": [str(supplier.pk)]}, REMOTE_ADDR="203.0.113.9")
    membership = Membership.objects.get(user=world.user("supplier2"))
    change = f"/admin/organizations/membership/{membership.pk}/change/"
    response = client.post(change, {"user": membership.user_id, "organization": membership.organization_id,
                                    "role": "admin"}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    (action,) = records(path="/admin/organizations/organization/")
    assert action.role == "platform_staff" and action.method == "POST" and action.remote_addr == "203.0.113.9"
    assert f"action=suspend_kyc; selected={supplier.pk}" in action.object_ref
    (changed,) = records(path=change)
    assert changed.user == world.user("admin") and changed.status_code == 302
    assert changed.view_name == "admin:organizations_membership_change"
    assert changed.object_ref == f"object_id={membership.pk}"


def test_a_regulators_refused_write_is_recorded_with_its_status(world, client):
    bill = accepted(world)
    login(client, "regulator")
    url = f"/api/v1/bills/{bill.pk}/settle/"
    status = client.post(url, {}, content_type="application/json").status_code
    assert status in (403, 404, 409)
    (rec,) = records(path=url)
    assert rec.method == "POST" and rec.status_code == status and rec.user == world.user("regulator")


@pytest.mark.parametrize(("path", "query", "headers", "expected"), [
    ("/api/v1/bills/1/bundle/", "", {}, True),
    ("/verify/x/bundle.json", "", {}, True),
    ("/api/v1/accounts/3/statement/", "format=csv", {}, True),
    ("/invoices/1/file/", "", {"Content-Disposition": 'attachment; filename="a.pdf"'}, True),
    ("/oversight/", "", {}, False),
    ("/api/v1/bills/", "", {}, False),
])
def test_what_counts_as_an_export(path, query, headers, expected):
    from django.http import HttpResponse

    from finance_portal.audit.middleware import is_export

    response = HttpResponse("x", content_type="application/json" if "api" in path else "text/html")
    for name, value in headers.items():
        response[name] = value
    assert is_export(RequestFactory().get(path + ("?" + query if query else "")), response) is expected


def test_staff_reads_are_not_recorded_but_their_exports_are(world, client, flag):
    login(client, "admin")
    before = AuditRecord.objects.count()
    assert client.get("/oversight/").status_code == 200
    assert AuditRecord.objects.count() == before
    assert client.get("/oversight/flags.csv").status_code == 200
    (rec,) = records(path="/oversight/flags.csv")
    assert rec.is_export and rec.role == "platform_staff"


def test_sign_ins_sign_outs_and_failed_sign_ins_are_recorded(world, client):
    for username in ("admin", "regulator"):
        client.post("/accounts/login/", {"username": username, "password": "wrong"}, REMOTE_ADDR="198.51.100.4")
    client.post("/accounts/login/", {"username": "admin", "password": DEMO_PASSWORD}, REMOTE_ADDR="198.51.100.4")
    client.post("/accounts/logout/", REMOTE_ADDR="198.51.100.4")
    assert [(r.username, r.action, r.method, r.remote_addr) for r in records()] == [
        ("admin", "login_failed", "POST", "198.51.100.4"), ("regulator", "login_failed", "POST", "198.51.100.4"),
        ("admin", "login", "POST", "198.51.100.4"), ("admin", "logout", "POST", "198.51.100.4")]


def test_nothing_is_recorded_for_other_users_nor_for_anyone_signed_out(world, client):
    accepted(world)
    login(client, "supplier")
    client.get("/bills/")
    client.post("/verify/links/00000000-0000-0000-0000-000000000000/")
    client.logout()
    client.get("/accounts/login/")
    client.post("/accounts/login/", {"username": "supplier", "password": "wrong"})
    assert AuditRecord.objects.count() == 0


def test_the_middleware_costs_a_supplier_no_query(world, client):
    accepted(world)
    login(client, "supplier")

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/bills/").status_code == 200
        return [q["sql"] for q in ctx.captured_queries]

    with_audit = queries()
    from django.conf import settings

    plain = [m for m in settings.MIDDLEWARE if "audit" not in m]
    with override_settings(MIDDLEWARE=plain):
        without = queries()
    assert len(with_audit) == len(without)
    assert not any("audit" in q for q in with_audit)


def test_odd_paths_and_long_agents_are_recorded_safely(world, client):
    login(client, "regulator")
    assert client.get("/oversight/data/bills%00/", HTTP_USER_AGENT="A" * 1000).status_code == 404
    (rec,) = records(status_code=404)
    assert rec.path == "/oversight/data/bills%00/" and len(rec.user_agent) == 300


def test_static_files_are_never_recorded(world, client):
    login(client, "regulator")
    before = AuditRecord.objects.count()
    client.get("/static/css/portal.css")
    assert AuditRecord.objects.count() == before


# --- the client's address ---------------------------------------------------------------------------------


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted():
    rf = RequestFactory()
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_address(request) == "10.0.0.1"
    with override_settings(AUDIT_TRUSTED_PROXIES=["10.0.0.1", "10.0.0.2"]):
        assert client_address(request) == "1.2.3.4"
        chained = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4, 10.0.0.2")
        assert client_address(chained) == "1.2.3.4"  # the spoofable left part is not believed
        assert client_address(rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="junk")) == "10.0.0.1"
        assert client_address(rf.get("/", REMOTE_ADDR="9.9.9.9", HTTP_X_FORWARDED_FOR="1.2.3.4")) == "9.9.9.9"


# --- append-only ------------------------------------------------------------------------------------------


@pytest.fixture
def one_record(world, client):  # type: ignore[no-untyped-def]
    login(client, "regulator")
    client.get(AUDIT)
    return AuditRecord.objects.filter(path=AUDIT).get()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_auditrecord SET path = '/nothing/' WHERE id = %s",
    "DELETE FROM audit_auditrecord WHERE id = %s",
])
def test_the_database_refuses_update_and_delete(one_record, statement):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [one_record.pk])
    assert AuditRecord.objects.get(pk=one_record.pk).path == AUDIT


def test_the_orm_refuses_to_change_or_delete_a_record(one_record):
    one_record.path = "/x/"
    with pytest.raises(AuditImmutable):
        one_record.save()
    with pytest.raises(AuditImmutable):
        one_record.delete()
    with pytest.raises(AuditImmutable):
        AuditRecord.objects.filter(pk=one_record.pk).update(path="/x/")
    with pytest.raises(AuditImmutable):
        AuditRecord.objects.filter(pk=one_record.pk).delete()


# --- the regulator's view ---------------------------------------------------------------------------------


def export(client, **params):  # type: ignore[no-untyped-def]
    response = client.get(AUDIT, {**params, "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_log_is_browsable_filterable_and_its_export_is_itself_audited(world, client):
    login(client, "admin")
    client.post("/admin/organizations/organization/", {"action": "approve_kyc", "_selected_action": ["0"]})
    login(client, "regulator")
    client.get("/oversight/data/")
    page = client.get(AUDIT)
    assert page.status_code == 200 and page.context["page"].paginator.count >= 3
    rows = export(client, role="regulator", method="GET")
    assert {r["User"] for r in rows} == {"regulator"} and {r["Method"] for r in rows} == {"GET"}
    assert [r["Path"] for r in export(client, user="adm", method="POST")] == ["/admin/organizations/organization/"]
    assert export(client, path="/oversight/data")[0]["Path"] == "/oversight/data/"
    assert export(client, **{"from": "2999-01-01"}) == []
    audited = records(path=AUDIT, is_export=True)
    assert audited and audited[-1].query.endswith("format=csv") and audited[-1].user == world.user("regulator")


@pytest.mark.parametrize("username", ["supplier", "buyer", "financier"])
def test_traders_get_403_on_the_audit_log(world, client, username):
    login(client, username)
    assert client.get(AUDIT).status_code == 403
    assert client.get(AUDIT, {"format": "csv"}).status_code == 403


def test_signed_out_users_are_sent_to_sign_in(world, client):
    assert client.get(AUDIT)["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("params", [
    {"page": "³"}, {"page": "１２"}, {"from": "2026-13-01"}, {"to": "２０２６-01-01"}, {"role": "king"},
    {"method": "BREW"}, {"user": "a\x00b"}, {"path": "\x00"}, {"format": "pdf"},
])
def test_bad_audit_filters_are_400(world, client, params):
    login(client, "regulator")
    assert client.get(AUDIT, params).status_code == 400


def test_the_admin_shows_the_log_read_only(world, client, one_record):
    login(client, "admin")
    assert client.get("/admin/audit/auditrecord/").status_code == 200
    assert client.get(f"/admin/audit/auditrecord/{one_record.pk}/change/").status_code == 200
    assert client.get("/admin/audit/auditrecord/add/").status_code == 403
    assert client.post(f"/admin/audit/auditrecord/{one_record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditRecord.objects.filter(pk=one_record.pk).exists()
