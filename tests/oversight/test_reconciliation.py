"""Reconciliation runs stored and scheduled: on beat, after each anchoring batch (the bills it touched, through
``ANCHOR_CONFIRMED_HOOKS``), by hand; a mismatch raises ``chain_mismatch``; the page and the API show the runs."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from chain_adapter import tasks as anchoring
from chain_adapter.devnet import free_port
from finance_portal.oversight import tasks
from finance_portal.oversight.models import OversightFlag, ReconciliationRun, Rule
from finance_portal.oversight.services import reconciliation_run
from tests.bills.factories import accepted, draft
from tests.conftest import login
from tests.oversight.conftest import sql

pytestmark = pytest.mark.django_db

RECONCILIATION = "/api/v1/oversight/reconciliation/"


def test_the_reconciliation_is_on_beat_and_the_hooks_are_named_by_setting(settings):
    assert settings.CELERY_BEAT_SCHEDULE["oversight-reconcile"] == {
        "task": tasks.reconcile.name, "schedule": float(settings.OVERSIGHT_RECONCILE_SECONDS)}
    assert settings.OVERSIGHT_RECONCILE_SECONDS == 3600 and tasks.reconcile.name == "oversight.reconcile"
    assert settings.ANCHOR_CONFIRMED_HOOKS == ["finance_portal.oversight.hooks.anchors_confirmed"]


@pytest.mark.chain
def test_a_clean_run_is_stored_with_its_counts(world, anchor_contract):
    a, b = accepted(world), accepted(world)
    run = reconciliation_run(trigger="manual")
    assert (run.trigger, run.bills_checked, run.mismatches, run.details, run.error) == ("manual", 2, 0, [], "")
    assert run.events_checked == 6 and run.finished_at is not None and run.finished_at >= run.started_at
    assert not OversightFlag.objects.exists() and {a.pk, b.pk}


@pytest.mark.chain
def test_a_mismatch_is_stored_with_what_differs_and_raises_the_flag(world, anchor_contract):
    bill, sound = accepted(world), accepted(world)
    sql("UPDATE bills_bill SET face = 1.00 WHERE id = %s", [bill.pk])
    out = io.StringIO()
    with pytest.raises(SystemExit) as stop:
        call_command("oversight_reconcile", stdout=out)
    assert stop.value.code == 1 and f"MISMATCH {bill.number}" in out.getvalue()
    run = ReconciliationRun.objects.get()
    assert run.trigger == "manual" and run.bills_checked == 2 and run.mismatches == 1
    [detail] = run.details
    assert detail["bill"] == str(bill.pk) and detail["number"] == bill.number and detail["problems"]
    [flag] = OversightFlag.objects.all()
    assert flag.rule == Rule.CHAIN_MISMATCH and flag.bill_id == bill.pk
    assert flag.evidence["reconciliation_run"] == run.pk and flag.evidence["problems"] == detail["problems"]
    assert not OversightFlag.objects.filter(bill=sound).exists()


@pytest.mark.chain
def test_an_unreadable_node_ends_the_run_with_its_error(world, anchor_contract, settings):
    accepted(world)
    settings.ETH_RPC_URL = f"http://127.0.0.1:{free_port()}"
    run = reconciliation_run(trigger="schedule")
    assert run.error.startswith("The chain could not be read") and run.finished_at is not None
    assert run.bills_checked == 0 and run.mismatches == 0


@pytest.fixture
def reconcile_now(monkeypatch):  # type: ignore[no-untyped-def]
    """``oversight.reconcile.delay`` runs the task here and now, recording its keyword arguments."""
    calls: list[dict[str, object]] = []

    def delay(**kwargs: object) -> None:
        calls.append(kwargs)
        tasks.reconcile.apply(kwargs=kwargs).get()

    monkeypatch.setattr(tasks.reconcile, "delay", delay)
    return calls


@pytest.mark.chain
def test_each_anchoring_batch_reconciles_the_bills_it_touched(world, anchor_contract, settings, reconcile_now,
                                                              django_capture_on_commit_callbacks):
    settings.ANCHOR_MAX_WAIT_SECONDS = 0
    first = [accepted(world), accepted(world)]
    with django_capture_on_commit_callbacks(execute=True):
        anchoring.anchor_pending.apply().get()
    later = draft(world)
    with django_capture_on_commit_callbacks(execute=True):
        anchoring.anchor_pending.apply().get()
    runs = list(ReconciliationRun.objects.order_by("started_at", "id"))
    assert [r.trigger for r in runs] == ["anchoring_batch", "anchoring_batch"]
    assert [r.bills_checked for r in runs] == [len(first), 1] and [r.mismatches for r in runs] == [0, 0]
    assert runs[1].events_checked == 1 and later.pk
    assert all(c["trigger"] == "anchoring_batch" and c["keys"] for c in reconcile_now)


def test_keys_of_no_bill_make_no_run(world):
    assert tasks.reconcile.apply(kwargs={"trigger": "anchoring_batch", "keys": ["0x" + "ab" * 32]}).get() == {
        "run": None, "bills": 0}
    assert not ReconciliationRun.objects.exists()


def stored_run(bill) -> ReconciliationRun:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    now = timezone.now()
    return ReconciliationRun.objects.create(
        started_at=now, finished_at=now, trigger="anchoring_batch", bills_checked=3, events_checked=9, mismatches=1,
        details=[{"bill": str(bill.pk), "number": bill.number, "problems": ["the chain's head differs"]}])


def test_the_api_gives_the_last_run_and_keeps_the_rows(world, client):
    bill = accepted(world)
    older = stored_run(bill)
    ReconciliationRun.objects.filter(pk=older.pk).update(trigger="schedule", started_at=older.started_at.replace(
        year=older.started_at.year - 1))
    run = stored_run(bill)
    login(client, "regulator")
    data = client.get(RECONCILIATION).json()
    assert data["count"] == 1 and data["results"][0]["status"] == "ok"
    last = data["last_run"]
    assert last["id"] == run.pk and last["trigger"] == "anchoring_batch" and last["bills_checked"] == 3
    assert last["mismatches"] == 1 and last["details"][0]["problems"] == ["the chain's head differs"]
    assert [r["id"] for r in data["runs"]] == [run.pk, older.pk]


def test_the_api_without_runs_says_so(world, client):
    login(client, "admin")
    data = client.get(RECONCILIATION).json()
    assert data["last_run"] is None and data["runs"] == []


def test_the_page_shows_the_last_runs_and_what_differs(world, client):
    bill = accepted(world)
    stored_run(bill)
    login(client, "regulator")
    page = client.get("/oversight/reconciliation/").content.decode()
    assert "Last run" in page and "Anchoring batch" in page and "the chain&#x27;s head differs" in page
    assert bill.number in page and "1 mismatch(es)" in page


def test_the_schema_describes_the_last_run(client, world):
    login(client, "admin")
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "ReconciliationPage" in text and "last_run" in text and "bills_checked" in text


ANNOUNCED: list[list[str]] = []


def record_hook(*, keys: list[str]) -> None:
    ANNOUNCED.append(keys)


def test_chain_adapter_announces_confirmed_keys_once_each_to_the_named_hooks(settings):
    from chain_adapter.txtracker import announce_confirmed

    settings.ANCHOR_CONFIRMED_HOOKS = ["tests.oversight.test_reconciliation.record_hook"]
    ANNOUNCED.clear()
    announce_confirmed(["0xbb", "0xaa", "0xbb"])
    announce_confirmed([])
    assert ANNOUNCED == [["0xaa", "0xbb"]]
