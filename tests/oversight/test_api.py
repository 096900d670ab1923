"""Oversight API and pages: regulators and platform staff only; acknowledging needs a note and changes no
bill; a freeze request freezes nothing until platform staff grant it in the admin; CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import IntegrityError, transaction
from django.utils.html import escape

from bills.models import BillEvent, BillState
from finance_portal.oversight.models import FreezeRequest, OversightFlag
from finance_portal.oversight.services import oversight_sweep
from tests.bills.factories import accepted, refresh
from tests.conftest import login
from tests.oversight.conftest import sql

pytestmark = pytest.mark.django_db

FLAGS = "/api/v1/oversight/flags/"
RECONCILIATION = "/api/v1/oversight/reconciliation/"


@pytest.fixture
def tampered(world):  # type: ignore[no-untyped-def]
    """An accepted bill whose face was edited in SQL, and the flag the sweep raised about it."""
    bill = accepted(world)
    sql("UPDATE bills_bill SET face = 1.00 WHERE id = %s", [bill.pk])
    oversight_sweep()
    return bill, OversightFlag.objects.get()


@pytest.mark.parametrize(("username", "expected"), [
    ("supplier", 403), ("buyer", 403), ("financier", 403), ("regulator", 200), ("admin", 200)])
def test_reading_flags_and_reconciliation_is_for_oversight_roles(world, client, tampered, username, expected):
    login(client, username)
    assert client.get(FLAGS).status_code == expected
    assert client.get(RECONCILIATION).status_code == expected
    assert client.get("/oversight/").status_code == expected
    assert client.get("/oversight/flags.csv").status_code == expected


def test_signed_out_users_get_nothing(world, client, tampered):
    assert client.get(FLAGS).status_code in (401, 403)
    assert client.get(RECONCILIATION).status_code in (401, 403)
    assert client.post(f"{FLAGS}{tampered[1].pk}/acknowledge/", {"note": "x"}).status_code in (401, 403)
    assert client.get("/oversight/").status_code == 302  # to the login page


def test_a_supplier_gets_the_projects_403_body(world, client, tampered):
    login(client, "supplier")
    body = client.post(f"{FLAGS}{tampered[1].pk}/acknowledge/", {"note": "x"}, content_type="application/json")
    assert body.status_code == 403 and body.json()["code"] == "not_oversight"
    assert not OversightFlag.objects.get().acknowledged


def test_flags_filter_by_rule_and_acknowledgement(world, client, tampered):
    login(client, "regulator")
    data = client.get(FLAGS).json()
    assert data["count"] == 1 and data["results"][0]["rule"] == "chain_mismatch"
    assert data["results"][0]["bill_number"] == tampered[0].number and data["results"][0]["evidence"]["problems"]
    assert client.get(FLAGS, {"rule": "circular_transfer"}).json()["count"] == 0
    assert client.get(FLAGS, {"acknowledged": "true"}).json()["count"] == 0
    assert client.get(FLAGS, {"acknowledged": "false"}).json()["count"] == 1


def test_acknowledging_needs_a_note_is_recorded_once_and_changes_no_bill(world, client, tampered):
    bill, flag = tampered
    login(client, "regulator")
    url = f"{FLAGS}{flag.pk}/acknowledge/"
    missing = client.post(url, {"note": "  "}, content_type="application/json")
    assert missing.status_code == 400 and missing.json()["field"] == "note"
    events = BillEvent.objects.filter(bill=bill).count()
    done = client.post(url, {"note": "Referred to the platform"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["acknowledged_by"] == "regulator"
    assert client.post(url, {"note": "again"}, content_type="application/json").status_code == 409
    flag.refresh_from_db()
    assert flag.acknowledged_by == world.user("regulator") and flag.acknowledgement_note == "Referred to the platform"
    assert refresh(bill).state == BillState.ACCEPTED and BillEvent.objects.filter(bill=bill).count() == events
    assert client.get(FLAGS, {"acknowledged": "true"}).json()["count"] == 1
    assert client.post(f"{FLAGS}999999/acknowledge/", {"note": "x"}, content_type="application/json").status_code == 404


def test_reconciliation_lists_each_bill_ok_or_mismatch_with_reasons(world, client, tampered):
    bill, _ = tampered
    sound = accepted(world)
    login(client, "admin")
    data = client.get(RECONCILIATION).json()
    rows = {r["bill"]: r for r in data["results"]}
    assert data["count"] == 2 and rows[str(sound.pk)]["status"] == "ok" and rows[str(sound.pk)]["reasons"] == []
    assert rows[str(bill.pk)]["status"] == "mismatch" and any("face" in r for r in rows[str(bill.pk)]["reasons"])
    page = client.get("/oversight/reconciliation/")
    assert page.status_code == 200 and b"mismatch" in page.content and sound.number.encode() in page.content


# Freeze requests -------------------------------------------------------------------------------------------


def freeze_request(client, bill, reason="Court enquiry 2026-17"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/bills/{bill.pk}/freeze-request/", {"reason": reason}, content_type="application/json")


@pytest.mark.parametrize("username", ["supplier", "financier", "admin"])
def test_only_regulators_request_freezes(world, client, username):
    bill = accepted(world)
    login(client, username)
    assert freeze_request(client, bill).status_code == 403
    assert not FreezeRequest.objects.exists()


def test_a_freeze_request_needs_a_reason_and_a_bill(world, client):
    bill = accepted(world)
    login(client, "regulator")
    assert freeze_request(client, bill, reason="").json()["field"] == "reason"
    response = client.post("/api/v1/bills/00000000-0000-0000-0000-000000000000/freeze-request/", {"reason": "x"},
                           content_type="application/json")
    assert response.status_code == 404


def test_a_freeze_request_freezes_nothing_until_staff_grant_it_in_the_admin(world, client):
    bill = accepted(world)
    login(client, "regulator")
    response = freeze_request(client, bill)
    assert response.status_code == 201 and response.json()["status"] == "open"
    req = FreezeRequest.objects.get()
    assert req.requested_by == world.user("regulator") and req.requested_at is not None
    assert refresh(bill).state == BillState.ACCEPTED and not BillEvent.objects.filter(bill=bill, type="freeze").exists()

    login(client, "admin")
    page = client.post("/admin/oversight/freezerequest/", {
        "action": "grant", "_selected_action": [str(req.pk)], "note": "Confirmed with legal"}, follow=True)
    assert page.status_code == 200 and b"1 freeze request(s) granted" in page.content
    assert refresh(bill).state == BillState.FROZEN
    event = BillEvent.objects.get(bill=bill, type="freeze")
    assert event.actor_user == world.user("admin") and "Court enquiry 2026-17" in event.details["reason"]
    req.refresh_from_db()
    assert (req.status, req.decided_by, req.decision_note) == ("granted", world.user("admin"), "Confirmed with legal")
    # Decided once: a second decision is refused, in the service and in SQL.
    page = client.post("/admin/oversight/freezerequest/", {
        "action": "decline", "_selected_action": [str(req.pk)], "note": "no"}, follow=True)
    assert b"granted already" in page.content
    with pytest.raises(IntegrityError), transaction.atomic():
        FreezeRequest.objects.filter(pk=req.pk).update(status="declined", decision_note="rewritten")
    with pytest.raises(IntegrityError), transaction.atomic():
        FreezeRequest.objects.filter(pk=req.pk).delete()


def test_staff_decline_a_freeze_request_with_a_note(world, client):
    bill = accepted(world)
    login(client, "regulator")
    freeze_request(client, bill)
    req = FreezeRequest.objects.get()
    login(client, "admin")
    page = client.post("/admin/oversight/freezerequest/", {
        "action": "decline", "_selected_action": [str(req.pk)], "note": ""}, follow=True)
    assert b"a note is required" in page.content and FreezeRequest.objects.get().status == "open"
    client.post("/admin/oversight/freezerequest/", {
        "action": "decline", "_selected_action": [str(req.pk)], "note": "No court order attached"}, follow=True)
    req.refresh_from_db()
    assert req.status == "declined" and req.decided_by == world.user("admin")
    assert refresh(bill).state == BillState.ACCEPTED


# Pages -----------------------------------------------------------------------------------------------------


def test_the_regulator_page_shows_flags_by_rule_and_acknowledges_with_a_note(world, client, tampered):
    bill, flag = tampered
    login(client, "regulator")
    page = client.get("/oversight/").content.decode()
    assert escape(flag.explanation) in page and bill.number in page and "Database history differs from the chain" in page
    assert "/oversight/reconciliation/" in page and "/oversight/flags.csv" in page
    client.post(f"/oversight/flags/{flag.pk}/acknowledge/", {"note": ""})
    assert not OversightFlag.objects.get().acknowledged
    client.post(f"/oversight/flags/{flag.pk}/acknowledge/", {"note": "Looked into it"})
    assert OversightFlag.objects.get().acknowledgement_note == "Looked into it"
    landing = client.get("/home/regulator/").content.decode()
    assert 'href="/oversight/"' in landing


def test_the_csv_export_has_one_row_per_flag(world, client, tampered):
    bill, flag = tampered
    login(client, "regulator")
    response = client.get("/oversight/flags.csv")
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 1 and rows[0]["rule"] == "chain_mismatch" and rows[0]["bill"] == bill.number
    assert rows[0]["explanation"] == flag.explanation and "problems" in rows[0]["evidence"]


def test_the_nav_links_oversight_for_regulators_only(world, client):
    login(client, "regulator")
    assert 'href="/oversight/"' in client.get("/home/regulator/").content.decode()
    login(client, "supplier")
    assert 'href="/oversight/"' not in client.get("/home/supplier/").content.decode()


def test_the_endpoints_are_in_the_openapi_schema(world, client):
    login(client, "regulator")
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in ("/api/v1/oversight/flags/", "/api/v1/oversight/flags/{flag_id}/acknowledge/",
                 "/api/v1/oversight/reconciliation/", "/api/v1/bills/{bill_id}/freeze-request/"):
        assert path in schema


@pytest.mark.parametrize("params", [{"acknowledged": "null"}, {"acknowledged": "maybe"}, {"rule": "no_such_rule"},
                                    {"rule": "\x00"}])
def test_the_flag_list_refuses_unknown_filter_values_400_naming_them(world, params):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(world.user("regulator"))
    response = client.get("/api/v1/oversight/flags/", params)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == next(iter(params))
