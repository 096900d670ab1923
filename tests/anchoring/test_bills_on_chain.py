"""Bills anchored end to end: bill services → outbox → a real Celery worker → Anvil → verifier and reconcile.

Everything real: PostgreSQL, Redis, a worker process, the session's Anvil and the deployed BillAnchor. The
history mixes bills written in canonical format 1 (as before bundle version 2) and format 2.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from bills import services
from bills.disclosure import disclosure_for
from bills.events import canonical_of_event, event_format, event_hash, writing_format
from bills.models import Bill, BillEvent
from bills.verification import bill_bundle, bill_events_for_bundle, full_disclosure, reconcile
from bills.verify_tokens import verification_token_create
from chain_adapter.client import ChainClient
from chain_adapter.models import AnchorRecord, AnchorStatus
from chain_adapter.verify import verify_bundle
from tests.bills import factories as f
from tests.chain_adapter.helpers import wait_for
from tests.conftest import ROOT

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):  # type: ignore[no-untyped-def]
    settings.VERIFY_RATE_LIMIT = 0  # the public pages' limit is tested in tests/bills/test_verify_pages.py


def wait_all_anchored(timeout: float = 90.0) -> None:
    if wait_for(lambda: not AnchorRecord.objects.exclude(status=AnchorStatus.CONFIRMED).exists(), timeout=timeout,
                interval=0.2):
        return
    left = list(AnchorRecord.objects.exclude(status=AnchorStatus.CONFIRMED).values("id", "status", "last_error")[:5])
    raise AssertionError(f"not everything was anchored in {timeout} s: {left}")


def run_reconcile(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("reconcile", *args, stdout=out, stderr=out)
    except SystemExit as stop:
        return int(stop.code or 0), out.getvalue()
    return 0, out.getvalue()


def full_bundle(bill: Bill) -> dict:
    events = bill_events_for_bundle(bill)
    return bill_bundle(bill=bill, disclosure=full_disclosure(bill, events), events=events)


def build_history(world: f.World) -> list[Bill]:
    """A dozen bills through most of the state machine: ~50 transitions, splits and transfers included. The
    first three and the last financed one are written in format 1; a format-1 bill that moves on gets
    format-2 events."""
    with writing_format(1):
        old = [f.draft(world), f.submitted(world), f.accepted(world)]
        old_financed = f.listed(world, face="12000.00")
    services.bill_buy(bill_id=old_financed.pk, actor=world.user("financier"))  # format 2 on a format-1 chain
    bills = [*old, f.listed(world), f.financed(world),
             f.pending(world), f.financed(world, buyer="financier2", face="25000.00"), old_financed]
    received = f.pending(world, face="8000.00")
    services.bill_receive(bill_id=received.pk, actor=world.user("supplier2"))
    parent = f.accepted(world, face="9000.00")
    services.bill_split(bill_id=parent.pk, actor=world.user("supplier"),
                        parts=[{"face": "4000.00"}, {"face": "5000.00", "transfer_to": world.org("supplier2").credit_code}])
    settled = f.accepted(world, face="3000.00", days=30)
    with f.past(30):  # a bill is settled at maturity, not before
        services.bill_settle(bill_id=settled.pk, actor=world.user("buyer"))
    return [*bills, received, parent, settled, *Bill.objects.filter(parent=parent)]


@pytest.fixture
def anchored_world(anchor_contract, celery_worker_process):  # type: ignore[no-untyped-def]
    world = f.build_world()
    bills = build_history(world)
    wait_all_anchored()
    return world, bills


def test_every_transition_is_anchored_and_every_bundle_verifies(anchored_world, anchor_contract, anvil):
    world, bills = anchored_world
    events = BillEvent.objects.count()
    assert events >= 40
    client = ChainClient.from_settings()
    heads = client.heads(anchor_contract.address, [b.bill_key for b in Bill.objects.all()])
    for bill in Bill.objects.all():
        last = bill.events.order_by("-seq").first()
        assert heads[bill.bill_key] == last.hash, f"{bill.number}: head is not the last event's hash"
        report = verify_bundle(full_bundle(bill), anvil.url, from_block=anchor_contract.block_number)
        assert report.ok, report.text()
    # Exactly one Anchored log per event: no event anchored twice.
    logs = client.anchored_logs(anchor_contract.address, from_block=anchor_contract.block_number)
    assert len(logs) == events
    assert len({log.event_hash for log in logs}) == events
    formats = {event_format(e) for e in BillEvent.objects.all()}
    assert formats == {1, 2}
    code, output = run_reconcile()
    assert code == 0, output
    assert "database and chain agree" in output and "in format 1" in output and "in format 2" in output


def test_reconcile_reads_each_chunk_of_bills_in_a_constant_number_of_queries(anchored_world,
                                                                            django_assert_max_num_queries):
    bills = Bill.objects.count()
    assert bills >= 10
    with django_assert_max_num_queries(6):  # deployment, ids, bills with parties, events with actor and anchor
        result = reconcile()
    assert result.ok and result.checked == bills


def test_the_standalone_verifier_checks_a_downloaded_bundle(anchored_world, anvil, tmp_path):
    world, bills = anchored_world
    bill = bills[4]  # financed: create, submit, accept, list, buy
    client = Client()
    client.force_login(world.user("financier"))
    response = client.get(f"/verify/{bill.pk}/bundle.json")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    bundle = json.loads(response.content)
    assert bundle["version"] == 2 and bundle["bill_id"] == str(bill.pk) and bundle["chain_id"] == 31337
    assert bundle["profile"] == "participant"
    assert [e["seq"] for e in bundle["events"]] == [1, 2, 3, 4, 5]
    assert all(e["tx_hash"] and e["block"] for e in bundle["events"])
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    # The verifier needs no Django: run it in a bare interpreter with no settings module.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    ok = subprocess.run([sys.executable, "-m", "chain_adapter.verify", str(path), "--rpc", anvil.url],
                        capture_output=True, text=True, env=env, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert bundle["events"][2]["disclosed"]["type"]["value"] == "accept"
    bundle["events"][2]["disclosed"]["type"]["value"] = "reject"
    path.write_text(json.dumps(bundle))
    bad = subprocess.run([sys.executable, "-m", "chain_adapter.verify", str(path), "--rpc", anvil.url],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 1
    assert "event 3: MISMATCH" in bad.stdout and "field type: the disclosed value and salt do not open" in \
        bad.stdout, bad.stdout
    assert "event 2: OK" in bad.stdout and "event 4: OK" in bad.stdout


def test_the_public_page_shows_every_transition_and_the_verdict(anchored_world):
    world, bills = anchored_world
    for bill in (bills[4], bills[7]):  # format 2; format 1 then 2
        token = verification_token_create(bill_id=bill.pk, actor=world.user("financier"))  # the holder of both
        response = Client().get(f"/verify/t/{token.token}/")  # no login
        assert response.status_code == 200
        html = response.content.decode()
        assert 'data-verdict="verified"' in html, bill.number
        for seq in range(1, 6):
            assert f'data-seq="{seq}"' in html
        assert str(bill.pk) not in html and bill.number not in html
        first = bill.events.get(seq=1).anchor
        assert f"block {first.block_number}" in html and f"/verify/tx/{first.tx_hash}/" in html
        assert "<svg" in html  # the QR code of the page's own URL
        tx_page = Client().get(f"/verify/tx/{first.tx_hash}/").content.decode()
        assert bill.bill_key in tx_page and bill.number not in tx_page and str(bill.pk) not in tx_page
    member = Client()
    member.force_login(world.user("supplier"))
    assert bills[4].number in member.get(f"/verify/tx/{bills[4].events.get(seq=1).anchor.tx_hash}/").content.decode()


def test_an_sql_edit_is_named_by_reconcile_and_shown_on_the_public_page(anchored_world, anchor_contract):
    _world, bills = anchored_world
    edited_bill, edited_event_bill, rewritten = bills[4], bills[3], bills[2]
    with connection.cursor() as cursor:
        # A privileged operator bypasses the application (and the append-only trigger).
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE bills_bill SET face = face + 1 WHERE id = %s", [edited_bill.pk])
        cursor.execute("UPDATE bills_billevent SET occurred_at = occurred_at - interval '1 day' "
                       "WHERE bill_id = %s AND seq = 2", [edited_event_bill.pk])
        cursor.execute("SET session_replication_role = DEFAULT")
    # A careful forger also rewrites the canonical text and hash of the last event, so the database chain is
    # self-consistent: only the chain can tell.
    last = rewritten.events.select_related("actor").order_by("-seq").first()
    last.actor = rewritten.creditor
    text = canonical_of_event(last)
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE bills_billevent SET canonical = %s, hash = %s, actor_id = %s WHERE id = %s",
                       [text, event_hash(text), rewritten.creditor_id, last.pk])
        cursor.execute("UPDATE chain_adapter_anchorrecord SET event_hash = %s WHERE id = %s",
                       [event_hash(text), last.anchor_id])
        cursor.execute("SET session_replication_role = DEFAULT")

    code, output = run_reconcile()
    assert code == 1, output
    named = {line.split("(")[1].rstrip(")") for line in output.splitlines() if line.startswith("MISMATCH")}
    assert named == {str(edited_bill.pk), str(edited_event_bill.pk), str(rewritten.pk)}, output
    assert "history was changed after it was anchored" in output
    result = reconcile(bill_ids=[rewritten.pk])
    assert [d.bill_id for d in result.discrepancies] == [str(rewritten.pk)]

    regulator = Client()
    regulator.force_login(_world.user("regulator"))
    for bill in (edited_bill, edited_event_bill, rewritten):
        html = regulator.get(f"/verify/{bill.pk}/").content.decode()
        assert 'data-verdict="mismatch"' in html, bill.number
    untouched = bills[0]
    assert 'data-verdict="verified"' in regulator.get(f"/verify/{untouched.pk}/").content.decode()


def test_the_bundle_api_follows_visibility(anchored_world):
    from rest_framework.test import APIClient

    world, bills = anchored_world
    bill = bills[0]  # supplier's draft
    api = APIClient()
    api.force_authenticate(world.user("supplier"))
    response = api.get(f"/api/v1/bills/{bill.pk}/bundle/")
    events = bill_events_for_bundle(bill)
    mine = disclosure_for(user=world.user("supplier"), bill=bill, events=events)
    assert response.status_code == 200 and response.json() == bill_bundle(bill=bill, disclosure=mine, events=events)
    api.force_authenticate(world.user("supplier2"))
    assert api.get(f"/api/v1/bills/{bill.pk}/bundle/").status_code == 404
    listed = bills[3]
    api.force_authenticate(world.user("financier2"))
    assert api.get(f"/api/v1/bills/{listed.pk}/bundle/").status_code == 200
    assert api.get(f"/api/v1/bills/{bill.pk}/bundle/").status_code == 404


def test_the_bill_id_alone_opens_nothing_publicly(anchored_world):
    world, bills = anchored_world
    anonymous = Client()
    for path in (f"/verify/{bills[4].pk}/", f"/verify/{bills[4].pk}/bundle.json", "/verify/not-a-uuid/"):
        response = anonymous.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), path


def test_unknown_tokens_ids_and_hashes_give_the_same_404(anchored_world):
    world, bills = anchored_world
    stranger = Client()
    stranger.force_login(world.user("supplier2"))
    foreign = bills[4]  # supplier's bill, never near supplier2
    tx = foreign.events.get(seq=1).anchor.tx_hash
    for client, paths in (
        (stranger, [f"/verify/{foreign.pk}/", f"/verify/{foreign.pk}/bundle.json",
                    "/verify/00000000-0000-0000-0000-000000000000/", "/verify/not-a-uuid/",
                    "/verify/t/" + "A" * 32 + "/", "/verify/tx/0x" + "ab" * 32 + "/"]),
        (Client(), ["/verify/t/" + "A" * 32 + "/", "/verify/t/" + "A" * 32 + "/bundle.json", "/verify/t/short/",
                    "/verify/tx/0x" + "ab" * 32 + "/", "/verify/tx/0x1234/", f"/verify/tx/{tx[:-2]}zz/"]),
    ):
        answers = [client.get(path) for path in paths]
        assert [r.status_code for r in answers] == [404] * len(paths)
        # The CSRF token (masked anew in every answer: the forms' field and htmx's header) is not part of it.
        bodies = {re.sub(rb'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+"', b"", r.content)
                  for r in answers}
        assert len(bodies) == 1, paths
